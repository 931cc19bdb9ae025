// Logical backups of external servers on simulated hosts, in one fleet with a local server: one set
// taken while writes go on, restored in place and into a fresh server, the backup account held to
// exactly the dump, and restores that fail half way leaving every server's previous data readable.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerBackup } from '../../src/backup/manifest.js';
import { parseSecrets, secretKey } from '../../src/runtime/secrets.js';
import { createHosts, type HostNetwork, type TestHost } from '../helpers/hosts.js';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort } from '../helpers/local-fleet.js';

const VERSION = process.env.DBPS_MARIADB_BINDIR ? '11.8' : '10.11';
let net: HostNetwork;
let fleet: LocalFleet;
let env: NodeJS.ProcessEnv;
let setId = '';
let ext0: TestHost;
let ext1: TestHost;
let fresh: TestHost;

async function q<T = Record<string, unknown>>(h: TestHost, sql: string, params?: unknown[]): Promise<T[]> {
  return h.query<T>(sql, params);
}

function secret(user: string, server: string): string {
  return parseSecrets(readFileSync(path.join(fleet.stateDir, 'secrets.env'), 'utf8')).get(secretKey(server, user))!;
}

beforeAll(async () => {
  net = await createHosts(3, { args: (i) => ['--log-bin=binlog', `--server-id=${101 + i}`, '--binlog-format=ROW'] });
  [ext0, ext1, fresh] = net.hosts as [TestHost, TestHost, TestHost];
  const ext = (h: TestHost, n: number) =>
    `{ driver: external, host: ${h.address}, port: ${h.port}, admin: { user: ${h.admin.user}, passwordEnv: EXT${n}_PWD }, backupHost: "${net.gateway}" }`;
  fleet = await createFleet(`version: 1
fleet: lt
defaults: { mariadb: "${VERSION}", basePort: ${randomBasePort()} }
servers:
  ext0: ${ext(ext0, 0)}
  ext1: ${ext(ext1, 1)}
  fresh: ${ext(fresh, 2)}
services:
  orders: { server: ext0 }
  billing: { server: ext0 }
  users: { server: ext1 }
  notes: {}
`);
  env = { EXT0_PWD: ext0.admin.password, EXT1_PWD: ext1.admin.password, EXT2_PWD: fresh.admin.password };
  for (const args of [['up'], ['provision']]) {
    const r = await fleet.run(args, env);
    expect(r.code, r.stderr).toBe(0);
  }
  // Data, and every kind of object a dump carries, defined by the service's migrator.
  for (const sql of [
    'CREATE TABLE orders.t (id INT PRIMARY KEY, v VARCHAR(40))',
    "INSERT INTO orders.t VALUES (1,'one'),(2,'two')",
    'CREATE TABLE orders.w (id INT AUTO_INCREMENT PRIMARY KEY, at VARCHAR(20))',
    'CREATE TABLE billing.b (id INT PRIMARY KEY)',
    'INSERT INTO billing.b VALUES (7)',
    "CREATE DEFINER=orders_migrator@'%' TRIGGER orders.up BEFORE INSERT ON orders.t FOR EACH ROW SET NEW.v = UPPER(NEW.v)",
    "CREATE DEFINER=orders_migrator@'%' SQL SECURITY DEFINER VIEW orders.v AS SELECT id, v FROM orders.t",
    "CREATE DEFINER=orders_migrator@'%' SQL SECURITY INVOKER VIEW orders.vb AS SELECT id FROM billing.b",
    "CREATE DEFINER=orders_migrator@'%' PROCEDURE orders.n() SELECT COUNT(*) AS n FROM orders.t",
    "CREATE DEFINER=orders_migrator@'%' EVENT orders.e ON SCHEDULE EVERY 1 DAY DO DELETE FROM orders.t WHERE id < 0",
    'CREATE TABLE users.u (id INT PRIMARY KEY, name TEXT)',
    "INSERT INTO users.u VALUES (1,'ann'),(2,'bob')",
    'CREATE DATABASE other',
    'CREATE TABLE other.secret (x INT)',
  ]) {
    await q(sql.includes('users.') ? ext1 : ext0, sql);
  }
  const r = await fleet.run(
    [
      'connect',
      'notes',
      '--user',
      'notes_migrator',
      '-e',
      'CREATE TABLE n (id INT PRIMARY KEY); INSERT INTO n VALUES (1),(2),(3)',
    ],
    env,
  );
  expect(r.code, r.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  await destroyAllFleets();
  await net?.destroy();
}, 120_000);

describe('logical backups of external servers, with a local server in the same set', () => {
  it('backs up every server at once while writes go on, each with the position its dump recorded', async () => {
    const writer = await ext0.connectSocket();
    let stop = false;
    let written = 0;
    const writing = (async () => {
      while (!stop && written < 20_000) {
        await writer.query("INSERT INTO orders.w (at) VALUES ('during')");
        written++;
      }
    })();
    const r = await fleet.run(['--json', 'backup'], env);
    stop = true;
    await writing;
    await writer.end();
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    setId = out.id;
    const byServer = new Map<string, ServerBackup>(out.manifest.servers.map((e: ServerBackup) => [e.server, e]));
    const e0 = byServer.get('ext0')!;
    expect(e0).toMatchObject({ status: 'ok', method: 'logical', databases: ['orders', 'billing'] });
    expect(e0.path).toBe('servers/ext0.sql.zst');
    expect(e0.position?.file).toMatch(/^binlog\.\d+$/);
    // The GTID the dump wrote is the one of its binlog position: one snapshot, not read afterwards.
    const [g] = await q<{ g: string }>(ext0, 'SELECT BINLOG_GTID_POS(?, ?) AS g', [
      e0.position?.file,
      e0.position?.pos,
    ]);
    expect(e0.position?.gtid).toBe(g!.g);
    expect(byServer.get('ext1')?.method).toBe('logical');
    expect(byServer.get('notes')?.method ?? 'physical').toBe('physical');
    // The fresh server has no service: nothing to dump there.
    expect(byServer.has('fresh')).toBe(false);
    expect(written).toBeGreaterThan(0);
  }, 180_000);

  it("restores the set in place: rows, triggers, views, routines, events and the services' grants all work", async () => {
    const before = (await q<{ n: number }>(ext0, 'SELECT COUNT(*) AS n FROM orders.w'))[0]!.n;
    await q(ext0, "INSERT INTO orders.t VALUES (3,'after')");
    await q(ext0, 'DROP TABLE orders.w');
    await q(ext1, 'DELETE FROM users.u');
    const r = await fleet.run(['restore', setId, '--yes'], env);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect((await q(ext0, 'SELECT id FROM orders.t ORDER BY id')).map((x) => x.id)).toEqual([1, 2]);
    // The dump is one snapshot: the concurrent writes restore as a gapless prefix.
    const w = await q<{ n: number; m: number }>(ext0, 'SELECT COUNT(*) AS n, MAX(id) AS m FROM orders.w');
    expect(Number(w[0]!.n)).toBe(Number(w[0]!.m));
    expect(Number(w[0]!.n)).toBeLessThanOrEqual(Number(before));
    expect((await q(ext1, 'SELECT name FROM users.u ORDER BY id')).map((x) => x.name)).toEqual(['ann', 'bob']);
    // Objects are back under the real database, with their definers.
    const objs = await q<{ d: string }>(
      ext0,
      "SELECT DEFINER AS d FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='orders' UNION ALL SELECT DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA='orders' UNION ALL SELECT DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='orders' UNION ALL SELECT DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA='orders'",
    );
    expect(objs.map((o) => o.d)).toEqual(Array(5).fill('orders_migrator@%'));
    // The app account still reads, writes through the trigger and calls the routine.
    const app = await fleet.run(
      ['connect', 'orders', '-e', "INSERT INTO t VALUES (9,'nine'); SELECT v FROM v WHERE id=9; CALL n()"],
      env,
    );
    expect(app.code, app.stderr).toBe(0);
    expect(app.stdout).toContain('NINE');
    expect(app.stdout).toMatch(/\b3\b/);
    // No scratch or old database is left.
    const left = await q(ext0, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%\\_\\_%'");
    expect(left).toEqual([]);
    await q(ext0, 'DELETE FROM orders.t WHERE id = 9');
  }, 180_000);

  it('restores into another declared server (--target-server), a fresh one', async () => {
    const r = await fleet.run(['restore', setId, 'orders', 'billing', '--target-server', 'fresh', '--yes'], env);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect((await q(fresh, 'SELECT id FROM orders.t ORDER BY id')).map((x) => x.id)).toEqual([1, 2]);
    expect((await q(fresh, 'SELECT id FROM orders.vb')).map((x) => x.id)).toEqual([7]);
  }, 120_000);

  it('an external-only fleet backs up (no "no local server" refusal)', async () => {
    const only = path.join(fleet.dir, 'external-only.yaml');
    writeFileSync(
      only,
      `version: 1\nfleet: lt\ndefaults: { mariadb: "${VERSION}" }\nservers:\n  ext1: { driver: external, host: ${ext1.address}, port: ${ext1.port}, admin: { user: ${ext1.admin.user}, passwordEnv: EXT1_PWD }, backupHost: "${net.gateway}" }\nservices:\n  users: { server: ext1 }\n`,
    );
    const dest = path.join(fleet.dir, 'external-only-sets');
    const r = await fleet.run(['-f', only, '--state-dir', fleet.stateDir, '--json', 'backup', '--dest', dest], env);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout).manifest;
    expect(m.status).toBe('complete');
    expect(m.servers.map((e: ServerBackup) => [e.server, e.method])).toEqual([['ext1', 'logical']]);
    // verify checks the dump's sha256 and the whole zstd stream.
    const v = await fleet.run(['--state-dir', fleet.stateDir, 'backups', 'verify', 'latest', '--dest', dest], env);
    expect(v.code, v.stderr + v.stdout).toBe(0);
    // --method physical cannot copy an external server's files: a clear usage error.
    const phys = await fleet.run(['-f', only, '--state-dir', fleet.stateDir, 'backup', '--method', 'physical'], env);
    expect(phys.code).toBe(2);
    expect(phys.stderr).toContain('external server');
  }, 120_000);

  it('the backup account can do exactly the dump: it reads the service databases and nothing else', async () => {
    const password = secret('dbps_backup', 'ext0');
    const c = await mariadb.createConnection({ host: ext0.address, port: ext0.port, user: 'dbps_backup', password });
    try {
      expect((await c.query('SELECT COUNT(*) AS n FROM orders.t'))[0].n).toBeGreaterThan(0n - 1n);
      await expect(c.query('SELECT * FROM other.secret')).rejects.toThrow(/denied/);
      await expect(c.query('SELECT * FROM mysql.user')).rejects.toThrow(/denied/);
      await expect(c.query("INSERT INTO orders.t VALUES (50,'x')")).rejects.toThrow(/denied/);
      await expect(c.query('SHOW BINLOG EVENTS')).rejects.toThrow(/denied|privilege/i);
    } finally {
      await c.end();
    }
    // Audited like every managed account: clean as provisioned, flagged once it holds more.
    const clean = await fleet.run(['audit-grants', 'orders', 'billing', 'users', 'notes'], env);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    await q(ext0, `GRANT INSERT ON orders.* TO dbps_backup@'${net.gateway}'`);
    const flagged = await fleet.run(['audit-grants', 'orders', 'billing', 'users', 'notes'], env);
    expect(flagged.code).toBe(1);
    expect(flagged.stdout).toContain('server-account-privileges');
    await q(ext0, `REVOKE INSERT ON orders.* FROM dbps_backup@'${net.gateway}'`);
  }, 120_000);
});

describe('a restore that fails half way leaves every server with its previous data, readable', () => {
  const snapshot = async () => ({
    orders: (await q(ext0, 'SELECT id, v FROM orders.t ORDER BY id')).map((x) => `${x.id}:${x.v}`),
    view: (await q(ext0, 'SELECT COUNT(*) AS n FROM orders.v'))[0]!.n,
    users: (await q(ext1, 'SELECT name FROM users.u ORDER BY id')).map((x) => x.name),
    scratch: await q(
      ext0,
      "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%\\_\\_restore\\_%' OR SCHEMA_NAME LIKE '%\\_\\_old\\_%'",
    ),
  });

  beforeAll(async () => {
    await q(ext0, "INSERT INTO orders.t VALUES (4,'current')");
    await q(ext1, "INSERT INTO users.u VALUES (3,'cid')");
  });

  it('a dump that no longer matches its sha256 is refused before anything changes', async () => {
    const before = await snapshot();
    const file = path.join(fleet.stateDir, 'backups', setId, 'servers', 'ext1.sql.zst');
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    bad[bad.length >> 1] = bad[bad.length >> 1]! ^ 0xff;
    writeFileSync(file, bad);
    try {
      const r = await fleet.run(['restore', setId, '--yes'], env);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('sha256');
    } finally {
      writeFileSync(file, good);
    }
    expect(await snapshot()).toEqual(before);
  }, 60_000);

  it('a statement failing mid-load on one server: no server is swapped, scratch copies are gone', async () => {
    const before = await snapshot();
    // ext1 now refuses the dump's multi-row INSERTs (bigger than its max_allowed_packet).
    await q(ext1, "INSERT INTO users.u SELECT seq + 10, REPEAT('x', 4000) FROM users.seq_1_to_50");
    const r0 = await fleet.run(['backup', 'users'], env);
    expect(r0.code, r0.stderr).toBe(0);
    const id = /backup set (\S+?):/.exec(r0.stdout)![1]!;
    await q(ext1, 'DELETE FROM users.u WHERE id > 3');
    await q(ext1, 'SET GLOBAL max_allowed_packet = 16384');
    try {
      const r = await fleet.run(['restore', id, '--yes'], env);
      expect(r.code, r.stdout).toBe(3);
      expect(r.stderr).toMatch(/ext1.*(packet|loading the dump failed)/i);
    } finally {
      await q(ext1, 'SET GLOBAL max_allowed_packet = 16777216');
    }
    expect(await snapshot()).toEqual(before);
    expect(
      await q(ext1, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'users\\_\\_%'"),
    ).toEqual([]);
  }, 120_000);

  it('dbps killed during the load: the real databases were never touched; the next restore cleans up and succeeds', async () => {
    const before = await snapshot();
    await q(ext0, "INSERT INTO orders.w (at) SELECT 'pad' FROM orders.seq_1_to_500");
    const r0 = await fleet.run(['backup', 'orders'], env);
    expect(r0.code, r0.stderr).toBe(0);
    const id = /backup set (\S+?):/.exec(r0.stdout)![1]!;
    const killed = await fleet.run(['restore', id, 'orders', '--yes'], {
      ...env,
      DBPS_TEST_KILL_AT: 'restore:logical-load',
    });
    expect(killed.code).not.toBe(0);
    const after = await snapshot();
    expect({ ...after, scratch: [] }).toEqual({ ...before, scratch: [] });
    const again = await fleet.run(['restore', id, 'orders', '--yes'], env);
    expect(again.code, again.stderr).toBe(0);
    expect((await snapshot()).scratch).toEqual([]);
  }, 120_000);

  it('a statement failing after the swap (a view on a database the target lacks) puts the previous tables back', async () => {
    // fresh has no orders_migrator (no service lives there): without its trigger the insert needs no definer.
    await q(fresh, 'DROP TRIGGER orders.up');
    await q(fresh, "INSERT INTO orders.t VALUES (5,'fresh-only')");
    await q(fresh, 'DROP DATABASE billing');
    const r = await fleet.run(['restore', setId, 'orders', '--target-server', 'fresh', '--yes'], env);
    expect(r.code, r.stdout).toBe(3);
    expect(r.stderr).toMatch(/billing/);
    expect((await q(fresh, 'SELECT id FROM orders.t ORDER BY id')).map((x) => x.id)).toEqual([1, 2, 5]);
    // Its objects are back too, and no scratch or old database is left.
    expect(
      (
        await q(fresh, "SELECT TABLE_NAME AS n FROM information_schema.VIEWS WHERE TABLE_SCHEMA='orders' ORDER BY 1")
      ).map((x) => x.n),
    ).toEqual(['v']);
    // vb read billing.b, gone from fresh before the restore began: it cannot come back, and the error says so.
    expect(r.stderr).toMatch(/vb.*could not be re-created/);
    expect(
      await q(fresh, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'orders\\_\\_%'"),
    ).toEqual([]);
  }, 120_000);
});
