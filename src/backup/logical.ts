// Logical backups: one `mariadb-dump --single-transaction` of a server's service databases, streamed
// through zstd into the set and hashed on the way, with the dump's own consistent binlog position; and
// their restore: checksum first, load into scratch databases, then swap every table in by RENAME TABLE
// and create the triggers, views, routines and events under the real names. Works for every server
// dbps can reach over SQL (external ones, and local ones with `--method logical`).
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { OperationalError } from '../errors.js';
import type { AdminSession, AdminTarget } from '../runtime/admin.js';
import { clientOptionText } from '../runtime/client-defaults.js';
import { ServerTimeoutError, TlsConnectionError } from '../runtime/failures.js';
import { fanOutJobs, type Timeouts } from '../runtime/fanout.js';
import { diesWithParent, trackChild, untrackChild } from '../runtime/run-dir.js';
import { ident } from '../sql/quote.js';
import { killHere } from '../util/test-kill.js';
import { type ArchiveReplayOptions, planArchiveReplay, replayArchivedBinlogs } from './archive-replay.js';
import { type DumpPosition, DumpRouter, LineSplitter, parseDumpPosition } from './dump-text.js';
import { sha256File } from './files.js';
import type { ServerBackup } from './manifest.js';
import { type Credentials, lastErrorLine, toolEnv, writeDefaultsFile } from './proc.js';
import { watchStall } from './stall-watch.js';

/** One server to dump: where it answers, as which account, and which databases are its services'. */
export interface LogicalTarget {
  server: string;
  services: string[];
  databases: string[];
  credentials: Credentials;
  history?: string;
  /**
   * --timeout of the command: connecting, each statement, and the dump itself, which is ended when
   * mariadb-dump reads and writes nothing for the statement bound (a frozen host, a cut link).
   */
  timeouts?: Timeouts;
}

/** The mariadb-dump options of every logical backup (the bench runs the same by hand). */
export function dumpArgs(databases: string[], logBin: boolean): string[] {
  return [
    '--single-transaction',
    ...(logBin ? ['--master-data=2', '--gtid'] : []),
    '--routines',
    '--triggers',
    '--events',
    '--hex-blob',
    '--max-allowed-packet=1G',
    '--databases',
    ...databases,
  ];
}

interface Spawned {
  child: ChildProcess;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnTool(cmd: string, args: string[], stdio: ('pipe' | 'ignore' | Readable)[]): Spawned {
  const [file, argv] = diesWithParent(cmd, args);
  const child = spawn(file, argv, { env: toolEnv(), stdio: stdio as StdioOptions });
  trackChild(child.pid);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8192);
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('error', (e) => {
      untrackChild(child.pid);
      err += `\n${(e as NodeJS.ErrnoException).code === 'ENOENT' ? `${cmd} is not installed or not on PATH` : e.message}`;
      resolve({ code: 127, signal: null });
    });
    child.on('close', (code, signal) => {
      untrackChild(child.pid);
      resolve({ code, signal });
    });
  });
  return { child, stderr: () => err, done };
}

/** The first 64 KiB of a dump's SQL (its header), decompressed without reading the rest. */
async function dumpHead(file: string): Promise<string> {
  const z = spawnTool('zstd', ['-dc', '-q', file], ['ignore', 'pipe', 'pipe']);
  let text = '';
  for await (const chunk of z.child.stdout! as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length >= 65536) break;
  }
  z.child.kill('SIGTERM');
  await z.done;
  return text;
}

/** The GTID position of a binlog position, asked as the backup account (no privilege needed). */
async function gtidAt(t: LogicalTarget, p: DumpPosition): Promise<string | undefined> {
  const c = await backupAccountSession(t);
  try {
    const rows = await c.query<{ g: string | null }>('SELECT BINLOG_GTID_POS(?, ?) AS g', [p.file, p.pos]);
    return rows[0]?.g || undefined;
  } finally {
    await c.close();
  }
}

