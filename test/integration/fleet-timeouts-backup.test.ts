// Bounded backup and restore across hosts: two simulated hosts (driver: external, logical backups).
// host0 is frozen (SIGSTOP) while mariadb-dump reads its big table, and again while the mariadb client
// loads it back: backup and restore exit 3 within --timeout plus a few seconds, naming the server; the
// set is partial, with no dump of host0 that looks complete, and host1's server is done (backup) or
// left with its data as it was (restore). Thawed, the next backup and restore succeed. `binlogs pull`
// gives up a host frozen mid-fetch within --timeout too, and archives the other's binlogs.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupManifest } from '../../src/backup/manifest.js';
import { createHosts, type HostNetwork, type TestHost } from '../helpers/hosts.js';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort } from '../helpers/local-fleet.js';

const TIMEOUT = 3;
/** --timeout, the stall seen within a quarter of it, the CLI's start and the rest of the set (shared machine). */
const BOUND_MS = (TIMEOUT + 6) * 1000;
let net: HostNetwork;
let fleet: LocalFleet;
let env: NodeJS.ProcessEnv;
let h0: TestHost;
let h1: TestHost;

beforeAll(async () => {
  net = await createHosts(2, { bufferPool: '64M', args: () => ['--log-bin=binlog', '--binlog-format=ROW'] });
  [h0, h1] = net.hosts as [TestHost, TestHost];
  env = { H0_PWD: h0.admin.password, H1_PWD: h1.admin.password };
  const ext = (h: TestHost, i: number) =>
    `{ driver: external, host: ${h.address}, port: ${h.port}, admin: { user: ${h.admin.user}, passwordEnv: H${i}_PWD }, backupHost: "${net.gateway}", tls: { mode: disabled } }`;
  fleet = await createFleet(`version: 1
fleet: bt
defaults: { basePort: ${randomBasePort()} }
servers:
  h0: ${ext(h0, 0)}
  h1: ${ext(h1, 1)}
services:
  big: { server: h0 }
  small: { server: h1 }
`);
  const p = await fleet.run(['provision'], env);
  expect(p.code, p.stdout + p.stderr).toBe(0);
  // Enough rows that mariadb-dump (and the load) runs for seconds: there is time to freeze it mid-way.
  await h0.query('CREATE TABLE big.t (id INT PRIMARY KEY, v VARCHAR(200))');
  await h0.query('INSERT INTO big.t SELECT seq, REPEAT(MD5(seq), 6) FROM big.seq_1_to_400000');
  await h1.query('CREATE TABLE small.t (id INT PRIMARY KEY)');
  await h1.query('INSERT INTO small.t VALUES (1), (2), (3)');
}, 240_000);

afterAll(async () => {
  for (const h of net?.hosts ?? []) {
    try {
      h.thaw();
    } catch {
      // stopped
    }
  }
  await destroyAllFleets();
  await net?.destroy();
}, 120_000);

/**
 * Runs dbps and freezes `host` once `seen` matches a statement of `user` in its process list. If dbps has
 * not exited by `BOUND_MS` plus a margin (a build without the bound), the host is thawed so the run ends.
 */
