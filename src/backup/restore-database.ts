// `dbps restore <set> <service> --database`: one service's database back to the set, its neighbours on a
// shared server left as they are. A logical restore: the server's backup is prepared into a scratch server
// (socket only), that one database is dumped from it into a new database on the live server, and one
// RENAME TABLE (atomic: all or none) swaps the restored tables in and the current ones out into a kept
// database. Any failure before or in that statement leaves the current tables in place.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { OperationalError } from '../errors.js';
import type { FleetService } from '../fleet/model.js';
import { type AdminSession, connectAdmin } from '../runtime/admin.js';
import { diesWithParent, trackChild, trackScratchDir, untrackChild, untrackScratchDir } from '../runtime/run-dir.js';
import type { LocalServerState } from '../runtime/state.js';
import { ident } from '../sql/quote.js';
import type { ServerBackup } from './manifest.js';
import { defaultsFileText, lastErrorLine, toolEnv, writeDefaultsFile } from './proc.js';
import { startScratchServer } from './scratch-server.js';
import { preparedCopy } from './verify.js';

export interface DatabaseRestoreResult {
  service: string;
  server: string;
  database: string;
  /** Tables the database holds now (as in the set). */
  tables: number;
  /** The database now holding the tables it had before the restore (kept; drop it when done). */
  keptAs: string;
  /** The other services of the server, left as they were. */
  untouched: string[];
}

export interface DatabaseRestoreProgress {
  server: string;
  phase: 'prepare' | 'dump' | 'swap' | 'done';
  message?: string;
}

/** Objects a table swap cannot carry across databases: --database refuses them rather than lose them. */
interface Extras {
  views: number;
  triggers: number;
  routines: number;
  events: number;
}

/** A database name with a suffix, within MariaDB's 64 characters. */
export function sideDatabase(database: string, role: 'restore' | 'before', stamp: string): string {
  return `${database.slice(0, 64 - role.length - stamp.length - 2)}_${role}_${stamp}`;
}

/** The one RENAME TABLE that swaps `staged` tables into `live` and moves the current ones to `kept`. Pure. */
export function swapStatement(
  live: string,
  staged: string,
  kept: string,
  liveTables: readonly string[],
  stagedTables: readonly string[],
): string | undefined {
  const pairs = [
    ...liveTables.map((t) => `${ident(live)}.${ident(t)} TO ${ident(kept)}.${ident(t)}`),
    ...stagedTables.map((t) => `${ident(staged)}.${ident(t)} TO ${ident(live)}.${ident(t)}`),
  ];
  return pairs.length ? `RENAME TABLE ${pairs.join(', ')}` : undefined;
}

async function extras(query: AdminSession['query'], database: string): Promise<Extras> {
  const [v, t, r, e] = await Promise.all([
    query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'VIEW'",
      [database],
    ),
    query<{ n: number }>('SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [database]),
    query<{ n: number }>('SELECT COUNT(*) AS n FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?', [database]),
    query<{ n: number }>('SELECT COUNT(*) AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?', [database]),
  ]);
  return {
    views: Number(v[0]?.n ?? 0),
    triggers: Number(t[0]?.n ?? 0),
    routines: Number(r[0]?.n ?? 0),
    events: Number(e[0]?.n ?? 0),
  };
}