/** A session as the backup account, every wait bounded by the command's timeouts (as admin sessions are). */
async function backupAccountSession(t: LogicalTarget): Promise<AdminSession> {
  const { connectAdmin } = await import('../runtime/admin.js');
  const c = t.credentials;
  return connectAdmin({
    server: t.server,
    user: c.user,
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.socket
      ? { socketPath: c.socket }
      : { host: c.host ?? '127.0.0.1', port: c.port ?? 3306, ...(c.tls ? { tls: c.tls } : {}) }),
    connectTimeout: t.timeouts?.connectMs ?? 5000,
    ...(t.timeouts ? { statementTimeout: t.timeouts.statementMs } : {}),
  });
}

/** Server version and whether it writes a binlog, asked as the backup account before the dump. */
export async function logicalPreflight(t: LogicalTarget): Promise<{ version: string; logBin: boolean }> {
  let c: AdminSession;
  const where = t.credentials.socket ?? `${t.credentials.host}:${t.credentials.port ?? 3306}`;
  try {
    c = await backupAccountSession(t);
  } catch (e) {
    // A TLS failure or a timeout already says what is wrong, as for the admin's own sessions.
    if (e instanceof TlsConnectionError || e instanceof ServerTimeoutError) throw e;
    const cause = ((e as { cause?: unknown }).cause ?? e) as { sqlMessage?: string; code?: string; message?: string };
    const text = cause.sqlMessage ?? cause.code ?? cause.message;
    throw new OperationalError(`server "${t.server}" is not reachable as ${t.credentials.user} at ${where} (${text})`, {
      server: t.server,
      hint: 'check the server answers (`dbps status`) and that `dbps provision` created the backup account for the host dbps connects from (backupHost:)',
    });
  }
  try {
    const rows = await c.query<{ v: string; b: number | bigint }>('SELECT VERSION() AS v, @@log_bin AS b');
    return { version: rows[0]!.v, logBin: Number(rows[0]!.b) === 1 };
  } finally {
    await c.close();
  }
}

/**
 * Dumps one server into `<setDir>/<rel>.sql.zst`: mariadb-dump's output passes through this process on
 * its way to zstd (so the header and trailer can be read for the position), and zstd's output is hashed
 * as it is written. Fills the entry's path, size, checksum and position; throws an OperationalError
 * with the tool's own last error line (the file is removed then).
 */
