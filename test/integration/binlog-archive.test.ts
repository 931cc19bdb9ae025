// Binlog archiving on real servers: a local server run by `dbps up` and an external one on a simulated
// host (its own network namespace, reached over the bridge as a remote client). `binlogs pull` is
// idempotent and resumes after a kill without a gap or a duplicate; `binlogs follow` survives its own
// kill, a binlog rotation and a server restart; a point-in-time restore reads the archive when the
// server has purged the binlogs; `backups list` shows the window the archive gives.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveIndex } from '../../src/backup/archive.js';
import { BIN } from '../helpers/dbps-cli.js';
import { createHosts, type HostNetwork } from '../helpers/hosts.js';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort } from '../helpers/local-fleet.js';
import { mariadbProgram } from '../helpers/mariadb-server.js';
import { createTestPki, hostTlsArgs, type TestPki } from '../helpers/test-pki.js';

const run = promisify(execFile);
const ADMIN_ENV = 'ARCHIVE_EXT_ADMIN_PWD';

let net: HostNetwork;
let pki: TestPki;
let fleet: LocalFleet;
let env: NodeJS.ProcessEnv;

const archiveDir = (server: string) => path.join(fleet.stateDir, 'backups', 'binlogs', server);
const indexOf = (server: string): ArchiveIndex =>
  JSON.parse(readFileSync(path.join(archiveDir(server), 'index.json'), 'utf8')) as ArchiveIndex;

