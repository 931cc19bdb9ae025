// The data path of `dbps move`: a consistent dump of one database piped into the target, then the
// target replicates that database's events from the source's binlog until the cut-over. Every step
// needs only an admin connection to each side (local socket or external host); credentials travel in
// 0600 option files and over the admin connection, never in argv.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { OperationalError } from '../errors.js';
import { ident, literal } from '../sql/quote.js';
import type { AdminSession, AdminTarget } from './admin.js';
import { type TempDefaultsFile, writeClientDefaults } from './client-defaults.js';
import { diesWithParent, trackChild, untrackChild } from './run-dir.js';

/** A server as the move sees it: admin access, and the address another server replicates from. */
export interface MoveEndpoint {
  server: string;
  admin: AdminTarget;
  /** host:port the target's replica thread connects to (a local server's TCP port on 127.0.0.1). */
  replicationAddress: { host: string; port: number };
  local: boolean;
}

/** Binlog coordinates (file, position) of a consistent point. */
export interface BinlogPoint {
  file: string;
  position: number;
}

/** The replication connection dbps uses on the target while a move catches up; never one of the user's. */
export const MOVE_CHANNEL = 'dbps_move';
/** The source account the target replicates as (REPLICATION SLAVE only), dropped after the move. */
export const MOVE_REPLICATION_USER = 'dbps_move';

function clientFile(t: AdminTarget): Promise<TempDefaultsFile> {
  return writeClientDefaults({
    user: t.user,
    ...(t.password !== undefined ? { password: t.password } : {}),
    ...(t.socketPath ? { socket: t.socketPath } : { host: t.host ?? '127.0.0.1', port: t.port ?? 3306 }),
  });
}

/** Parses mariadb-dump's `--master-data=2` comment: `-- CHANGE MASTER TO MASTER_LOG_FILE='f', MASTER_LOG_POS=n;`. */
export function dumpBinlogPoint(head: string): BinlogPoint | undefined {
  const m = /CHANGE MASTER TO MASTER_LOG_FILE='([^']+)',\s*MASTER_LOG_POS=(\d+)/.exec(head);
  return m ? { file: m[1]!, position: Number(m[2]) } : undefined;
}

export interface CopyResult {
  point: BinlogPoint | undefined;
  bytes: number;
}

/**
 * Streams `mariadb-dump --single-transaction --master-data=2` of one database on the source into the
 * `mariadb` client on the target database; returns the binlog point the snapshot was taken at.
 */