export async function dumpServer(
  t: LogicalTarget,
  setDir: string,
  rel: string,
  logBin: boolean,
  entry: ServerBackup,
): Promise<void> {
  const file = path.join(setDir, `${rel}.sql.zst`);
  const cred = await writeDefaultsFile(
    // mariadb-dump reads [client] and [mariadb-dump]; one group is enough.
    clientOptionText({
      user: t.credentials.user,
      ...(t.credentials.password !== undefined ? { password: t.credentials.password } : {}),
      ...(t.credentials.socket
        ? { socket: t.credentials.socket }
        : {
            host: t.credentials.host!,
            port: t.credentials.port ?? 3306,
            ...(t.credentials.tls ? { tls: t.credentials.tls } : {}),
          }),
    }),
  );
  const hash = createHash('sha256');
  try {
    const dump = spawnTool(
      'mariadb-dump',
      [`--defaults-file=${cred.path}`, ...dumpArgs(t.databases, logBin)],
      ['ignore', 'pipe', 'pipe'],
    );
    // mariadb-dump writes straight into zstd (an OS pipe: the SQL never passes through this process);
    // only zstd's compressed output does, to be hashed as it is written.
    const zstd = spawnTool('zstd', ['-q', '-T0', '-c'], [dump.child.stdout!, 'pipe', 'pipe']);
    // zstd holds the pipe now; this process's end of it would only keep mariadb-dump's 'close' from firing.
    dump.child.stdout!.destroy();
    const out = createWriteStream(file, { mode: 0o600 });
    const written = new Promise<void>((resolve, reject) => {
      out.on('finish', resolve);
      out.on('error', reject);
    });
    zstd.child.stdout!.on('data', (d: Buffer) => {
      hash.update(d);
    });
    zstd.child.stdout!.pipe(out);
    // A dump that stops making progress (a frozen host, a cut link) is ended: mariadb-dump has no read
    // timeout of its own and would wait on its socket forever.
    const stall = watchStall(dump.child.pid, t.timeouts?.statementMs, () => dump.child.kill('SIGKILL'));
    const d = await dump.done;
    stall.stop();
    if (d.code !== 0) zstd.child.kill('SIGTERM');
    const z = await zstd.done;
    await written.catch(() => undefined);
    if (stall.stalled) {
      const e = new ServerTimeoutError(t.server, 'statement', t.timeouts!.statementMs, 'mariadb-dump');
      e.message += ' (the dump made no progress); the dump was ended and its partial file removed';
      throw e;
    }
    if (d.code !== 0)
      throw new OperationalError(
        `mariadb-dump failed on server "${t.server}"${d.signal ? ` (${d.signal})` : ''}: ${lastErrorLine(dump.stderr())}`,
        { server: t.server },
      );
    if (z.code !== 0)
      throw new OperationalError(`zstd failed for server "${t.server}": ${lastErrorLine(zstd.stderr())}`, {
        server: t.server,
      });
  } catch (e) {
    await rm(file, { force: true });
    throw e;
  } finally {
    await cred.remove();
  }
  let position: DumpPosition | null = null;
  if (logBin) {
    // The file and position mariadb-dump wrote into its header inside the snapshot; the GTID is that
    // position's (BINLOG_GTID_POS, the very query mariadb-dump runs to write its gtid_slave_pos trailer).
    position = parseDumpPosition(await dumpHead(file), '');
    if (position) {
      const gtid = await gtidAt(t, position);
      if (gtid) position.gtid = gtid;
    }
  }
  if (logBin && !position) {
    await rm(file, { force: true });
    throw new OperationalError(`server "${t.server}": the dump holds no binlog position (CHANGE MASTER header)`, {
      server: t.server,
    });
  }
  entry.method = 'logical';
  entry.databases = t.databases;
  entry.position = position;
  entry.path = `${rel}.sql.zst`;
  entry.sizeBytes = (await stat(file)).size;
  entry.checksum = hash.digest('hex');
  entry.prepared = true;
  await writeFile(`${file}.sha256`, `${entry.checksum}  ${path.basename(file)}\n`);
}

// ---------------------------------------------------------------------------------------------------
// Restore

/** The scratch database a restore loads `db` into, and the one the previous tables move to. */
export function restoreNames(db: string, setId: string): { scratch: string; old: string } {
  // Names stay within MariaDB's 64 characters: the set id's digits, and the database name cut to fit.
  const tag = setId.replace(/[^0-9A-Za-z]/g, '').slice(-15);
  const keep = 64 - '__restore_'.length - tag.length;
  return { scratch: `${db.slice(0, keep)}__restore_${tag}`, old: `${db.slice(0, keep - 2)}__old_${tag}` };
}

export interface LogicalRestoreTarget {
  /** The server the data goes into (the backed-up one, or --target-server). */
  server: string;
  admin: AdminTarget;
  /** Databases to restore (a subset of the entry's). */
  databases: string[];
}

export interface LogicalRestoreProgress {
  server: string;
  phase: 'checksum' | 'load' | 'replay' | 'swap' | 'objects' | 'rollback' | 'done';
  message?: string;
}

interface LoadedServer {
  target: LogicalRestoreTarget;
  entry: ServerBackup;
  /** Per database: the objects part (triggers, views, routines, events), executed in the real database after the swap. */
  objects: Map<string, string[]>;
  header: string[];
}

/** A client's connection settings from an admin target (for the mariadb client of a replay). */
function credentialsOf(t: AdminTarget): Credentials {
  return {
    user: t.user,
    ...(t.password !== undefined ? { password: t.password } : {}),
    ...(t.socketPath
      ? { socket: t.socketPath }
      : { host: t.host ?? '127.0.0.1', port: t.port ?? 3306, ...(t.tls ? { tls: t.tls } : {}) }),
  };
}

