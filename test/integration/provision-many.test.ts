// plan/provision on a shared server with more service databases than the per-database lookups cover
// (converge.ts looks tables and columns up database by database up to 64 databases, in one scan
// beyond), every service with an outbox and some with a retention event; the password check settles
// an account whose hash is the desired one without asking the server about it (a salted digest of the
// hash in the catalog), and asks the server about every other one. Each drift is found on its own:
// a password changed by hand, a password moved to another plugin, a dropped outbox table, a renamed
// outbox column, a changed purge event; and a second plan after provision is in sync.
import mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSecrets, secretKey } from '../../src/runtime/secrets.js';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

const SERVICES = 80;
const svc = (i: number) => `s${String(i).padStart(3, '0')}`;
let fleet: LocalFleet;
let port: number;

async function admin() {
  const socket = fleet.state().servers.shared!.socket;
  return mariadb.createConnection({ socketPath: socket, user: 'root', connectTimeout: 3000 });
}

async function storedPassword(service: string, user: string): Promise<string> {
  const pw = (await readSecrets(fleet.stateDir)).get(secretKey('shared', user));
  if (!pw) throw new Error(`no stored password for ${service}/${user}`);
  return pw;
}

/** Whether `user` logs in over TCP with `password` (the server decides). */
async function logsIn(user: string, password: string): Promise<boolean> {
  try {
    const c = await mariadb.createConnection({ host: '127.0.0.1', port, user, password, connectTimeout: 3000 });
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** `plan --json`'s changes and deferred items, as "kind object" strings. */
async function planned(): Promise<{ code: number; changes: string[]; deferred: string[] }> {
  const r = await fleet.run(['plan', '--json']);
  const doc = JSON.parse(r.stdout) as { changes: { kind: string; object: string }[]; deferred: { object: string }[] };
  return {
    code: r.code,
    changes: doc.changes.map((c) => `${c.kind} ${c.object}`),
    deferred: doc.deferred.map((d) => d.object),
  };
}

beforeAll(async () => {
  port = await freePort();
  const lines = [
    'version: 1',
    'fleet: many',
    'servers:',
    `  shared: { driver: local, memory: 256M, port: ${port} }`,
    'services:',
  ];
  for (let i = 0; i < SERVICES; i++)
    lines.push(`  ${svc(i)}: { server: shared, outbox: ${i % 10 === 0 ? '{ retention: 1h }' : 'true'} }`);
  fleet = await createFleet(`${lines.join('\n')}\n`);
  const up = await fleet.run(['up']);
  if (up.code !== 0) throw new Error(`dbps up failed: ${up.stderr}`);
  const prov = await fleet.run(['provision']);
  if (prov.code !== 0) throw new Error(`dbps provision failed: ${prov.stdout}\n${prov.stderr}`);
}, 180_000);

afterAll(async () => {
  await destroyAllFleets();
});

describe(`plan on one server with ${SERVICES} service databases, each with an outbox`, () => {
  it('is in sync after provision, with a fixed number of statements and no account list sent', async () => {
    const c = await admin();
    try {
      await c.query('TRUNCATE mysql.general_log');
      await c.query("SET GLOBAL log_output = 'TABLE', general_log = ON");
      const p = await planned();
      await c.query('SET GLOBAL general_log = OFF');
      expect(p).toStrictEqual({ code: 0, changes: [], deferred: [] });
      const rows = (await c.query(
        "SELECT argument FROM mysql.general_log WHERE command_type IN ('Query', 'Execute')",
      )) as { argument: Buffer | string }[];
      const statements = rows.map((r) => String(r.argument));
      expect(statements.length).toBeGreaterThan(5);
      // Every password is in sync: the server's join of desired hashes (PASSWORD_MISMATCH_SQL) is not needed.
      expect(statements.filter((q) => q.includes('JSON_TABLE'))).toStrictEqual([]);
      // Tables, columns and events are looked up by IN lists, not by one OR term per service.
      expect(statements.filter((q) => (q.match(/ OR /g) ?? []).length > 10)).toStrictEqual([]);
      expect(statements.length).toBeLessThan(40);
    } finally {
      await c.query('SET GLOBAL general_log = OFF').catch(() => undefined);
      await c.end();
    }
  });

  it('finds the one password changed by hand, and provision puts the stored one back', async () => {
    const user = `${svc(71)}_app`;
    const stored = await storedPassword(svc(71), user);
    const c = await admin();
    try {
      await c.query(`ALTER USER '${user}'@'%' IDENTIFIED BY 'Changed-by-hand-1'`);
    } finally {
      await c.end();
    }
    expect(await logsIn(user, stored)).toBe(false);
    const p = await planned();
    expect(p.code).toBe(1);
    expect(p.changes).toStrictEqual([`alter-user '${user}'@'%'`]);
    const prov = await fleet.run(['provision']);
    expect(prov.code, prov.stdout + prov.stderr).toBe(0);
    expect(await logsIn(user, stored)).toBe(true);
    expect(await logsIn(user, 'Changed-by-hand-1')).toBe(false);
    expect((await planned()).changes).toStrictEqual([]);
  });

  it('finds a password moved to another plugin, even when a native alternative of it still has the hash', async () => {
    const user = `${svc(3)}_migrator`;
    const stored = await storedPassword(svc(3), user);
    const c = await admin();
    try {
      // The desired hash is one alternative of two: not drift (a rotation looks like this).
      await c.query(
        `ALTER USER '${user}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('Other-pass-1') OR mysql_native_password USING PASSWORD(?)`,
        [stored],
      );
      expect((await planned()).changes).toStrictEqual([]);
      // Only another plugin holds it now: drift.
      await c.query(`ALTER USER '${user}'@'%' IDENTIFIED VIA unix_socket`);
      const p = await planned();
      expect(p.code).toBe(1);
      expect(p.changes).toStrictEqual([`alter-user '${user}'@'%'`]);
    } finally {
      await c.end();
    }
    const prov = await fleet.run(['provision']);
    expect(prov.code, prov.stdout + prov.stderr).toBe(0);
    expect(await logsIn(user, stored)).toBe(true);
  });

  it('finds a dropped outbox table, a renamed outbox column and a changed purge event, each in its own database', async () => {
    const c = await admin();
    try {
      await c.query(`DROP TABLE ${svc(75)}.${svc(75)}_events_outbox`);
      await c.query(`ALTER TABLE ${svc(66)}.${svc(66)}_events_outbox RENAME COLUMN published_at TO sent_at`);
      await c.query(`ALTER EVENT ${svc(70)}.${svc(70)}_outbox_purge DISABLE`);
      const p = await planned();
      expect(p.code).toBe(1);
      expect(p.deferred).toStrictEqual([`table ${svc(66)}.${svc(66)}_events_outbox`]);
      expect(p.changes).toContain(`create-outbox-table table ${svc(75)}.${svc(75)}_events_outbox`);
      expect(p.changes.filter((x) => x.includes(svc(70)))).toHaveLength(1);
      expect(p.changes.every((x) => x.includes(svc(75)) || x.includes(svc(70)))).toBe(true);
      await c.query(`ALTER TABLE ${svc(66)}.${svc(66)}_events_outbox RENAME COLUMN sent_at TO published_at`);
    } finally {
      await c.end();
    }
    const prov = await fleet.run(['provision']);
    expect(prov.code, prov.stdout + prov.stderr).toBe(0);
    expect(await planned()).toStrictEqual({ code: 0, changes: [], deferred: [] });
  });
});