export async function copyDatabase(
  source: MoveEndpoint,
  sourceDb: string,
  target: MoveEndpoint,
  targetDb: string,
  opts: { binlog: boolean; env: NodeJS.ProcessEnv; onProgress: (bytes: number) => void },
): Promise<CopyResult> {
  const srcFile = await clientFile(source.admin);
  const tgtFile = await clientFile(target.admin);
  try {
    const dumpArgs = [
      `--defaults-extra-file=${srcFile.path}`,
      '--single-transaction',
      ...(opts.binlog ? ['--master-data=2'] : []),
      '--routines',
      '--events',
      '--triggers',
      '--hex-blob',
      '--skip-dump-date',
      '--max-allowed-packet=1G',
      '--',
      sourceDb,
    ];
    const loadArgs = [`--defaults-extra-file=${tgtFile.path}`, '--binary-mode', '--max-allowed-packet=1G', targetDb];
    const [dumpCmd, dumpArgv] = diesWithParent('mariadb-dump', dumpArgs);
    const [loadCmd, loadArgv] = diesWithParent('mariadb', loadArgs);
    const env = opts.env;
    const dump = spawn(dumpCmd, dumpArgv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const load = spawn(loadCmd, loadArgv, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    trackChild(dump.pid);
    trackChild(load.pid);
    let head = '';
    let bytes = 0;
    let lastReport = 0;
    let dumpErr = '';
    let loadErr = '';
    dump.stderr.on('data', (d: Buffer) => {
      dumpErr = (dumpErr + d.toString()).slice(-4096);
    });
    load.stderr.on('data', (d: Buffer) => {
      loadErr = (loadErr + d.toString()).slice(-4096);
    });
    dump.stdout.on('data', (d: Buffer) => {
      if (head.length < 65536) head += d.toString('latin1');
      bytes += d.length;
      if (bytes - lastReport > 8 * 1024 * 1024) {
        lastReport = bytes;
        opts.onProgress(bytes);
      }
    });
    dump.stdout.pipe(load.stdin);
    load.stdin.on('error', () => undefined);
    const exit = (c: ReturnType<typeof spawn>) =>
      new Promise<number | null>((resolve) => {
        c.on('error', () => resolve(127));
        c.on('close', (code) => {
          untrackChild(c.pid);
          resolve(code);
        });
      });
    const [dumpCode, loadCode] = await Promise.all([exit(dump), exit(load)]);
    if (dumpCode !== 0)
      throw new OperationalError(
        `server "${source.server}": mariadb-dump of database ${sourceDb} failed: ${lastLine(dumpErr) || `exit ${dumpCode}`}`,
        { server: source.server },
      );
    if (loadCode !== 0)
      throw new OperationalError(
        `server "${target.server}": loading database ${targetDb} failed: ${lastLine(loadErr) || `exit ${loadCode}`}`,
        { server: target.server },
      );
    return { point: dumpBinlogPoint(head), bytes };
  } finally {
    await srcFile.remove();
    await tgtFile.remove();
  }
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Warning: Using a password/i.test(l));
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

/**
 * Runs a statement that carries a secret in its text or parameters: a failure keeps only the server's
 * message, never the connector's error (which quotes the SQL and its parameters) as a cause.
 */
async function secretQuery(session: AdminSession, sql: string, params: unknown[] = []): Promise<void> {
  try {
    await session.connection.query(sql, params);
  } catch (e) {
    const code = (e as { errno?: number }).errno;
    throw new OperationalError(
      `server "${session.server}": ${(e as { sqlMessage?: string }).sqlMessage ?? 'statement failed'}${code ? ` (error ${code})` : ''}`,
      { server: session.server },
    );
  }
}

/** A fresh REPLICATION SLAVE account on the source for this move, with a random password. */
export async function createReplicationUser(
  source: AdminSession,
  host: string,
): Promise<{ user: string; host: string; password: string }> {
  const password = randomBytes(24).toString('base64url');
  await source.query(`DROP USER IF EXISTS ${literal(MOVE_REPLICATION_USER)}@${literal(host)}`);
  await secretQuery(source, `CREATE USER ${literal(MOVE_REPLICATION_USER)}@${literal(host)} IDENTIFIED BY ?`, [
    password,
  ]);
  await source.query(`GRANT REPLICATION SLAVE ON *.* TO ${literal(MOVE_REPLICATION_USER)}@${literal(host)}`);
  return { user: MOVE_REPLICATION_USER, host, password };
}

/** Drops the move's replication account (every host), ignoring one that is gone. */
export async function dropReplicationUser(source: AdminSession): Promise<void> {
  const rows = await source.query<{ Host: string }>('SELECT Host FROM mysql.user WHERE User = ?', [
    MOVE_REPLICATION_USER,
  ]);
  for (const r of rows) await source.query(`DROP USER IF EXISTS ${literal(MOVE_REPLICATION_USER)}@${literal(r.Host)}`);
}

/** Starts the target's replica of the one database from the dump's binlog point (renaming it when the names differ). */
export async function startCatchUp(
  target: AdminSession,
  from: MoveEndpoint,
  login: { user: string; password: string },
  point: BinlogPoint,
  sourceDb: string,
  targetDb: string,
): Promise<void> {
  await stopCatchUp(target);
  const ch = ident(MOVE_CHANNEL);
  await secretQuery(
    target,
    `CHANGE MASTER ${literal(MOVE_CHANNEL)} TO MASTER_HOST=${literal(from.replicationAddress.host)}, MASTER_PORT=${from.replicationAddress.port}, MASTER_USER=${literal(login.user)}, MASTER_PASSWORD=${literal(login.password)}, MASTER_LOG_FILE=${literal(point.file)}, MASTER_LOG_POS=${point.position}, MASTER_USE_GTID=no, MASTER_CONNECT_RETRY=1`,
  );
  // The rewrite happens before the filter: the filter names the database as the target calls it.
  if (sourceDb !== targetDb)
    await target.query(`SET GLOBAL ${ch}.replicate_rewrite_db = ?`, [`${sourceDb}->${targetDb}`]);
  await target.query(`SET GLOBAL ${ch}.replicate_do_db = ?`, [targetDb]);
  await target.query(`START SLAVE ${literal(MOVE_CHANNEL)}`);
}

/** Stops and forgets the move's replica connection on the target, if there is one. */
export async function stopCatchUp(target: AdminSession): Promise<void> {
  const rows = await target.query<{ Connection_name: string }>('SHOW ALL SLAVES STATUS');
  if (!rows.some((r) => r.Connection_name === MOVE_CHANNEL)) return;
  await target.query(`STOP SLAVE ${literal(MOVE_CHANNEL)}`);
  await target.query(`RESET SLAVE ${literal(MOVE_CHANNEL)} ALL`);
}

export interface CatchUpState {
  ioRunning: string;
  sqlRunning: string;
  secondsBehind: number | null;
  error?: string;
  executed: BinlogPoint;
}

/** Where the target's replica stands. */
export async function catchUpState(target: AdminSession): Promise<CatchUpState> {
  const [s] = await target.query<Record<string, unknown>>(`SHOW SLAVE ${literal(MOVE_CHANNEL)} STATUS`);
  if (!s) throw new OperationalError(`server "${target.server}": the move's replica connection is gone`);
  const sqlError = String(s.Last_SQL_Error ?? '');
  const ioError = Number(s.Last_IO_Errno ?? 0) !== 0 ? String(s.Last_IO_Error ?? '') : '';
  const error = sqlError || (String(s.Slave_IO_Running) === 'No' ? ioError : '');
  return {
    ioRunning: String(s.Slave_IO_Running),
    sqlRunning: String(s.Slave_SQL_Running),
    secondsBehind: s.Seconds_Behind_Master === null ? null : Number(s.Seconds_Behind_Master),
    ...(error ? { error } : {}),
    executed: { file: String(s.Relay_Master_Log_File), position: Number(s.Exec_Master_Log_Pos) },
  };
}

/** The source's current binlog end (SHOW MASTER STATUS); undefined when log_bin is off. */
export async function binlogEnd(source: AdminSession): Promise<BinlogPoint | undefined> {
  const [row] = await source.query<{ File: string; Position: number }>('SHOW MASTER STATUS');
  return row ? { file: row.File, position: Number(row.Position) } : undefined;
}

/** Waits until the target has applied the source's events up to `point`; false after timeoutSeconds. */
export async function waitApplied(target: AdminSession, point: BinlogPoint, timeoutSeconds: number): Promise<boolean> {
  const [row] = await target.query<{ r: number | null }>(`SELECT MASTER_POS_WAIT(?, ?, ?, ?) AS r`, [
    point.file,
    point.position,
    timeoutSeconds,
    MOVE_CHANNEL,
  ]);
  return row?.r !== null && row?.r !== undefined && Number(row.r) >= 0;
}