async function openSession(target: AdminTarget): Promise<AdminSession> {
  const { connectAdmin } = await import('../runtime/admin.js');
  return connectAdmin(target);
}

function adminOptionText(a: AdminTarget): string {
  return clientOptionText({
    user: a.user,
    ...(a.password !== undefined ? { password: a.password } : {}),
    ...(a.socketPath
      ? { socket: a.socketPath }
      : { host: a.host ?? '127.0.0.1', port: a.port ?? 3306, ...(a.tls ? { tls: a.tls } : {}) }),
  });
}

/** Runs SQL text through the mariadb client as admin; throws with the client's last error line. */
async function runClient(
  server: string,
  admin: AdminTarget,
  database: string | undefined,
  feed: (stdin: NodeJS.WritableStream) => Promise<void>,
): Promise<void> {
  const cred = await writeDefaultsFile(adminOptionText(admin));
  try {
    const client = spawnTool(
      'mariadb',
      [
        `--defaults-file=${cred.path}`,
        '--batch',
        '--binary-mode',
        '--max-allowed-packet=1G',
        ...(database ? [`--database=${database}`] : []),
      ],
      ['pipe', 'ignore', 'pipe'],
    );
    client.child.stdin!.on('error', () => undefined);
    // Bounded like the dump: a client that reads and writes nothing for the statement bound waits on a
    // server that stopped answering.
    const stall = watchStall(client.child.pid, admin.statementTimeout, () => client.child.kill('SIGKILL'));
    let fed: unknown;
    await feed(client.child.stdin!).catch((e: unknown) => {
      fed = e;
      client.child.kill('SIGTERM');
    });
    client.child.stdin!.end();
    const r = await client.done;
    stall.stop();
    if (stall.stalled)
      throw new ServerTimeoutError(server, 'statement', admin.statementTimeout!, 'the mariadb client loading SQL');
    if (fed) throw fed;
    if (r.code !== 0)
      throw new OperationalError(`server "${server}": loading the dump failed: ${lastErrorLine(client.stderr())}`, {
        server,
      });
  } finally {
    await cred.remove();
  }
}

/** Writes to the client's stdin; rejects once the client is gone (killed, or exited), never waits forever. */
function write(stdin: NodeJS.WritableStream, text: string): Promise<void> {
  const s = stdin as Writable;
  if (s.destroyed) return Promise.reject(new Error('the mariadb client ended before all SQL was sent'));
  return new Promise((resolve, reject) => {
    if (s.write(text)) return resolve();
    const drained = () => {
      s.off('close', closed);
      resolve();
    };
    const closed = () => {
      s.off('drain', drained);
      reject(new Error('the mariadb client ended before all SQL was sent'));
    };
    s.once('drain', drained);
    s.once('close', closed);
  });
}

/** Checks the dump file against the manifest's sha256 before anything on a server changes. */
export async function checkDumpChecksum(setDir: string, entry: ServerBackup): Promise<void> {
  const file = path.join(setDir, entry.path!);
  let actual: string;
  try {
    actual = await sha256File(file);
  } catch (e) {
    throw new OperationalError(`server "${entry.server}": the dump ${file} cannot be read (${(e as Error).message})`, {
      server: entry.server,
      hint: 'restore another set (`dbps backups list`); nothing was changed',
    });
  }
  if (actual !== entry.checksum)
    throw new OperationalError(
      `server "${entry.server}": the dump ${entry.path} does not match its recorded sha256 (damaged or changed since the backup); nothing was changed`,
      { server: entry.server, hint: 'restore another set (`dbps backups list`)' },
    );
}

/**
 * Loads the tables and rows of the selected databases into fresh scratch databases (a killed or failed
 * load leaves the real databases untouched) and keeps the rest of the dump for after the swap.
 */