async function runFreezing(args: string[], host: TestHost, user: string, seen: RegExp) {
  let frozen = false;
  let done = false;
  const began = Date.now();
  const run = fleet.run(args, env).finally(() => {
    done = true;
  });
  const watch = (async () => {
    while (!done && !frozen) {
      const rows = await host.query<{ what: string }>(
        "SELECT CONCAT(COMMAND, ' ', COALESCE(INFO, '')) AS what FROM information_schema.PROCESSLIST WHERE USER = ?",
        [user],
      );
      if (rows.some((r) => seen.test(r.what))) {
        host.freeze();
        frozen = true;
        return Date.now();
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return undefined;
  })();
  const rescue = setTimeout(() => host.thaw(), BOUND_MS + 30_000);
  try {
    const r = await run;
    const frozenAt = await watch;
    return { ...r, ms: Date.now() - began, sinceFreeze: frozenAt ? Date.now() - frozenAt : undefined };
  } finally {
    clearTimeout(rescue);
    if (frozen) host.thaw();
  }
}

function backupsDir(): string {
  return path.join(fleet.stateDir, 'backups');
}

describe(`backup and restore of external servers bound every wait (--timeout ${TIMEOUT})`, () => {
  let complete = '';

  it('a host frozen mid-dump: backup exits 3 in time naming it; the set is partial, with no dump of it; the other server is done', async () => {
    const r = await runFreezing(
      ['backup', '--json', '--timeout', String(TIMEOUT)],
      h0,
      'dbps_backup',
      /SQL_NO_CACHE.*`t`|FROM `t`/,
    );
    expect(r.sinceFreeze, 'the host was frozen while mariadb-dump ran').toBeDefined();
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.sinceFreeze!).toBeLessThan(BOUND_MS);
    const doc = JSON.parse(r.stdout) as { id: string; dir: string; status: string; manifest: BackupManifest };
    expect(doc.status).toBe('partial');
    const e0 = doc.manifest.servers.find((e) => e.server === 'h0')!;
    const e1 = doc.manifest.servers.find((e) => e.server === 'h1')!;
    expect(e0.status).toBe('failed');
    expect(e0.reason).toMatch(/server "h0" did not answer mariadb-dump within 3 s/);
    expect(e0.path).toBeUndefined();
    expect(e0.checksum).toBeUndefined();
    // No file of h0's dump is left in the set, whole or cut.
    expect(readdirSync(path.join(doc.dir, 'servers')).filter((f) => f.startsWith('h0'))).toEqual([]);
    // The other server was backed up beside it, and the summary says which.
    expect(e1.status).toBe('ok');
    expect(existsSync(path.join(doc.dir, e1.path!))).toBe(true);
    const text = await fleet.run(['backups', 'list'], env);
    expect(text.stdout).toMatch(new RegExp(`${doc.id}\\s+partial .*h0\\(failed\\)`));
  }, 180_000);

  it('thawed, the next backup is complete', async () => {
    const r = await fleet.run(['backup', '--json', '--timeout', String(TIMEOUT * 10)], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    complete = (JSON.parse(r.stdout) as { id: string }).id;
    expect(existsSync(path.join(backupsDir(), complete, 'servers', 'h0.sql.zst'))).toBe(true);
  }, 180_000);

  it('a host frozen mid-load: restore exits 3 in time naming it; no server has its tables swapped', async () => {
    await h1.query('INSERT INTO small.t VALUES (4)');
    const r = await runFreezing(
      ['restore', complete, '--yes', '--timeout', String(TIMEOUT)],
      h0,
      h0.admin.user,
      /^Query INSERT INTO/,
    );
    expect(r.sinceFreeze, 'the host was frozen while the dump loaded').toBeDefined();
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.sinceFreeze!).toBeLessThan(BOUND_MS);
    expect(r.stdout + r.stderr).toMatch(/server "h0" did not answer the mariadb client loading SQL within 3 s/);
    // The summary says which servers were done: h1 had loaded, and nothing was swapped in anywhere.
    expect(r.stdout + r.stderr).toMatch(
      /nothing was swapped in: every server keeps its previous data \("h1" had loaded/,
    );
    // All or nothing: h1 was loaded beside its data, never swapped in; its row 4 is still there.
    const rows = await h1.query<{ id: number }>('SELECT id FROM small.t ORDER BY id');
    expect(rows.map((x) => Number(x.id))).toEqual([1, 2, 3, 4]);
    expect(await h1.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'small\\_\\_%'")).toEqual(
      [],
    );
    expect(Number((await h0.query<{ n: number }>('SELECT COUNT(*) AS n FROM big.t'))[0]!.n)).toBe(400_000);
  }, 180_000);

  it('thawed, the restore succeeds (and drops what the stopped one left)', async () => {
    const r = await fleet.run(['restore', complete, '--yes', '--timeout', String(TIMEOUT * 10)], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rows = await h1.query<{ id: number }>('SELECT id FROM small.t ORDER BY id');
    expect(rows.map((x) => Number(x.id))).toEqual([1, 2, 3]);
    expect(await h0.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'big\\_\\_%'")).toEqual([]);
  }, 180_000);

  it('binlogs pull: a host frozen mid-fetch is given up within --timeout (exit 3); the other is archived', async () => {
    const r = await runFreezing(
      ['binlogs', 'pull', '--json', '--timeout', String(TIMEOUT)],
      h0,
      'dbps_backup',
      /^Binlog Dump/,
    );
    expect(r.sinceFreeze, 'the host was frozen while mariadb-binlog read').toBeDefined();
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.sinceFreeze!).toBeLessThan(BOUND_MS);
    const doc = JSON.parse(r.stdout) as {
      servers: { server: string; error?: string; archived: string[]; partial?: unknown }[];
    };
    const s0 = doc.servers.find((s) => s.server === 'h0')!;
    const s1 = doc.servers.find((s) => s.server === 'h1')!;
    expect(s0.error).toMatch(/server "h0" sent no binlog data for 3 s/);
    expect(s1.error).toBeUndefined();
    expect(s1.archived.length + (s1.partial ? 1 : 0)).toBeGreaterThan(0);
  }, 180_000);
  it('restore --to-time: a host frozen mid-replay of its binlogs exits 3 in time naming it; nothing is swapped in', async () => {
    // Changes after the complete set, archived: replaying them to a moment after them takes seconds.
    // In statements of 5000 rows: one BINLOG statement per statement's row events, each well under the
    // server's max_allowed_packet (a single 300,000-row statement replays as one 90 MB packet).
    for (let from = 400_001; from <= 700_000; from += 5000)
      await h0.query(`INSERT INTO big.t SELECT seq, REPEAT(MD5(seq), 6) FROM big.seq_${from}_to_${from + 4999}`);
    await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
    const toTime = new Date();
    await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
    await h0.query('INSERT INTO big.t VALUES (700001, 1)'); // an event after the moment: the archive covers it
    const pulled = await fleet.run(['binlogs', 'pull', '--timeout', '60'], env);
    expect(pulled.code, pulled.stdout + pulled.stderr).toBe(0);
    const r = await runFreezing(
      ['restore', complete, '--to-time', toTime.toISOString(), '--yes', '--timeout', String(TIMEOUT)],
      h0,
      h0.admin.user,
      /^Query BINLOG/,
    );
    expect(
      r.sinceFreeze,
      `the host was frozen while the binlogs were replayed: ${r.code} ${r.stdout}${r.stderr}`,
    ).toBeDefined();
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.sinceFreeze!).toBeLessThan(BOUND_MS);
    expect(r.stdout + r.stderr).toMatch(/server "h0" did not answer the mariadb client replaying binlogs within 3 s/);
    // Nothing was swapped in: h0 keeps every row, and h1's scratch copy is dropped (h0's, which it could
    // not drop while frozen, goes with the next restore, as after a frozen load).
    expect(Number((await h0.query<{ n: number }>('SELECT COUNT(*) AS n FROM big.t'))[0]!.n)).toBe(700_001);
    expect(await h1.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'small\\_\\_%'")).toEqual(
      [],
    );
  }, 240_000);
});
