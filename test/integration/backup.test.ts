// backup / backups / restore on a real local fleet of three servers (`dbps up` + `dbps provision`):
// consistent positions under concurrent writes, checksums after restore, point-in-time restore of
// the whole fleet to one moment, a server killed mid-backup, verify on good and corrupted sets.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mariadb, { type Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupManifest } from '../../src/backup/manifest.js';
import { readSecrets } from '../../src/runtime/secrets.js';
import { atLeast, seriesOf } from '../../src/util/version.js';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort } from '../helpers/local-fleet.js';
import { mariadbProgram, testedMariadbVersion } from '../helpers/mariadb-server.js';

const RECORD_ARGV = path.resolve(import.meta.dirname, '../helpers/record-argv.mjs');
const SERVICES = ['orders', 'customers', 'inventory'] as const;
const VERSION = testedMariadbVersion();
// mariadb-backup renamed its metadata files in 11.1 (xtrabackup_* before, mariadb_backup_* since).
const BINLOG_INFO = atLeast(VERSION, 11, 1) ? 'mariadb_backup_binlog_info' : 'xtrabackup_binlog_info';
const BACKUP_INFO = atLeast(VERSION, 11, 1) ? 'mariadb_backup_info' : 'xtrabackup_info';
type Service = (typeof SERVICES)[number];

let fleet: LocalFleet;
let argvLog: string;

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  // Backup and verify runs record every child's argv (to prove no password is on a command line);
  // the others run unhooked because the hook hides execFile's promisified form the driver uses.
  const hook =
    args[0] === 'backup' || args[0] === 'backups'
      ? { DBPS_ARGV_LOG: argvLog, NODE_OPTIONS: `--import=${RECORD_ARGV}` }
      : {};
  return fleet.run(['--json', ...args], { DBPS_MEMORY_SCALE: '0.25', ...hook, ...env });
}

async function connect(service: Service): Promise<Connection> {
  return mariadb.createConnection({
    socketPath: fleet.state().servers[service]!.socket,
    user: 'root',
    bigIntAsNumber: true,
    connectTimeout: 5000,
  });
}

async function sql<T = Record<string, unknown>>(service: Service, q: string, params?: unknown[]): Promise<T[]> {
  const c = await connect(service);
  try {
    return (await c.query(q, params)) as T[];
  } finally {
    await c.end();
  }
}

async function checksum(service: Service, table: string): Promise<number> {
  return (await sql<{ Checksum: number }>(service, `CHECKSUM TABLE ${service}.${table}`))[0]!.Checksum;
}

async function values(service: Service): Promise<string[]> {
  return (await sql<{ v: string }>(service, `SELECT v FROM ${service}.events ORDER BY id`)).map((r) => r.v);
}

function setDir(id: string): string {
  return path.join(fleet.stateDir, 'backups', id);
}

function manifestOf(id: string): BackupManifest {
  return JSON.parse(readFileSync(path.join(setDir(id), 'manifest.json'), 'utf8')) as BackupManifest;
}

function datadirOf(service: Service): string {
  return (fleet.state().servers[service] as unknown as { datadir: string }).datadir;
}

/** Datadirs moved aside by restores, for every server (a refused restore must add none). */
function movedAsideDirs(): string[] {
  return SERVICES.flatMap((s) =>
    readdirSync(path.dirname(datadirOf(s))).filter((n) =>
      n.startsWith(`${path.basename(datadirOf(s))}.before-restore-`),
    ),
  );
}