async function loadServer(
  setDir: string,
  setId: string,
  entry: ServerBackup,
  target: LogicalRestoreTarget,
): Promise<LoadedServer> {
  const wanted = new Set(target.databases);
  const session = await openSession(target.admin);
  try {
    for (const db of target.databases) {
      const { scratch, old } = restoreNames(db, setId);
      // Leftovers of a killed restore of this very set: scratch copies only, never a real database.
      await session.query(`DROP DATABASE IF EXISTS ${ident(scratch)}`);
      const rows = await session.query<{ c: string; l: string }>(
        'SELECT DEFAULT_CHARACTER_SET_NAME AS c, DEFAULT_COLLATION_NAME AS l FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
        [db],
      );
      const spec = rows[0] ? ` CHARACTER SET ${rows[0].c} COLLATE ${rows[0].l}` : '';
      await session.query(`CREATE DATABASE ${ident(scratch)}${spec}`);
      const leftOld = await session.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [old]);
      if (leftOld.length)
        throw new OperationalError(
          `server "${target.server}": database ${old} holds the tables of an earlier, unfinished restore of set ${setId}`,
          {
            server: target.server,
            hint: `check ${db} and ${old} by hand; drop ${old} once ${db} is as it should be, then run restore again`,
          },
        );
    }
  } finally {
    await session.close();
  }
  const objects = new Map<string, string[]>(target.databases.map((d) => [d, []]));
  const header: string[] = [];
  const router = new DumpRouter();
  const splitter = new LineSplitter();
  let lines = 0;
  let decompress: Spawned | undefined;
  await runClient(target.server, target.admin, undefined, async (stdin) => {
    // Spawned here and read at once: a child's output not read before it exits is lost.
    const z = spawnTool('zstd', ['-dc', '-q', path.join(setDir, entry.path!)], ['ignore', 'pipe', 'pipe']);
    decompress = z;
    z.child.stdout!.setEncoding('utf8');
    const chunks = (z.child.stdout! as AsyncIterable<string>)[Symbol.asyncIterator]();
    let current: string | undefined;
    const handle = async (line: string) => {
      const part = router.route(line);
      const db = router.database;
      if (part === 'skip') return;
      if (part === 'both') {
        if (db === undefined) header.push(line);
        await write(stdin, `${line}\n`);
        return;
      }
      if (db === undefined || !wanted.has(db)) return;
      if (part === 'objects') {
        objects.get(db)!.push(line);
        return;
      }
      if (current !== db) {
        current = db;
        await write(stdin, `USE ${ident(restoreNames(db, setId).scratch)};\n`);
      }
      await write(stdin, `${line}\n`);
      if (++lines === 200) killHere('restore:logical-load');
    };
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      for (const line of splitter.push(next.value)) await handle(line);
    }
    for (const line of splitter.end()) await handle(line);
    const done = await z.done;
    if (done.code !== 0)
      throw new OperationalError(
        `server "${target.server}": cannot decompress ${entry.path}: ${lastErrorLine(z.stderr())}`,
        {
          server: target.server,
        },
      );
    // Nothing is swapped in from a dump that stops short (its last line is mariadb-dump's own).
    if (!router.completed)
      throw new OperationalError(
        `server "${target.server}": the dump ${entry.path} ends before mariadb-dump's "Dump completed" line`,
        {
          server: target.server,
          hint: 'restore another set (`dbps backups list`); nothing was changed',
        },
      );
  }).catch(async (e: unknown) => {
    decompress?.child.kill('SIGTERM');
    // A server that stopped answering is not waited on again; the next restore of this set drops the
    // scratch copies it left (above), and the real databases were never touched.
    if (!(e instanceof ServerTimeoutError)) await dropScratch(target, setId);
    throw e;
  });
  return { target, entry, objects, header };
}

async function dropScratch(target: LogicalRestoreTarget, setId: string): Promise<void> {
  const session = await openSession(target.admin).catch(() => undefined);
  if (!session) return;
  try {
    for (const db of target.databases)
      await session.query(`DROP DATABASE IF EXISTS ${ident(restoreNames(db, setId).scratch)}`).catch(() => undefined);
  } finally {
    await session.close();
  }
}