async function localSql(q: string, params?: unknown[]) {
  const c = await mariadb.createConnection({ socketPath: fleet.state().servers.orders!.socket, user: 'root' });
  try {
    return (await c.query(q, params)) as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

async function extSql(q: string, params?: unknown[]) {
  return net.hosts[0]!.query(q, params);
}

/** GTIDs of the transactions in binlog files, read by mariadb-binlog (not by dbps), in order. */
async function gtids(files: string[]): Promise<string[]> {
  if (files.length === 0) return [];
  const { stdout } = await run(mariadbProgram('mariadb-binlog'), ['--no-defaults', ...files], {
    maxBuffer: 512 * 1024 * 1024,
  });
  return [...stdout.matchAll(/\bGTID (\d+-\d+-\d+)/g)].map((m) => m[1]!);
}

/** The archive's files of the server's current history, in order (whole ones and the current copy). */
function archivedFiles(server: string): string[] {
  const index = indexOf(server);
  const h = index.histories.find((x) => x.id === index.current)!;
  return h.files.map((f) => path.join(archiveDir(server), f.path));
}

/** The server's own binlog files, in order. */
async function serverFiles(server: 'orders' | 'ext0'): Promise<string[]> {
  const q = server === 'orders' ? localSql : extSql;
  const b = ((await q('SELECT @@log_bin_basename AS b')) as { b: string }[])[0]!.b;
  const logs = (await q('SHOW BINARY LOGS')) as { Log_name: string }[];
  return logs.map((l) => path.join(path.dirname(b), l.Log_name));
}

/** Every transaction the server logged is in the archive, once. */
async function expectArchiveHoldsServer(server: 'orders' | 'ext0') {
  const archived = await gtids(archivedFiles(server));
  const live = await gtids(await serverFiles(server));
  expect(new Set(archived).size, 'no transaction archived twice').toBe(archived.length);
  const missing = live.filter((g) => !archived.includes(g));
  expect(missing, 'transactions on the server missing from the archive').toEqual([]);
}

async function cli(args: string[]) {
  return fleet.run(['--json', ...args], env);
}

async function writeRows(q: (sql: string, p?: unknown[]) => Promise<unknown>, db: string, n: number, tag: string) {
  for (let i = 0; i < n; i++) await q(`INSERT INTO ${db}.events (v) VALUES (?)`, [`${tag}-${i}`]);
}

describe('binlog archive (local and external servers)', () => {
  beforeAll(async () => {
    // The host presents a certificate of a test CA: mariadb-binlog and mariadb-dump reach it over verified TLS.
    pki = createTestPki();
    const tlsArgs = hostTlsArgs(pki);
    net = await createHosts(1, { args: (i, h) => [...tlsArgs(i, h), '--log-bin=ext-bin', '--binlog-format=ROW'] });
    const host = net.hosts[0]!;
    fleet = await createFleet(`version: 1
fleet: archive
defaults: { basePort: ${randomBasePort()} }
servers:
  ext0: { driver: external, host: ${host.address}, port: 3306, backupHost: "${net.hostPattern}", tls: { ca: "${pki.ca()}" }, admin: { user: ${host.admin.user}, passwordEnv: ${ADMIN_ENV} } }
services:
  orders: { memory: 256M }
  billing: { server: ext0 }
`);
    env = { [ADMIN_ENV]: host.admin.password, DBPS_MEMORY_SCALE: '0.05' };
    const up = await cli(['up']);
    expect(up.code, up.stderr).toBe(0);
    const prov = await cli(['provision', '--yes']);
    expect(prov.code, prov.stderr).toBe(0);
    await localSql('CREATE TABLE orders.events (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(200), pad LONGTEXT)');
    await extSql('CREATE TABLE billing.events (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(200), pad LONGTEXT)');
    await writeRows(localSql, 'orders', 20, 'first');
    await writeRows(extSql, 'billing', 20, 'first');
  });

  afterAll(async () => {
    await destroyAllFleets();
    await net?.destroy();
    pki?.remove();
  });

  it('pull archives every server over the network, and a second pull changes nothing', async () => {
    await localSql('FLUSH BINARY LOGS');
    await extSql('FLUSH BINARY LOGS');
    const first = await cli(['binlogs', 'pull']);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const doc = JSON.parse(first.stdout) as { servers: { server: string; archived: string[]; partial?: unknown }[] };
    for (const s of doc.servers) {
      expect(s.archived.length, s.server).toBeGreaterThan(0);
      expect(s.partial, s.server).toBeDefined();
    }
    const before = ['orders', 'ext0'].map((s) => indexOf(s));
    const second = await cli(['binlogs', 'pull']);
    expect(second.code, second.stderr).toBe(0);
    const after = ['orders', 'ext0'].map((s) => indexOf(s));
    // The same whole files with the same bytes, the same current file; it only grows (the servers
    // may log a statement of their own between the pulls), and its "known up to" moment moves on.
    const shape = (i: ArchiveIndex) =>
      i.histories.map((h) => ({
        id: h.id,
        files: h.files.map((f) => (f.complete ? [f.file, f.size, f.sha256] : [f.file, 'partial'])),
      }));
    expect(after.map(shape)).toEqual(before.map(shape));
    for (const [i, idx] of after.entries()) {
      const grown = idx.histories.flatMap((h) => h.files.filter((f) => !f.complete));
      const was = before[i]!.histories.flatMap((h) => h.files.filter((f) => !f.complete));
      expect(grown[0]!.size).toBeGreaterThanOrEqual(was[0]!.size);
      expect(grown[0]!.coveredUntil > was[0]!.coveredUntil).toBe(true);
    }
    for (const s of ['orders', 'ext0'] as const) await expectArchiveHoldsServer(s);
    // Whole files are byte for byte the server's own.
    const index = indexOf('ext0');
    const whole = index.histories[0]!.files.filter((f) => f.complete);
    const live = await serverFiles('ext0');
    for (const f of whole) {
      const original = live.find((p) => path.basename(p) === f.file)!;
      expect(readFileSync(path.join(archiveDir('ext0'), f.path)).equals(readFileSync(original)), f.file).toBe(true);
    }
    // Nothing of the archive is readable by another OS user.
    expect(readdirSync(path.join(fleet.stateDir, 'backups', 'binlogs'))).toContain('ext0');
    const { stdout } = await run('stat', ['-c', '%a', archiveDir('ext0')]);
    expect(stdout.trim()).toBe('700');
  });

  it('a pull killed mid-copy leaves no file marked whole that is not, and the next pull completes it', async () => {
    // Enough binlog that the fetch takes a while: 40 MB in a few transactions.
    for (let i = 0; i < 8; i++)
      await extSql('INSERT INTO billing.events (v, pad) VALUES (?, REPEAT(?, 5000000))', [`big-${i}`, 'x']);
    await extSql('FLUSH BINARY LOGS');
    const child = spawn(process.execPath, [BIN, 'binlogs', 'pull', 'billing'], {
      cwd: fleet.dir,
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    // Kill it once the staging copy has begun to grow.
    const deadline = Date.now() + 20_000;
    let killed = false;
    while (Date.now() < deadline) {
      const staging = readdirSync(archiveDir('ext0')).filter((n) => n.startsWith('.staging-'));
      const bytes = staging
        .flatMap((d) => readdirSync(path.join(archiveDir('ext0'), d)).map((f) => path.join(archiveDir('ext0'), d, f)))
        .reduce((n, f) => n + (existsSync(f) ? readFileSync(f).length : 0), 0);
      if (bytes > 1_000_000) {
        child.kill('SIGKILL');
        killed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => child.once('exit', r));
    expect(killed, 'the pull was killed while copying').toBe(true);
    // Every file the index calls whole has exactly its recorded bytes.
    const index = indexOf('ext0');
    for (const f of index.histories.flatMap((h) => h.files.filter((x) => x.complete)))
      expect(readFileSync(path.join(archiveDir('ext0'), f.path)).length, f.file).toBe(f.size);
    const again = await cli(['binlogs', 'pull', 'billing']);
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(archiveDir('ext0')).filter((n) => n.startsWith('.staging-'))).toEqual([]);
    await expectArchiveHoldsServer('ext0');
  });

  it('follow archives as the servers write, across its own kill, a rotation and server restarts', async () => {
    const start = () =>
      spawn(process.execPath, [BIN, 'binlogs', 'follow'], {
        cwd: fleet.dir,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    let follower = start();
    let log = '';
    follower.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const waitFor = async (what: () => Promise<boolean>, why: string) => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        if (await what()) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting: ${why}\n${log}`);
    };
    const caughtUp = async (server: 'orders' | 'ext0') => {
      const archived: string[] = await gtids(archivedFiles(server)).catch(() => []);
      const live = await gtids(await serverFiles(server));
      return live.every((g) => archived.includes(g));
    };
    await writeRows(localSql, 'orders', 10, 'follow-a');
    await writeRows(extSql, 'billing', 10, 'follow-a');
    await waitFor(() => caughtUp('orders'), 'orders archived');
    await waitFor(() => caughtUp('ext0'), 'ext0 archived');

    // A rotation while following, then the follower is killed and started again.
    await localSql('FLUSH BINARY LOGS');
    await writeRows(localSql, 'orders', 5, 'follow-b');
    follower.kill('SIGKILL');
    await new Promise((r) => follower.once('exit', r));
    await writeRows(localSql, 'orders', 5, 'while-down');
    follower = start();
    follower.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(() => caughtUp('orders'), 'orders archived after the follower restarted');

    // The servers restart under the follower.
    const down = await cli(['down', 'orders']);
    expect(down.code, down.stderr).toBe(0);
    await net.hosts[0]!.restart();
    const up = await cli(['up', 'orders']);
    expect(up.code, up.stderr).toBe(0);
    await writeRows(localSql, 'orders', 5, 'after-restart');
    await writeRows(extSql, 'billing', 5, 'after-restart');
    await waitFor(() => caughtUp('orders'), 'orders archived after its restart');
    await waitFor(() => caughtUp('ext0'), 'ext0 archived after its restart');

    follower.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => follower.once('exit', (c) => r(c)));
    expect(code, log).toBe(0);
    for (const s of ['orders', 'ext0'] as const) await expectArchiveHoldsServer(s);
    // Files closed by the rotation and the restarts are stored whole.
    const whole = indexOf('orders').histories.flatMap((h) => h.files.filter((f) => f.complete));
    expect(whole.length).toBeGreaterThanOrEqual(3);
  });

  it('point-in-time restore reads the archive when the server purged its binlogs, and list shows the window', async () => {
    const backup = await cli(['backup', 'orders']);
    expect(backup.code, backup.stderr).toBe(0);
    await localSql("INSERT INTO orders.events (v) VALUES ('keep-me')");
    await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
    const between = new Date();
    await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
    await localSql("INSERT INTO orders.events (v) VALUES ('after-the-moment')");
    await localSql('FLUSH BINARY LOGS');
    const pulled = await cli(['binlogs', 'pull', 'orders']);
    expect(pulled.code, pulled.stderr).toBe(0);
    // The server keeps only its current binlog: the replay must come from the archive.
    const [status] = (await localSql('SHOW MASTER STATUS')) as { File: string }[];
    // InnoDB may still need the previous file for a moment (binlog checkpoint): purge until it lets go.
    for (let i = 0; i < 50 && (await localSql('SHOW BINARY LOGS')).length > 1; i++) {
      await localSql(`PURGE BINARY LOGS TO '${status!.File}'`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await localSql('SHOW BINARY LOGS')).length).toBe(1);

    const list = await cli(['backups', 'list']);
    expect(list.code, list.stderr).toBe(0);
    const windows = (JSON.parse(list.stdout) as { windows: { server: string; from: string; until: string }[] }).windows;
    const w = windows.filter((x) => x.server === 'orders').pop()!;
    expect(new Date(w.until).getTime()).toBeGreaterThan(between.getTime());

    const restore = await cli(['restore', 'latest', 'orders', '--to-time', between.toISOString(), '--yes']);
    expect(restore.code, restore.stderr + restore.stdout).toBe(0);
    const values = ((await localSql('SELECT v FROM orders.events')) as { v: string }[]).map((r) => r.v);
    expect(values).toContain('keep-me');
    expect(values).not.toContain('after-the-moment');

    // A time past the window is refused before anything stops, naming the window.
    const late = await cli([
      'restore',
      'latest',
      'orders',
      '--to-time',
      new Date(Date.now() + 3_600_000).toISOString(),
      '--yes',
    ]);
    expect(late.code).toBe(3);
    expect(late.stdout + late.stderr).toMatch(/can be restored to .* → /);
  });

  it('an external server: a dump plus the archived binlogs replayed to a moment (into other databases)', async () => {
    const { replayArchivedBinlogs } = await import('../../src/backup/archive-replay.js');
    const { useRunDir } = await import('../../src/runtime/run-dir.js');
    // The replay's option file (the admin's password) goes to the fleet's private run directory.
    useRunDir(fleet.stateDir);
    const host = net.hosts[0]!;
    // The dump's own header records its consistent position (--master-data=2), inside its snapshot.
    const { stdout: dump } = await run(
      mariadbProgram('mariadb-dump'),
      ['--no-defaults', `--socket=${host.socket}`, '-uroot', '--single-transaction', '--master-data=2', 'billing'],
      { maxBuffer: 512 * 1024 * 1024 },
    );
    const pos = /CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+)/.exec(dump)!;
    expect(pos, 'dump header position').not.toBeNull();
    const pointAt = new Date();
    // A neighbour database written in the same window: its events must not be replayed anywhere.
    await extSql('CREATE DATABASE IF NOT EXISTS neighbour');
    await extSql('CREATE TABLE IF NOT EXISTS neighbour.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))');
    await extSql("INSERT INTO neighbour.t (v) VALUES ('n1')");
    await extSql("INSERT INTO billing.events (v) VALUES ('ext-keep')");
    await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
    const between = new Date();
    await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
    await extSql("INSERT INTO billing.events (v) VALUES ('ext-after')");
    const pulled = await cli(['binlogs', 'pull', 'billing']);
    expect(pulled.code, pulled.stderr).toBe(0);

    await extSql('CREATE DATABASE billing_r');
    const load = spawn(mariadbProgram('mariadb'), ['--no-defaults', `--socket=${host.socket}`, '-uroot', 'billing_r'], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    load.stdin!.end(dump);
    expect(await new Promise((r) => load.once('exit', r))).toBe(0);
    const gtidBefore = ((await extSql('SELECT @@gtid_binlog_pos AS g')) as { g: string }[])[0]!.g;
    const replayed = await replayArchivedBinlogs({
      server: 'ext0',
      backupRoot: path.join(fleet.stateDir, 'backups'),
      from: { file: pos[1]!, position: Number(pos[2]) },
      pointAt,
      toTime: between,
      target: {
        user: host.admin.user,
        password: host.admin.password,
        host: host.address,
        port: 3306,
        tls: { mode: 'verify-full', caFile: pki.ca() },
      },
      databases: { billing: 'billing_r' },
    });
    // The replay was not logged again on the server: its GTID position is where the test's own writes left it.
    const gtidAfter = ((await extSql('SELECT @@gtid_binlog_pos AS g')) as { g: string }[])[0]!.g;
    expect(gtidAfter).toBe(gtidBefore);
    const neighbours = ((await extSql('SELECT COUNT(*) AS n FROM neighbour.t')) as { n: bigint }[])[0]!.n;
    expect(Number(neighbours), 'the neighbour database got no replayed row').toBe(1);
    expect(replayed.files.length).toBeGreaterThan(0);
    const values = ((await extSql('SELECT v FROM billing_r.events')) as { v: string }[]).map((r) => r.v);
    expect(values).toContain('ext-keep');
    expect(values).not.toContain('ext-after');
    // The source database was not touched by the replay.
    const source = (
      (await extSql("SELECT COUNT(*) AS n FROM billing.events WHERE v = 'ext-keep'")) as { n: bigint }[]
    )[0]!;
    expect(Number(source.n)).toBe(1);
  });

  it('one restore --to-time brings a local (physical) and an external (logical) server to the same moment', async () => {
    const backup = await cli(['backup']);
    expect(backup.code, backup.stderr + backup.stdout).toBe(0);
    const methods = (JSON.parse(backup.stdout) as { manifest: { servers: { server: string; method?: string }[] } })
      .manifest.servers;
    expect(methods.find((e) => e.server === 'ext0')?.method).toBe('logical');
    await localSql("INSERT INTO orders.events (v) VALUES ('fleet-keep')");
    await extSql("INSERT INTO billing.events (v) VALUES ('fleet-keep')");
    await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
    const between = new Date();
    await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
    await localSql("INSERT INTO orders.events (v) VALUES ('fleet-after')");
    await extSql("INSERT INTO billing.events (v) VALUES ('fleet-after')");
    const pulled = await cli(['binlogs', 'pull']);
    expect(pulled.code, pulled.stderr).toBe(0);

    const restore = await cli(['restore', 'latest', '--to-time', between.toISOString(), '--yes']);
    expect(restore.code, restore.stderr + restore.stdout).toBe(0);
    for (const [q, db] of [
      [localSql, 'orders'],
      [extSql, 'billing'],
    ] as const) {
      const values = ((await q(`SELECT v FROM ${db}.events`)) as { v: string }[]).map((r) => r.v);
      expect(values, db).toContain('fleet-keep');
      expect(values, db).not.toContain('fleet-after');
    }
    // No scratch or old copy is left on the external server.
    const dbs = ((await extSql('SHOW DATABASES')) as { Database: string }[]).map((r) => r.Database);
    expect(dbs.filter((d) => d.startsWith('billing__'))).toEqual([]);
  });
});