function extrasText(x: Extras): string | undefined {
  const parts = Object.entries(x)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${n === 1 ? k.replace(/s$/, '') : k}`);
  return parts.length ? parts.join(', ') : undefined;
}

async function baseTables(query: AdminSession['query'], database: string): Promise<string[]> {
  const rows = await query<{ t: string }>(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SEQUENCE') ORDER BY 1",
    [database],
  );
  return rows.map((r) => r.t);
}

/** mariadb-dump of one database on the scratch server piped into the mariadb client on the live one. */
async function copyDatabase(
  server: string,
  scratchSocket: string,
  database: string,
  live: LocalServerState,
  into: string,
): Promise<void> {
  const from = await writeDefaultsFile(defaultsFileText({ user: 'root', socket: scratchSocket }, ['client']));
  const to = await writeDefaultsFile(
    defaultsFileText({ user: live.adminUser, socket: live.socket }, ['client'], undefined, [['database', into]]),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const env = toolEnv();
      const [dumpFile, dumpArgs] = diesWithParent('mariadb-dump', [
        `--defaults-file=${from.path}`,
        '--single-transaction',
        '--skip-triggers',
        '--no-create-db',
        '--skip-add-locks',
        '--skip-dump-date',
        '--hex-blob',
        '--skip-lock-tables',
        '--',
        database,
      ]);
      const [loadFile, loadArgs] = diesWithParent('mariadb', [
        `--defaults-file=${to.path}`,
        '--binary-mode',
        '--batch',
      ]);
      const dump = spawn(dumpFile, dumpArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const load = spawn(loadFile, loadArgs, { env, stdio: ['pipe', 'ignore', 'pipe'] });
      trackChild(dump.pid);
      trackChild(load.pid);
      let dumpErr = '';
      let loadErr = '';
      dump.stderr.on('data', (d: Buffer) => (dumpErr = (dumpErr + d.toString()).slice(-4096)));
      load.stderr.on('data', (d: Buffer) => (loadErr = (loadErr + d.toString()).slice(-4096)));
      dump.stdout.pipe(load.stdin);
      load.stdin.on('error', () => undefined);
      let dumpCode: number | null = null;
      let pending = 2;
      let failed = false;
      const fail = (what: string) => {
        if (failed) return;
        failed = true;
        reject(
          new OperationalError(`server "${server}": copying database ${database} from the backup failed: ${what}`, {
            server,
            hint: 'nothing was swapped: the current tables are in place; fix the cause and run the restore again',
          }),
        );
      };
      dump.on('error', (e) => fail(`cannot run mariadb-dump (${e.message})`));
      load.on('error', (e) => fail(`cannot run mariadb (${e.message})`));
      const done = () => {
        if (--pending > 0) return;
        if (dumpCode !== 0) return fail(`mariadb-dump: ${lastErrorLine(dumpErr)}`);
        if (!failed) resolve();
      };
      dump.on('close', (code) => {
        untrackChild(dump.pid);
        dumpCode = code;
        done();
      });
      load.on('close', (code) => {
        untrackChild(load.pid);
        if (code !== 0) return fail(`mariadb: ${lastErrorLine(loadErr)}`);
        done();
      });
    });
  } finally {
    await Promise.all([from.remove(), to.remove()]);
  }
}

/**
 * Restores `service`'s database from `entry` (its server's backup in the set at `setDir`) into the running
 * server described by `live`. The current tables end up in `keptAs`; on any failure they stay in place.
 * `failSwapForTest` (DBPS_TEST_FAIL_AT=restore-database:swap) adds a pair to the RENAME TABLE that cannot
 * succeed, to prove on a real server that a failed swap leaves the current tables where they were.
 */
export async function restoreDatabase(opts: {
  setDir: string;
  setId: string;
  entry: ServerBackup;
  service: FleetService;
  neighbours: string[];
  live: LocalServerState;
  workRoot: string;
  now?: Date;
  failSwapForTest?: boolean;
  onProgress?: (p: DatabaseRestoreProgress) => void;
}): Promise<DatabaseRestoreResult> {
  const { entry, service, live } = opts;
  const server = entry.server;
  const database = service.database;
  const progress = (phase: DatabaseRestoreProgress['phase'], message?: string) =>
    opts.onProgress?.({ server, phase, ...(message ? { message } : {}) });
  const stamp = (opts.now ?? new Date())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const staged = sideDatabase(database, 'restore', stamp);
  const kept = sideDatabase(database, 'before', stamp);

  const session = await connectAdmin({ server, socketPath: live.socket, user: live.adminUser }).catch((e: unknown) => {
    throw new OperationalError(`server "${server}" does not answer: ${(e as Error).message}`, {
      server,
      hint: `start it with \`dbps up ${server}\`, then run the restore again`,
    });
  });
  await mkdir(opts.workRoot, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(path.join(opts.workRoot, `database-${server}-`));
  trackScratchDir(work);
  let scratch: Awaited<ReturnType<typeof startScratchServer>> | undefined;
  let stagedMade = false;
  try {
    const liveExtras = extrasText(await extras(session.query, database));
    if (liveExtras)
      throw new OperationalError(
        `server "${server}": database ${database} holds ${liveExtras}; --database swaps tables only and would leave them behind`,
        { server, hint: `restore the whole server instead (\`dbps restore ${opts.setId} ${service.name}\`)` },
      );
    progress('prepare', 'preparing the backup in a scratch server');
    const datadir = path.join(work, 'data');
    const unprepared = await preparedCopy(opts.setDir, entry, datadir);
    if (unprepared) throw new OperationalError(`server "${server}": ${unprepared}`, { server });
    scratch = await startScratchServer(datadir, work, server);
    const { createConnection } = await import('mariadb');
    const c = await createConnection({ socketPath: scratch.socket, user: 'root', connectTimeout: 5000 });
    let setTables: string[];
    try {
      const q = async <T>(sql: string, params?: unknown[]) => (await c.query(sql, params)) as T[];
      const exists = await q<{ n: number }>(
        'SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
        [database],
      );
      if (Number(exists[0]?.n ?? 0) === 0)
        throw new OperationalError(`backup set ${opts.setId} holds no database ${database} on server "${server}"`, {
          server,
          hint: 'pick a set taken after the database was created (`dbps backups list`)',
        });
      const setExtras = extrasText(await extras(q, database));
      if (setExtras)
        throw new OperationalError(
          `server "${server}": in backup set ${opts.setId}, database ${database} holds ${setExtras}; --database swaps tables only`,
          { server, hint: `restore the whole server instead (\`dbps restore ${opts.setId} ${service.name}\`)` },
        );
      setTables = await baseTables(q, database);
    } finally {
      await c.end().catch(() => c.destroy());
    }

    progress('dump', `copying ${setTables.length} table${setTables.length === 1 ? '' : 's'} of ${database}`);
    const [schema] = await session.query<{ cs: string; co: string }>(
      'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [database],
    );
    const charset = schema ? ` CHARACTER SET ${ident(schema.cs)} COLLATE ${ident(schema.co)}` : '';
    if (!schema) await session.query(`CREATE DATABASE ${ident(database)}`);
    await session.query(`CREATE DATABASE ${ident(staged)}${charset}`);
    stagedMade = true;
    await copyDatabase(server, scratch.socket, database, live, staged);
    await scratch.stop();
    scratch = undefined;

    progress('swap', `swapping the restored tables into ${database}`);
    const liveTables = await baseTables(session.query, database);
    const stagedTables = await baseTables(session.query, staged);
    await session.query(`CREATE DATABASE ${ident(kept)}${charset}`);
    let swap = swapStatement(database, staged, kept, liveTables, stagedTables);
    if (swap && opts.failSwapForTest) swap += `, ${ident(staged)}.${ident('no such table')} TO ${ident(database)}.x`;
    try {
      if (swap) await session.query(swap);
    } catch (e) {
      await session.query(`DROP DATABASE IF EXISTS ${ident(kept)}`).catch(() => undefined);
      throw new OperationalError(
        `server "${server}": swapping the restored tables into ${database} failed: ${(e as Error).message}`,
        { server, hint: `nothing was swapped: ${database} holds its current tables; run the restore again` },
      );
    }
    await session.query(`DROP DATABASE ${ident(staged)}`);
    stagedMade = false;
    progress('done');
    return {
      service: service.name,
      server,
      database,
      tables: stagedTables.length,
      keptAs: kept,
      untouched: opts.neighbours,
    };
  } finally {
    await scratch?.stop().catch(() => undefined);
    // The staged copy is never left behind as if it were data (it holds nothing live).
    if (stagedMade) await session.query(`DROP DATABASE IF EXISTS ${ident(staged)}`).catch(() => undefined);
    await session.close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
    untrackScratchDir(work);
  }
}