interface SavedObject {
  kind: 'TRIGGER' | 'VIEW' | 'PROCEDURE' | 'FUNCTION' | 'EVENT';
  name: string;
  sqlMode: string;
  create: string;
}

/** Definitions of every trigger, view, routine and event of a database, to drop before the swap and re-create on rollback. */
async function saveObjects(session: AdminSession, db: string): Promise<SavedObject[]> {
  const out: SavedObject[] = [];
  const q = (sql: string) => session.query<Record<string, string>>(sql, [db]);
  const names = {
    TRIGGER: await q('SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?'),
    VIEW: await q('SELECT TABLE_NAME AS n FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?'),
    PROCEDURE: await q(
      "SELECT ROUTINE_NAME AS n FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = 'PROCEDURE'",
    ),
    FUNCTION: await q(
      "SELECT ROUTINE_NAME AS n FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = 'FUNCTION'",
    ),
    EVENT: await q('SELECT EVENT_NAME AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?'),
  };
  for (const [kind, rows] of Object.entries(names) as [SavedObject['kind'], Record<string, string>[]][]) {
    for (const r of rows) {
      const name = String(r.n);
      const [row] = await session.query<Record<string, string>>(`SHOW CREATE ${kind} ${ident(db)}.${ident(name)}`);
      if (!row) continue;
      const create =
        row['SQL Original Statement'] ??
        row['Create View'] ??
        row['Create Procedure'] ??
        row['Create Function'] ??
        row['Create Event'] ??
        '';
      out.push({ kind, name, sqlMode: String(row.sql_mode ?? ''), create: String(create) });
    }
  }
  return out;
}

async function dropObjects(session: AdminSession, db: string, objects: SavedObject[]): Promise<void> {
  for (const o of objects) {
    const what = o.kind === 'VIEW' ? 'VIEW' : o.kind;
    await session.query(`DROP ${what} IF EXISTS ${ident(db)}.${ident(o.name)}`);
  }
}

/** Re-creates saved objects; returns those that could not be (a view over a table gone since), never throws for one. */
async function createObjects(session: AdminSession, db: string, objects: SavedObject[]): Promise<string[]> {
  await session.query(`USE ${ident(db)}`);
  const failed: string[] = [];
  // Views last: they may read through each other, and triggers need their tables back first.
  for (const o of [...objects].sort((a, b) => Number(a.kind === 'VIEW') - Number(b.kind === 'VIEW'))) {
    try {
      await session.query('SET SESSION sql_mode = ?', [o.sqlMode]);
      await session.query(o.create);
    } catch (e) {
      failed.push(`${o.kind.toLowerCase()} ${db}.${o.name} (${(e as Error).message.replace(/^server "[^"]*": /, '')})`);
    }
  }
  return failed;
}

async function tablesOf(session: AdminSession, db: string): Promise<string[]> {
  const rows = await session.query<{ n: string }>(
    "SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW' ORDER BY TABLE_NAME",
    [db],
  );
  return rows.map((r) => String(r.n));
}

interface Swapped {
  server: LoadedServer;
  db: string;
  saved: SavedObject[];
  oldTables: string[];
  newTables: string[];
}

/** One RENAME TABLE moves the previous tables aside and the restored ones in: atomic, all or nothing. */
async function swapDatabase(session: AdminSession, s: LoadedServer, db: string, setId: string): Promise<Swapped> {
  const { scratch, old } = restoreNames(db, setId);
  await session.query(`CREATE DATABASE IF NOT EXISTS ${ident(db)}`);
  const saved = await saveObjects(session, db);
  const oldTables = await tablesOf(session, db);
  const newTables = await tablesOf(session, scratch);
  await session.query(`CREATE DATABASE ${ident(old)}`);
  // Triggers cannot move with their table to another database, views cannot be renamed across
  // databases: both are dropped here (saved above) and come back from the dump (or, on rollback, from `saved`).
  await dropObjects(session, db, saved);
  const pairs = [
    ...oldTables.map((t) => `${ident(db)}.${ident(t)} TO ${ident(old)}.${ident(t)}`),
    ...newTables.map((t) => `${ident(scratch)}.${ident(t)} TO ${ident(db)}.${ident(t)}`),
  ];
  try {
    if (pairs.length) await session.query(`RENAME TABLE ${pairs.join(', ')}`);
  } catch (e) {
    await createObjects(session, db, saved).catch(() => undefined);
    await session.query(`DROP DATABASE IF EXISTS ${ident(old)}`).catch(() => undefined);
    throw e;
  }
  return { server: s, db, saved, oldTables, newTables };
}