/** GTIDs of the transactions in a binlog file from a position on, read by mariadb-binlog (not by dbps). */
async function gtidsFrom(file: string, position: number): Promise<string[]> {
  const text = await new Promise<string>((resolve, reject) =>
    execFile(
      mariadbProgram('mariadb-binlog'),
      ['--no-defaults', `--start-position=${position}`, file],
      { maxBuffer: 256 * 1024 * 1024 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
  return [...text.matchAll(/\bGTID (\d+-\d+-\d+)/g)].map((m) => m[1]!);
}

/** `orders-bin.000007` → `orders-bin.000008`. */
function nextBinlogName(name: string): string {
  const m = /^(.*\.)(\d+)$/.exec(name)!;
  return `${m[1]}${String(Number(m[2]) + 1).padStart(m[2]!.length, '0')}`;
}

/** Waits until the wall clock is in a new second (binlog event times have one-second resolution). */
async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
}

beforeAll(async () => {
  fleet = await createFleet(`version: 1
fleet: bk
defaults: { basePort: ${randomBasePort()} }
services:
${SERVICES.map((s) => `  ${s}: { memory: 512M }`).join('\n')}
`);
  argvLog = path.join(fleet.dir, 'argv.log');
  const up = await cli(['up']);
  expect(up.code, up.stderr + up.stdout).toBe(0);
  const prov = await cli(['provision']);
  expect(prov.code, prov.stderr).toBe(0);
  for (const s of SERVICES) {
    await sql(s, `CREATE TABLE ${s}.reference (id INT PRIMARY KEY, name VARCHAR(50), amount DECIMAL(10,2))`);
    await sql(s, `INSERT INTO ${s}.reference SELECT seq, CONCAT('row-', seq), seq * 1.5 FROM ${s}.seq_1_to_2000`);
    await sql(
      s,
      `CREATE TABLE ${s}.events (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40), seq BIGINT, pad VARCHAR(200))`,
    );
  }
}, 240_000);

afterAll(async () => {
  await destroyAllFleets();
});

describe('dbps backup and restore on a three-server fleet', () => {
  let setA: string;
  const expected = new Map<Service, { reference: number; events: number; rows: number }>();

  it('backs up while every server takes writes; positions match the binlog-info files; restore gives the checksums of the backup point', async () => {
    // One writer per server; each insert's own GTID sequence number is kept so the rows present at
    // the backup's GTID are known exactly.
    let writing = true;
    const written = new Map<Service, { id: number; seq: number }[]>();
    const writers = SERVICES.map(async (s) => {
      const c = await connect(s);
      const rows: { id: number; seq: number }[] = [];
      written.set(s, rows);
      try {
        let n = 0;
        while (writing) {
          const r = (await c.query(`INSERT INTO ${s}.events (v, pad) VALUES (?, REPEAT('x', 150))`, [`w${++n}`])) as {
            insertId: number;
          };
          const gtid = ((await c.query('SELECT @@last_gtid AS g')) as { g: string }[])[0]!.g;
          rows.push({ id: Number(r.insertId), seq: Number(gtid.split('-')[2]) });
        }
      } finally {
        await c.end();
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    const backup = await cli(['backup', '--threads', '2']);
    writing = false;
    await Promise.all(writers);
    expect(backup.code, backup.stderr).toBe(0);
    const doc = JSON.parse(backup.stdout) as { id: string; status: string; manifest: BackupManifest };
    expect(doc.status).toBe('complete');
    setA = doc.id;
    const manifest = manifestOf(setA);
    expect(manifest.servers.map((e) => [e.server, e.status, e.prepared])).toStrictEqual(
      SERVICES.map((s) => [s, 'ok', true]),
    );
    expect(readdirSync(path.join(fleet.stateDir, 'backups')).filter((n) => n.startsWith('.tmp-'))).toStrictEqual([]);

    for (const e of manifest.servers) {
      const s = e.server as Service;
      // The recorded position is the one the backup itself wrote, not SHOW MASTER STATUS afterwards:
      // compared with the file's raw tab-separated columns, not through the parser dbps uses.
      const raw = readFileSync(path.join(setDir(setA), e.path!, BINLOG_INFO), 'utf8')
        .trim()
        .split('\t');
      expect(raw).toHaveLength(3);
      expect(e.binlog).toStrictEqual({ file: raw[0], position: Number(raw[1]), gtid: raw[2] });
      expect(e.binlogInfoFile).toBe(BINLOG_INFO);
      expect(e.serverVersion).toMatch(new RegExp(`^${seriesOf(VERSION).replace('.', '\\.')}\\.`));
      // The copy phase is its own window inside the job: mariadb-backup started → exited.
      expect(Date.parse(e.copyStartedAt!)).toBeGreaterThanOrEqual(Date.parse(e.startedAt));
      expect(Date.parse(e.copyEndedAt!)).toBeGreaterThanOrEqual(Date.parse(e.copyStartedAt!));
      expect(Date.parse(e.endedAt)).toBeGreaterThanOrEqual(Date.parse(e.copyEndedAt!));
      expect(e.archivedBinlogs.map((b) => b.file)).toContain(e.binlog!.file);
      const rows = written.get(s)!;
      // Each server writes in its own GTID domain; its entry in the backup's GTID list is the backup point.
      const domain = (await sql<{ d: number }>(s, 'SELECT @@gtid_domain_id AS d'))[0]!.d;
      const seq = Number(
        e
          .binlog!.gtid!.split(',')
          .find((g) => g.startsWith(`${domain}-`))!
          .split('-')[2],
      );
      const atBackup = rows.filter((r) => r.seq <= seq).map((r) => r.id);
      // The GTID is one this test saw committed (or from before the writers started), and the position
      // agrees with it: mariadb-binlog, reading the archived binlog from that position, finds this
      // domain's next transaction first.
      expect(rows.some((r) => r.seq === seq) || seq < rows[0]!.seq).toBe(true);
      const archivedFile = path.join(setDir(setA), e.archivedBinlogs.find((b) => b.file === e.binlog!.file)!.path);
      // When no write landed between the position and the FLUSH that closed the file, the next one is
      // first in the following (live) binlog.
      const next = [
        ...(await gtidsFrom(archivedFile, e.binlog!.position)),
        ...(await gtidsFrom(path.join(datadirOf(s), nextBinlogName(e.binlog!.file)), 4)),
      ].filter((g) => g.startsWith(`${domain}-`));
      expect(Number(next[0]?.split('-')[2])).toBe(seq + 1);
      // The writes really overlapped the backup: some landed after its position.
      expect(rows.some((r) => r.seq > seq)).toBe(true);
      // The source's checksum at the backup point: the same rows copied into a table of the same shape.
      await sql(s, `CREATE TABLE ${s}.events_at_backup LIKE ${s}.events`);
      await sql(
        s,
        `INSERT INTO ${s}.events_at_backup SELECT * FROM ${s}.events WHERE id IN (${atBackup.length ? atBackup.join(',') : 'NULL'})`,
      );
      expected.set(s, {
        reference: await checksum(s, 'reference'),
        events: await checksum(s, 'events_at_backup'),
        rows: atBackup.length,
      });
      await sql(s, `DROP TABLE ${s}.events_at_backup`);
    }

    const restore = await cli(['restore', setA, '--yes']);
    expect(restore.code, restore.stderr).toBe(0);
    const restored = JSON.parse(restore.stdout) as { servers: { server: string; movedAside: string }[] };
    for (const s of SERVICES) {
      const r = restored.servers.find((x) => x.server === s)!;
      // The previous datadir is kept, never deleted.
      expect(existsSync(path.join(r.movedAside, s, 'events.ibd'))).toBe(true);
      expect(await checksum(s, 'reference')).toBe(expected.get(s)!.reference);
      expect(await checksum(s, 'events')).toBe(expected.get(s)!.events);
      expect((await sql<{ n: number }>(s, `SELECT COUNT(*) AS n FROM ${s}.events`))[0]!.n).toBe(expected.get(s)!.rows);
    }
  });

  it('verify passes on a good set and records it in the manifest', async () => {
    const r = await cli(['backups', 'verify', setA]);
    expect(r.code, r.stderr).toBe(0);
    const m = manifestOf(setA);
    for (const e of m.servers) {
      expect(e.verify?.ok).toBe(true);
      const t = e.verify!.tables.find((x) => x.table === `${e.server}.reference`)!;
      expect(t.check).toBe('OK');
      expect(t.checksum).toBe(expected.get(e.server as Service)!.reference);
    }
  });

  let setB: string;
  it('restores the whole fleet to one moment between two writes: the first is kept, the second is not', async () => {
    const b = await cli(['backup']);
    expect(b.code, b.stderr).toBe(0);
    setB = (JSON.parse(b.stdout) as { id: string }).id;
    await nextSecond();
    for (const s of SERVICES) await sql(s, `INSERT INTO ${s}.events (v) VALUES ('first')`);
    await nextSecond();
    const between = new Date();
    await nextSecond();
    for (const s of SERVICES) await sql(s, `INSERT INTO ${s}.events (v) VALUES ('second')`);
    const before = new Map<Service, string[]>();
    for (const s of SERVICES) before.set(s, await values(s));

    // A time the binlogs cannot cover yet is refused before anything is stopped.
    const future = await cli(['restore', setB, '--yes', '--to-time', new Date(Date.now() + 3_600_000).toISOString()]);
    expect(future.code).toBe(3);
    expect(future.stderr).toMatch(/is not covered/);
    for (const s of SERVICES) expect(await values(s)).toStrictEqual(before.get(s));

    // A second-resolution time written with another zone means the same instant.
    const offset = new Date(between.getTime() + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    const r = await cli(['restore', setB, '--yes', '--to-time', offset]);
    expect(r.code, r.stderr).toBe(0);
    for (const s of SERVICES) {
      const v = await values(s);
      expect(v).toStrictEqual(before.get(s)!.filter((x) => x !== 'second'));
      expect(v).toContain('first');
    }
  });

  it('refuses a point-in-time restore when an archived binlog of the window is missing', async () => {
    const m = manifestOf(setB);
    const orders = m.servers.find((e) => e.server === 'orders')!;
    const archived = path.join(setDir(setB), orders.archivedBinlogs.find((b) => b.file === orders.binlog!.file)!.path);
    const saved = await readFile(archived);
    await rm(archived);
    try {
      const r = await cli(['restore', setB, '--yes', '--to-time', new Date(Date.now() - 1000).toISOString()]);
      expect(r.code).toBe(3);
      // The window's later binlogs are found in the datadir the previous restore moved aside; the deleted
      // archived file is then caught by the checksum check, still before anything stops.
      expect(r.stderr).toMatch(/server "orders".*(in no backup set|missing|orders-bin\.\d+ no longer matches)/);
    } finally {
      await writeFile(archived, saved);
    }
  });

  it('verify fails on a corrupted set and says which file changed', async () => {
    const m = manifestOf(setB);
    const inv = m.servers.find((e) => e.server === 'inventory')!;
    const file = path.join(setDir(setB), inv.path!, 'inventory', 'reference.ibd');
    const fh = await open(file, 'r+');
    await fh.write(Buffer.alloc(4096, 0x5a), 0, 4096, 3 * 16384 + 100);
    await fh.close();
    const r = await cli(['backups', 'verify', setB]);
    expect(r.code).toBe(3);
    const after = manifestOf(setB).servers.find((e) => e.server === 'inventory')!;
    expect(after.verify?.ok).toBe(false);
    expect(after.verify?.badFiles).toContain('inventory/reference.ibd');
    expect(manifestOf(setB).servers.find((e) => e.server === 'orders')!.verify?.ok).toBe(true);
  });

  it('restore checks the recorded checksums first: a damaged set is refused before anything stops', async () => {
    const aside = movedAsideDirs();
    for (const s of SERVICES) await sql(s, `INSERT INTO ${s}.events (v) VALUES ('before-damaged-restore')`);
    const r = await cli(['restore', setB, '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/server "inventory".*servers\/inventory\/inventory\/reference\.ibd.*sha256/);
    expect(r.stderr).toMatch(/--no-verify-checksums/);
    expect(movedAsideDirs()).toStrictEqual(aside);
    for (const s of SERVICES) expect(await values(s)).toContain('before-damaged-restore');
  });

  it('--no-verify-checksums restores a set whose files changed since the backup', async () => {
    const orders = manifestOf(setA).servers.find((e) => e.server === 'orders')!;
    const info = path.join(setDir(setA), orders.path!, BACKUP_INFO);
    await writeFile(info, `${await readFile(info, 'utf8')}# edited after the backup\n`);
    const refused = await cli(['restore', setA, 'orders', '--yes']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(new RegExp(`server "orders".*servers/orders/${BACKUP_INFO}`));
    expect(await values('orders')).toContain('before-damaged-restore');
    const r = await cli(['restore', setA, 'orders', '--yes', '--no-verify-checksums']);
    expect(r.code, r.stderr).toBe(0);
    expect(await values('orders')).not.toContain('before-damaged-restore');
    expect(await checksum('orders', 'events')).toBe(expected.get('orders')!.events);
  });

  it('a server killed during its backup fails alone: partial set, exit 3, the other entries restore', async () => {
    const pidOf = (s: Service) => Number(readFileSync(path.join(fleet.state().servers[s]!.dir, 'mysqld.pid'), 'utf8'));
    const victim = pidOf('customers');
    const root = path.join(fleet.stateDir, 'backups');
    const running = cli(['backup']);
    // Kill customers' mariadbd as soon as its backup directory appears (its copy has begun).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const tmp = existsSync(root) ? readdirSync(root).find((n) => n.startsWith('.tmp-')) : undefined;
      if (tmp && existsSync(path.join(root, tmp, 'servers', 'customers'))) break;
      if (Date.now() > deadline) throw new Error('backup of customers never started');
      await new Promise((r) => setTimeout(r, 10));
    }
    process.kill(victim, 'SIGKILL');
    const r = await running;
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout) as { id: string; status: string };
    expect(doc.status).toBe('partial');
    const m = manifestOf(doc.id);
    expect(m.status).toBe('partial');
    const failed = m.servers.find((e) => e.server === 'customers')!;
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(/mariadb-backup|not reachable|lost|gone|connect/i);
    expect(existsSync(path.join(setDir(doc.id), 'servers', 'customers'))).toBe(false);
    expect(
      m.servers
        .filter((e) => e.status === 'ok')
        .map((e) => e.server)
        .sort(),
    ).toStrictEqual(['inventory', 'orders']);
    expect(readdirSync(root).filter((n) => n.startsWith('.tmp-'))).toStrictEqual([]);

    const list = JSON.parse((await cli(['backups', 'list'])).stdout) as { sets: { id: string; status: string }[] };
    expect(list.sets.find((s) => s.id === doc.id)?.status).toBe('partial');

    // The failed entry cannot be restored from this set; the others can.
    const refused = await cli(['restore', doc.id, 'customers', '--yes']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/backup of server "customers" in set .* failed/);
    for (const s of ['orders', 'inventory'] as const)
      await sql(s, `INSERT INTO ${s}.events (v) VALUES ('after-partial')`);
    const ok = await cli(['restore', doc.id, 'orders', 'inventory', '--yes']);
    expect(ok.code, ok.stderr).toBe(0);
    for (const s of ['orders', 'inventory'] as const) {
      expect(await values(s)).not.toContain('after-partial');
      expect(await checksum(s, 'reference')).toBe(expected.get(s)!.reference);
    }
  });

  const ordersOnly: string[] = [];
  it('point-in-time never chains binlogs of another history: after a restore the binlog names restart', async () => {
    // setB's orders position lies in a binlog of the history before the later restores; two orders-only
    // backups since the last restore archive the new history's files, under the names setB's chain needs.
    const q1 = await cli(['backup', 'orders']);
    expect(q1.code, q1.stderr).toBe(0);
    ordersOnly.push((JSON.parse(q1.stdout) as { id: string }).id);
    await nextSecond();
    await sql('orders', "INSERT INTO orders.events (v) VALUES ('new-history')");
    await nextSecond();
    const t = new Date();
    await nextSecond();
    const q2 = await cli(['backup', 'orders']);
    expect(q2.code, q2.stderr).toBe(0);
    ordersOnly.push((JSON.parse(q2.stdout) as { id: string }).id);
    const b = manifestOf(setB).servers.find((e) => e.server === 'orders')!;
    const later = ordersOnly.flatMap((id) => manifestOf(id).servers[0]!.archivedBinlogs.map((a) => a.file));
    // The trap: a later set holds a file named like the next one of setB's chain.
    expect(later).toContain(nextBinlogName(b.binlog!.file));

    const before = await values('orders');
    const aside = movedAsideDirs();
    const r = await cli(['restore', setB, 'orders', '--yes', '--to-time', t.toISOString()]);
    expect(r.code, r.stdout).toBe(3);
    expect(r.stderr).toMatch(/server "orders".*another binlog history/);
    expect(movedAsideDirs()).toStrictEqual(aside);
    expect(await values('orders')).toStrictEqual(before);
    // Each restore began a new history, recorded in state.json and carried by later backups.
    const history = (fleet.state().servers.orders as unknown as { history?: string }).history;
    expect(history).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(manifestOf(ordersOnly[1]!).servers[0]!.history).toBe(history);
    expect(b.history).toMatch(/^\d{8}T\d{6}Z-/);
    expect(b.history).not.toBe(history);
  });

  it("prune keeps each server's newest good backups, never only the newest sets; no password reached a command line", async () => {
    // Sets now: setA (every server, verified), setB (inventory failed verify), the partial set, two
    // orders-only sets. The newest good backup of customers and inventory is setA's.
    const r = await cli(['backups', 'prune', '--keep', '1']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { removed: string[]; kept: string[]; protects: Record<string, string[]> };
    expect(doc.removed).toStrictEqual([]);
    expect(doc.protects[setA]).toStrictEqual(['customers', 'inventory']);
    expect(doc.protects[ordersOnly[1]!]).toStrictEqual(['orders']);
    expect(existsSync(setDir(setA))).toBe(true);

    // A newer complete, unverified set holds a good backup of every server: the older sets go.
    const up = await cli(['up', 'customers']); // killed in the partial-set test
    expect(up.code, up.stderr).toBe(0);
    const full = await cli(['backup']);
    expect(full.code, full.stderr).toBe(0);
    const fullId = (JSON.parse(full.stdout) as { id: string }).id;
    const again = JSON.parse((await cli(['backups', 'prune', '--keep', '1'])).stdout) as {
      removed: string[];
      kept: string[];
    };
    expect(again.kept).toStrictEqual([fullId]);
    expect(again.removed).toContain(setA);
    expect(again.removed).toContain(setB);
    expect(existsSync(setDir(setA))).toBe(false);
    expect(existsSync(setDir(setB))).toBe(false);

    const secrets = await readSecrets(fleet.stateDir);
    const argv = readFileSync(argvLog, 'utf8');
    expect(argv).toMatch(/mariadb-backup/);
    for (const [, pw] of secrets) expect(argv).not.toContain(pw);
  });

  it('a missing mariadb-backup is one clear error and no set', async () => {
    const before = readdirSync(path.join(fleet.stateDir, 'backups'));
    const r = await cli(['backup'], { DBPS_MARIADB_BINDIR: path.join(os.tmpdir(), 'no-such-bindir') });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/mariadb-backup is not installed/);
    expect(readdirSync(path.join(fleet.stateDir, 'backups'))).toStrictEqual(before);
  });

  it('a zstd-compressed backup of one service verifies and restores', async () => {
    const b = await cli(['backup', 'orders', '--compress', 'zstd']);
    expect(b.code, b.stderr).toBe(0);
    const { id } = JSON.parse(b.stdout) as { id: string };
    const entry = manifestOf(id).servers.find((e) => e.server === 'orders')!;
    expect(manifestOf(id).servers.map((e) => e.server)).toStrictEqual(['orders']);
    expect(entry.path).toBe('servers/orders.tar.zst');
    expect((await import('node:fs')).statSync(setDir(id)).mode & 0o777).toBe(0o700);
    const before = await values('orders');
    await sql('orders', "INSERT INTO orders.events (v) VALUES ('after-zstd')");
    const v = await cli(['backups', 'verify', id]);
    expect(v.code, v.stderr).toBe(0);
    const r = await cli(['restore', id, 'orders', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(await values('orders')).toStrictEqual(before);
  });

  it('a server without binary log is backed up with a warning, and refused for point in time', async () => {
    const st = fleet.state().servers.orders as unknown as { cnf: string; socket: string; pidFile: string };
    expect((await cli(['down', 'orders'])).code).toBe(0);
    // The same my.cnf with the binary log switched off on the command line.
    const child = spawn(mariadbProgram('mariadbd'), [`--defaults-file=${st.cnf}`, '--user=root', '--skip-log-bin'], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          await sql('orders', 'SELECT 1');
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      expect((await sql<{ b: number }>('orders', 'SELECT @@log_bin AS b'))[0]!.b).toBe(0);
      const b = await cli(['backup', 'orders']);
      expect(b.code, b.stderr).toBe(0);
      const doc = JSON.parse(b.stdout) as { id: string; warnings: string[] };
      expect(doc.warnings).toStrictEqual([
        'server "orders" has no binary log (log_bin off): its backup restores, but not to a point in time',
      ]);
      const e = manifestOf(doc.id).servers[0]!;
      expect([e.status, e.binlog, e.binlogInfoFile, e.archivedBinlogs]).toStrictEqual(['ok', null, undefined, []]);
      const text = await fleet.run(['backups', 'show', doc.id]);
      expect(text.stdout).toMatch(/binlog off: no point-in-time restore/);
      const r = await cli(['restore', doc.id, 'orders', '--yes', '--to-time', new Date().toISOString()]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/server "orders" had no binary log at backup time \(log_bin off\)/);
    } finally {
      await sql('orders', 'SHUTDOWN').catch(() => undefined);
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, 30_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const up = await cli(['up', 'orders']);
      expect(up.code, up.stderr).toBe(0);
    }
  });
});