/** Puts the previous tables and objects back after a failure later in the restore. */
async function unswap(session: AdminSession, w: Swapped, setId: string): Promise<string[]> {
  const { scratch, old } = restoreNames(w.db, setId);
  const current = await saveObjects(session, w.db);
  await dropObjects(session, w.db, current);
  const pairs = [
    ...w.newTables.map((t) => `${ident(w.db)}.${ident(t)} TO ${ident(scratch)}.${ident(t)}`),
    ...w.oldTables.map((t) => `${ident(old)}.${ident(t)} TO ${ident(w.db)}.${ident(t)}`),
  ];
  if (pairs.length) await session.query(`RENAME TABLE ${pairs.join(', ')}`);
  const failed = await createObjects(session, w.db, w.saved);
  await session.query(`DROP DATABASE IF EXISTS ${ident(old)}`);
  return failed;
}

export interface LogicalRestoreResult {
  server: string;
  /** The server the set's entry was taken from (differs with --target-server). */
  from: string;
  databases: string[];
  position?: DumpPosition | null;
}

/**
 * Restores logical entries: every checksum first, then every load (all servers before any swap), then
 * the swaps; any failure puts every database already swapped back and drops the scratch copies, so the
 * previous data stays in place and readable.
 */
export async function restoreLogical(opts: {
  setDir: string;
  setId: string;
  items: { entry: ServerBackup; target: LogicalRestoreTarget }[];
  /** Roll each server forward to this moment with its archived binlogs (`dbps binlogs pull/follow`). */
  toTime?: Date;
  /** The backup root whose binlogs/ archive the replay reads (needed with toTime). */
  backupRoot?: string;
  onProgress?: (p: LogicalRestoreProgress) => void;
}): Promise<LogicalRestoreResult[]> {
  for (const { entry, target } of opts.items) {
    opts.onProgress?.({ server: target.server, phase: 'checksum' });
    await checkDumpChecksum(opts.setDir, entry);
  }
  // Every replay is planned before anything is loaded: a window the archive does not cover is refused
  // while every database is as it was.
  const replays = new Map<string, ArchiveReplayOptions>();
  if (opts.toTime) {
    for (const { entry, target } of opts.items) {
      if (!entry.position)
        throw new OperationalError(
          `server "${entry.server}": its logical backup in set ${opts.setId} has no binlog position (log_bin was off), so it cannot be rolled forward to a point in time; nothing was changed`,
          { server: entry.server, hint: 'restore the set without --to-time' },
        );
      const replay: ArchiveReplayOptions = {
        server: entry.server,
        backupRoot: opts.backupRoot ?? path.dirname(opts.setDir),
        from: { file: entry.position.file, position: entry.position.pos },
        pointAt: new Date(entry.copyEndedAt ?? entry.endedAt),
        toTime: opts.toTime,
        target: credentialsOf(target.admin),
        ...(target.admin.statementTimeout ? { statementTimeoutMs: target.admin.statementTimeout } : {}),
        databases: Object.fromEntries(target.databases.map((db) => [db, restoreNames(db, opts.setId).scratch])),
      };
      await planArchiveReplay(replay);
      replays.set(target.server, replay);
    }
  }
  const loaded: LoadedServer[] = [];
  try {
    // Through the fleet fan-out: every server loads at once, each bounded (a server that stops answering
    // fails alone, after --timeout), and the error says which servers failed and which had loaded.
    const outcomes = await fanOutJobs(
      opts.items.map(({ target }) => ({ server: target.server, label: target.server })),
      (i) => {
        const { entry, target } = opts.items[i]!;
        opts.onProgress?.({ server: target.server, phase: 'load' });
        return loadServer(opts.setDir, opts.setId, entry, target);
      },
      {},
    );
    for (const o of outcomes) if (o.ok) loaded.push(o.value);
    const failed = outcomes.flatMap((o) => (o.ok ? [] : [o]));
    if (failed.length) {
      const e = failed[0]!.error;
      const also = failed.slice(1).map((f) => f.failure.message);
      const done = loaded.map((l) => `"${l.target.server}"`);
      if (e instanceof Error)
        e.message += `${also.length ? `; also: ${also.join('; ')}` : ''}; nothing was swapped in: every server keeps its previous data${done.length ? ` (${done.join(', ')} had loaded; their scratch copies are dropped)` : ''}`;
      throw e;
    }
  } catch (e) {
    for (const l of loaded) await dropScratch(l.target, opts.setId);
    throw e;
  }

  // Point in time: each server's archived binlogs, from its dump's own position to --to-time, into the
  // scratch databases (events of every other database left out), after the load and before the swap.
  try {
    for (const l of loaded) {
      const replay = replays.get(l.target.server);
      if (!replay) continue;
      opts.onProgress?.({ server: l.target.server, phase: 'replay', message: opts.toTime!.toISOString() });
      await replayArchivedBinlogs(replay);
    }
  } catch (e) {
    for (const l of loaded) await dropScratch(l.target, opts.setId);
    throw e;
  }

  const swapped: Swapped[] = [];
  const sessions = new Map<string, AdminSession>();
  try {
    for (const l of loaded) {
      const session = await openSession(l.target.admin);
      sessions.set(l.target.server, session);
      for (const db of l.target.databases) {
        opts.onProgress?.({ server: l.target.server, phase: 'swap', message: db });
        swapped.push(await swapDatabase(session, l, db, opts.setId));
      }
      // Objects after every table of the server is in place: a view or routine may read another restored database.
      for (const db of l.target.databases) {
        opts.onProgress?.({ server: l.target.server, phase: 'objects', message: db });
        await runClient(l.target.server, l.target.admin, db, async (stdin) => {
          for (const line of l.header) await write(stdin, `${line}\n`);
          for (const line of l.objects.get(db) ?? []) await write(stdin, `${line}\n`);
        });
      }
    }
  } catch (e) {
    for (const w of [...swapped].reverse()) {
      const session = sessions.get(w.server.target.server)!;
      opts.onProgress?.({ server: w.server.target.server, phase: 'rollback', message: w.db });
      await unswap(session, w, opts.setId).then(
        (failed) => {
          if (failed.length)
            (e as Error).message +=
              `; the previous tables of ${w.db} are back, but ${failed.slice(0, 3).join(', ')}${failed.length > 3 ? ` and ${failed.length - 3} more` : ''} could not be re-created`;
        },
        (err: unknown) => {
          // A rollback that fails leaves the previous tables in <db>__old_<id>: say where.
          const { old } = restoreNames(w.db, opts.setId);
          (e as Error).message +=
            `; putting ${w.db} back failed (${(err as Error).message}): its previous tables are in ${old}`;
        },
      );
    }
    for (const s of sessions.values()) await s.close();
    for (const l of loaded) await dropScratch(l.target, opts.setId);
    throw e;
  }
  for (const w of swapped) {
    const session = sessions.get(w.server.target.server)!;
    const { scratch, old } = restoreNames(w.db, opts.setId);
    await session.query(`DROP DATABASE IF EXISTS ${ident(old)}`);
    await session.query(`DROP DATABASE IF EXISTS ${ident(scratch)}`);
  }
  for (const s of sessions.values()) await s.close();
  return loaded.map((l) => {
    opts.onProgress?.({ server: l.target.server, phase: 'done' });
    return {
      server: l.target.server,
      from: l.entry.server,
      databases: l.target.databases,
      position: l.entry.position ?? null,
    };
  });
}
