// Copies a server's binlogs into the archive over the network (the replication protocol, through
// `mariadb-binlog --read-from-remote-server --raw`), as the backup account. `pull` fetches every file
// from the first one not yet archived whole up to the end of the current one and exits; `follow` keeps
// the stream open, appending whole events to the current file's `.partial` copy as they arrive, and
// reconnects after a drop. A file is stored under its own name only once it is whole; the index is
// written after each file, so a kill at any moment leaves an archive that the next run completes.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { OperationalError } from '../errors.js';
import { ServerTimeoutError } from '../runtime/failures.js';
import { acquireLock, type HeldLock } from '../runtime/lock.js';
import { diesWithParent, trackChild, untrackChild } from '../runtime/run-dir.js';
import {
  type ArchiveFile,
  type ArchiveGap,
  type ArchiveHistory,
  type ArchiveIndex,
  historyOf,
  PARTIAL_SUFFIX,
  putFile,
  readArchiveIndex,
  serverArchiveDir,
  writeArchiveIndex,
} from './archive.js';
import { type BinlogScan, scanBinlog } from './binlog-events.js';
import { splitBinlogName } from './binlog-info.js';
import { newHistoryId } from './manifest.js';
import {
  type Credentials,
  connectorOptions,
  defaultsFileText,
  lastErrorLine,
  toolEnv,
  writeDefaultsFile,
} from './proc.js';

export interface BinlogSource {
  server: string;
  /** The backup account and where to reach the server (socket for local servers, host and port otherwise). */
  credentials: Credentials;
  /**
   * The binlog history state.json records (local servers: authoritative, it changes at every restore).
   * Undefined for external servers: the archive tells histories apart itself (a file of a known name
   * with another identity or size, or names that went backwards, begin a new one).
   */
  history?: string;
}

export interface PullResult {
  server: string;
  history: string;
  /** Files archived whole by this run. */
  archived: string[];
  /** The current file's copy, cut at an event boundary. */
  partial?: { file: string; size: number; coveredUntil: string };
  /** Set when another dbps process (a `binlogs follow`) archives this server: nothing was done. */
  skipped?: string;
  gap?: ArchiveGap;
  warnings: string[];
}

interface ServerLog {
  name: string;
  size: number;
}

export interface PullOptions {
  now?: () => Date;
  /**
   * A fetch that receives nothing for this long is ended and reported, and the longest wait for an
   * answer to SHOW BINARY LOGS (default 30 s; `binlogs pull --timeout`).
   */
  stallMs?: number;
  /** The longest wait for the connection (default 10 s; `binlogs pull --timeout`). */
  connectMs?: number;
  progress?: (text: string) => void;
}

const LOCK_FILE = '.lock';
const STAGING_PREFIX = '.staging-';

/** Archives every binlog of the server not archived whole yet, and the current one up to now. */
export async function pullBinlogs(src: BinlogSource, backupRoot: string, opts: PullOptions = {}): Promise<PullResult> {
  const now = opts.now ?? (() => new Date());
  const dir = serverArchiveDir(backupRoot, src.server);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let lock: HeldLock;
  try {
    lock = await acquireLock(path.join(dir, LOCK_FILE), { command: 'binlogs pull', timeoutMs: 0 });
  } catch (e) {
    if (e instanceof OperationalError)
      return {
        server: src.server,
        history: src.history ?? '',
        archived: [],
        skipped: e.message,
        warnings: [],
      };
    throw e;
  }
  try {
    await sweepStaging(dir);
    const index = await readArchiveIndex(backupRoot, src.server);
    const startedAt = now();
    const logs = await serverLogs(src, opts.connectMs ?? 10_000, opts.stallMs ?? 30_000);
    const plan = planFetch(src, index, logs, startedAt);
    const result: PullResult = { server: src.server, history: plan.history.id, archived: [], warnings: [] };
    if (plan.gap) {
      index.gaps.push(plan.gap);
      result.gap = plan.gap;
      result.warnings.push(gapText(src.server, plan.gap));
    }
    index.current = plan.history.id;
    opts.progress?.(`fetching from ${plan.start}`);
    const staging = path.join(dir, `${STAGING_PREFIX}${process.pid}`);
    await mkdir(staging, { recursive: true, mode: 0o700 });
    await fetch(src, staging, plan.start, { follow: false, stallMs: opts.stallMs ?? 30_000 });
    const names = (await readdir(staging)).filter((n) => splitBinlogName(n)).sort();
    for (const [i, name] of names.entries()) {
      const file = path.join(staging, name);
      const scan = await scanFile(file);
      const last = i === names.length - 1;
      if (scan.closed || !last) {
        const stored = await storeWhole(dir, plan.history, file, name, scan, now());
        if (!stored) {
          result.warnings.push(
            `server "${src.server}": ${name} arrived cut short (${scan.wholeBytes} of ${(await stat(file)).size} bytes in whole events); it is fetched again by the next pull`,
          );
          break;
        }
        result.archived.push(name);
      } else {
        const size = await storePartial(dir, plan.history, file, name, scan, startedAt, now());
        result.partial = { file: name, size, coveredUntil: startedAt.toISOString() };
      }
      await writeArchiveIndex(backupRoot, index);
    }
    await writeArchiveIndex(backupRoot, index);
    await rm(staging, { recursive: true, force: true });
    return result;
  } finally {
    await lock.release();
  }
}

export interface FollowOptions extends PullOptions {
  /** Ends the stream (SIGTERM/SIGINT in the command). */
  signal: AbortSignal;
  /** How often whole events are moved into the archive and coverage is checked (default 100 ms). */
  pollMs?: number;
  /** Something happened worth a line (connected, a file archived, a drop and the retry). */
  event?: (text: string) => void;
}

/**
 * Keeps the server's binlog stream open until `signal` aborts: whole events are appended to the
 * current file's `.partial` copy as they arrive, files are stored whole when they close, and the
 * partial's coverage moves to the moment the server's own position was seen reached. A dropped
 * connection or a server restart is retried with backoff (1 s doubling to 10 s).
 */
export async function followBinlogs(src: BinlogSource, backupRoot: string, opts: FollowOptions): Promise<void> {
  const now = opts.now ?? (() => new Date());
  const say = opts.event ?? (() => undefined);
  const dir = serverArchiveDir(backupRoot, src.server);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lock = await acquireLock(path.join(dir, LOCK_FILE), { command: 'binlogs follow', timeoutMs: 0 });
  let backoff = 1000;
  let attempt = 0;
  try {
    await sweepStaging(dir);
    while (!opts.signal.aborted) {
      attempt++;
      const staging = path.join(dir, `${STAGING_PREFIX}${process.pid}-${attempt}`);
      try {
        const index = await readArchiveIndex(backupRoot, src.server);
        const logs = await serverLogs(src, opts.connectMs ?? 10_000, opts.stallMs ?? 30_000);
        const plan = planFetch(src, index, logs, now());
        if (plan.gap) {
          index.gaps.push(plan.gap);
          say(gapText(src.server, plan.gap));
        }
        index.current = plan.history.id;
        await writeArchiveIndex(backupRoot, index);
        await mkdir(staging, { recursive: true, mode: 0o700 });
        say(`streaming from ${plan.start} (history ${plan.history.id})`);
        const stream = await streamInto(src, backupRoot, index, plan.history, staging, plan.start, opts, now, say);
        backoff = 1000;
        if (stream === 'aborted') break;
        say(`stream ended (${stream}); reconnecting`);
      } catch (e) {
        if (opts.signal.aborted) break;
        say(`${e instanceof Error ? e.message : String(e)}; retrying in ${Math.round(backoff / 1000)} s`);
        await sleep(backoff, opts.signal);
        backoff = Math.min(backoff * 2, 10_000);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    }
  } finally {
    await lock.release();
  }
}

/** One connection's stream: returns why it ended. Whole events reach the archive every poll. */
async function streamInto(
  src: BinlogSource,
  backupRoot: string,
  index: ArchiveIndex,
  history: ArchiveHistory,
  staging: string,
  start: string,
  opts: FollowOptions,
  now: () => Date,
  say: (t: string) => void,
): Promise<string> {
  const dir = serverArchiveDir(backupRoot, src.server);
  // The stream also ends when the server stops answering its status queries (a hung host keeps the
  // TCP connection open and sends nothing): the reconnect loop then finds out what is wrong.
  const streamStop = new AbortController();
  const running = fetch(src, staging, start, {
    follow: true,
    stallMs: 0,
    signal: AbortSignal.any([opts.signal, streamStop.signal]),
  });
  let ended: string | undefined;
  let answeredAt = Date.now();
  running.then(
    () => {
      ended ??= 'server closed the stream';
    },
    (e: Error) => {
      ended ??= e.message;
    },
  );
  const scans = new Map<string, BinlogScan>();
  const { createConnection } = await import('mariadb');
  const status = await createConnection({
    ...(await connectorOptions(src.server, src.credentials)),
    connectTimeout: 10_000,
    socketTimeout: 30_000,
  }).catch(() => undefined);
  // A server that goes away mid-stream closes this connection too; the stream's own end is what counts.
  status?.on('error', () => undefined);
  try {
    for (;;) {
      // The server's position before the archive is looked at: once the archived copy reaches it,
      // everything written before this moment is archived.
      const seenAt = now();
      const rows = status
        ? ((await status.query({ sql: 'SHOW MASTER STATUS', timeout: 10_000 }).catch(() => undefined)) as
            | { File?: string; Position?: number }[]
            | undefined)
        : undefined;
      if (rows) answeredAt = Date.now();
      else if (Date.now() - answeredAt > 30_000 && !ended) {
        ended = 'the server has not answered for 30 s';
        streamStop.abort();
      }
      const master = rows?.[0];
      const changed = await absorb(dir, history, staging, scans, now, say);
      if (master?.File) {
        const entry = history.files.find((f) => f.file === master.File && !f.complete);
        // Coverage alone moves the index at most once a second (each write is fsynced); new bytes always do.
        const stale = entry && seenAt.getTime() - new Date(entry.coveredUntil).getTime() >= 1000;
        if (entry && entry.size >= Number(master.Position) && (changed || stale)) {
          entry.coveredUntil = seenAt.toISOString();
          await writeArchiveIndex(backupRoot, index);
        } else if (changed) await writeArchiveIndex(backupRoot, index);
      } else if (changed) await writeArchiveIndex(backupRoot, index);
      if (opts.signal.aborted) {
        await running.catch(() => undefined);
        await absorb(dir, history, staging, scans, now, say);
        await writeArchiveIndex(backupRoot, index);
        return 'aborted';
      }
      if (ended) {
        await absorb(dir, history, staging, scans, now, say);
        await writeArchiveIndex(backupRoot, index);
        return ended;
      }
      await sleep(opts.pollMs ?? 100, opts.signal);
    }
  } finally {
    await status?.end().catch(() => status.destroy());
  }
}

/**
 * Moves what arrived in the staging files into the archive: whole events are appended to the
 * current file's `.partial` (beyond what it already holds, so a refetch after a reconnect adds
 * nothing twice), and a file that closed is stored whole. Returns whether the index changed.
 */
async function absorb(
  dir: string,
  history: ArchiveHistory,
  staging: string,
  scans: Map<string, BinlogScan>,
  now: () => Date,
  say: (t: string) => void,
): Promise<boolean> {
  let changed = false;
  const names = (await readdir(staging).catch(() => [] as string[])).filter((n) => splitBinlogName(n)).sort();
  for (const [i, name] of names.entries()) {
    const entry = history.files.find((f) => f.file === name);
    if (entry?.complete) continue;
    const file = path.join(staging, name);
    const prior = scans.get(name);
    const scan = await scanFile(file, prior);
    scans.set(name, scan);
    const closed = scan.closed || i < names.length - 1;
    if (closed) {
      if (await storeWhole(dir, history, file, name, scan, now())) {
        say(`archived ${name} (${scan.wholeBytes} bytes)`);
        changed = true;
      }
      continue;
    }
    const held = entry?.size ?? 0;
    if (entry?.identity && scan.identity && entry.identity !== scan.identity)
      throw new OperationalError(
        `${name} on the server is not the file archived under that name (another identity): the server's binlogs were reset`,
      );
    if (scan.wholeBytes <= held) continue;
    const target = path.join(dir, history.id, `${name}${PARTIAL_SUFFIX}`);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await appendRange(file, target, held, scan.wholeBytes);
    putFile(history, {
      file: name,
      path: `${history.id}/${name}${PARTIAL_SUFFIX}`,
      size: scan.wholeBytes,
      complete: false,
      ...(scan.identity ? { identity: scan.identity } : {}),
      ...(scan.firstEventTime ? { firstEventAt: new Date(scan.firstEventTime * 1000).toISOString() } : {}),
      coveredUntil: entry?.coveredUntil ?? new Date(0).toISOString(),
      archivedAt: now().toISOString(),
    });
    changed = true;
  }
  return changed;
}

interface FetchPlan {
  history: ArchiveHistory;
  start: string;
  gap?: ArchiveGap;
}

/** Which history the server's binlogs belong to, and the first file to fetch. Pure. */
export function planFetch(src: BinlogSource, index: ArchiveIndex, logs: ServerLog[], at: Date): FetchPlan {
  if (logs.length === 0)
    throw new OperationalError(`server "${src.server}" lists no binary log (SHOW BINARY LOGS is empty)`, {
      server: src.server,
      hint: 'turn on log_bin on that server: without binlogs there is nothing to archive',
    });
  let id = src.history ?? index.current;
  const known = id ? index.histories.find((h) => h.id === id) : undefined;
  if (known) {
    const clash = known.files.find((f) => {
      const l = logs.find((x) => x.name === f.file);
      return l && f.complete && f.size !== l.size;
    });
    const newest = known.files[known.files.length - 1];
    const serverNewest = logs[logs.length - 1]!;
    const wentBack = newest && newer(newest.file, serverNewest.name);
    if (clash || wentBack) {
      if (src.history)
        throw new OperationalError(
          `server "${src.server}": ${clash ? `binlog ${clash.file} on the server (${logs.find((x) => x.name === clash.file)!.size} bytes) differs from the archived one (${clash.size} bytes)` : `the server's newest binlog ${serverNewest.name} is older than the archived ${newest!.file}`} although both belong to history ${src.history}: the history forked; nothing was archived`,
          {
            server: src.server,
            hint: 'the datadir was replaced outside dbps; take a new backup (`dbps backup`) to start a history',
          },
        );
      id = undefined;
    }
  }
  const history = historyOf(index, id ?? newHistoryId(at));
  const first = logs.find((l) => !history.files.some((f) => f.file === l.name && f.complete));
  const start = (first ?? logs[logs.length - 1]!).name;
  const whole = history.files.filter((f) => f.complete);
  const lastWhole = whole[whole.length - 1];
  let gap: ArchiveGap | undefined;
  if (lastWhole) {
    const a = splitBinlogName(lastWhole.file);
    const b = splitBinlogName(logs[0]!.name);
    if (a && b && b.index > a.index + 1 && !history.files.some((f) => f.file === logs[0]!.name))
      gap = { history: history.id, after: lastWhole.file, before: logs[0]!.name, foundAt: at.toISOString() };
  }
  return { history, start, ...(gap ? { gap } : {}) };
}

function newer(a: string, b: string): boolean {
  const x = splitBinlogName(a);
  const y = splitBinlogName(b);
  return !!x && !!y && x.base === y.base && x.index > y.index;
}

function gapText(server: string, gap: ArchiveGap): string {
  return `server "${server}": binlogs after ${gap.after} up to ${gap.before} were purged before they were archived; no point-in-time restore crosses that gap (run \`dbps binlogs follow\` or pull more often than the server purges)`;
}

async function serverLogs(src: BinlogSource, connectMs: number, answerMs: number): Promise<ServerLog[]> {
  const { createConnection } = await import('mariadb');
  let c: import('mariadb').Connection;
  try {
    c = await createConnection({
      ...(await connectorOptions(src.server, src.credentials)),
      connectTimeout: connectMs,
      // One statement on this connection, so an idle cut is no concern: it bounds SHOW BINARY LOGS.
      socketTimeout: answerMs,
    });
  } catch (e) {
    const err = e as { errno?: number; code?: string; message: string };
    if (err.code === 'ER_CONNECTION_TIMEOUT') throw new ServerTimeoutError(src.server, 'connect', connectMs);
    throw new OperationalError(
      `server "${src.server}": cannot connect as ${src.credentials.user} to read its binlogs (${err.errno === 1045 ? 'access denied' : err.message})`,
      { server: src.server, hint: 'run `dbps provision` (it creates the backup account), and check the server runs' },
    );
  }
  try {
    const rows = (await c.query({ sql: 'SHOW BINARY LOGS', bigIntAsNumber: true })) as {
      Log_name: string;
      File_size: number;
    }[];
    return rows.map((r) => ({ name: r.Log_name, size: Number(r.File_size) }));
  } catch (e) {
    if ((e as { code?: string }).code === 'ER_SOCKET_TIMEOUT')
      throw new ServerTimeoutError(src.server, 'statement', answerMs, 'SHOW BINARY LOGS');
    throw new OperationalError(
      `server "${src.server}": SHOW BINARY LOGS failed (${(e as { sqlMessage?: string }).sqlMessage ?? (e as Error).message})`,
      {
        server: src.server,
        hint:
          (e as { errno?: number }).errno === 1381
            ? 'turn on log_bin on that server'
            : 'run `dbps provision`: the backup account needs BINLOG MONITOR and REPLICATION SLAVE',
      },
    );
  } finally {
    await c.end().catch(() => c.destroy());
  }
}

// A server id for the dump connection, far above any real replica's (the server drops an older dump
// of the same id), distinct per archived server so followers of two servers never meet.
function dumpServerId(server: string): number {
  let h = 0;
  for (const ch of server) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return 4_290_000_000 + (h % 4_000_000);
}

/** Runs mariadb-binlog into `staging`; resolves when it exits cleanly, rejects with its error otherwise. */
async function fetch(
  src: BinlogSource,
  staging: string,
  start: string,
  opts: { follow: boolean; stallMs: number; signal?: AbortSignal },
): Promise<void> {
  const cred = await writeDefaultsFile(defaultsFileText(src.credentials, ['client']));
  try {
    await new Promise<void>((resolve, reject) => {
      const args = [
        `--defaults-file=${cred.path}`,
        '--read-from-remote-server',
        '--raw',
        `--result-file=${staging}/`,
        ...(opts.follow
          ? ['--stop-never', `--stop-never-slave-server-id=${dumpServerId(src.server)}`]
          : ['--to-last-log']),
        start,
      ];
      const [file, argv] = diesWithParent('mariadb-binlog', args);
      const child: ChildProcess = spawn(file, argv, { env: toolEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
      trackChild(child.pid);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4096);
      });
      let stalled = false;
      let lastSize = -1;
      let lastGrowth = Date.now();
      const watchdog =
        opts.stallMs > 0
          ? setInterval(() => {
              void dirBytes(staging).then((n) => {
                if (n !== lastSize) {
                  lastSize = n;
                  lastGrowth = Date.now();
                } else if (Date.now() - lastGrowth > opts.stallMs) {
                  stalled = true;
                  child.kill('SIGKILL');
                }
              });
            }, 500)
          : undefined;
      const onAbort = () => child.kill('SIGTERM');
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', (e) => {
        untrackChild(child.pid);
        if (watchdog) clearInterval(watchdog);
        reject(
          new OperationalError(`cannot run mariadb-binlog (${e.message})`, {
            hint: 'install it (Debian: apt-get install mariadb-client)',
          }),
        );
      });
      child.on('close', (code, signal) => {
        untrackChild(child.pid);
        if (watchdog) clearInterval(watchdog);
        opts.signal?.removeEventListener('abort', onAbort);
        if (code === 0 || opts.signal?.aborted) return resolve();
        reject(
          new OperationalError(
            stalled
              ? `server "${src.server}" sent no binlog data for ${Math.round(opts.stallMs / 1000)} s; the fetch was ended`
              : `server "${src.server}": mariadb-binlog ${signal ? `ended by ${signal}` : `exited ${code}`}: ${lastErrorLine(stderr)}`,
            { server: src.server, hint: 'check the server answers (`dbps status`) and run again: the archive resumes' },
          ),
        );
      });
    });
  } finally {
    await cred.remove();
  }
}

/** Stores a closed file under its own name (fsync, then rename); false when it is not whole. */
async function storeWhole(
  dir: string,
  history: ArchiveHistory,
  file: string,
  name: string,
  scan: BinlogScan,
  at: Date,
): Promise<boolean> {
  const size = (await stat(file)).size;
  if (scan.wholeBytes !== size || scan.events === 0) return false;
  const hdir = path.join(dir, history.id);
  await mkdir(hdir, { recursive: true, mode: 0o700 });
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  const sha256 = await sha256Of(file);
  // mariadb-binlog creates its files with the umask's mode; the archive holds row data: owner only.
  await chmod(file, 0o600);
  await rename(file, path.join(hdir, name));
  await rm(path.join(hdir, `${name}${PARTIAL_SUFFIX}`), { force: true });
  const f: ArchiveFile = {
    file: name,
    path: `${history.id}/${name}`,
    size,
    complete: true,
    sha256,
    ...(scan.identity ? { identity: scan.identity } : {}),
    ...(scan.firstEventTime ? { firstEventAt: new Date(scan.firstEventTime * 1000).toISOString() } : {}),
    // Every event of a closed file is in it; its last event (the rotate) is when it closed.
    coveredUntil: new Date((scan.lastEventTime + 1) * 1000).toISOString(),
    archivedAt: at.toISOString(),
  };
  putFile(history, f);
  return true;
}

/** Stores the current file's copy (cut at its last whole event) as `<name>.partial`; returns its size. */
async function storePartial(
  dir: string,
  history: ArchiveHistory,
  file: string,
  name: string,
  scan: BinlogScan,
  coveredUntil: Date,
  at: Date,
): Promise<number> {
  const hdir = path.join(dir, history.id);
  await mkdir(hdir, { recursive: true, mode: 0o700 });
  const fh = await open(file, 'r+');
  try {
    await fh.truncate(scan.wholeBytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const existing = history.files.find((f) => f.file === name);
  // A shorter copy than the one archived (a stream that was cut) never replaces it.
  if (existing && !existing.complete && existing.size > scan.wholeBytes) return existing.size;
  await chmod(file, 0o600);
  await rename(file, path.join(hdir, `${name}${PARTIAL_SUFFIX}`));
  putFile(history, {
    file: name,
    path: `${history.id}/${name}${PARTIAL_SUFFIX}`,
    size: scan.wholeBytes,
    complete: false,
    ...(scan.identity ? { identity: scan.identity } : {}),
    ...(scan.firstEventTime ? { firstEventAt: new Date(scan.firstEventTime * 1000).toISOString() } : {}),
    coveredUntil: coveredUntil.toISOString(),
    archivedAt: at.toISOString(),
  });
  return scan.wholeBytes;
}

/** Scans a binlog file event by event (headers only), continuing from an earlier scan of the same file. */
export async function scanFile(file: string, prior?: BinlogScan): Promise<BinlogScan> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    let scan: BinlogScan = prior ?? { wholeBytes: 0, events: 0, closed: false, firstEventTime: 0, lastEventTime: 0 };
    if (scan.wholeBytes === 0) {
      // The magic and the format description event (whose identity tells files apart).
      const head = Buffer.alloc(Math.min(size, 4));
      await fh.read(head, 0, head.length, 0);
      scan = scanBinlog(head);
      if (scan.wholeBytes === 0) return scan;
    }
    let at = scan.wholeBytes;
    const chunk = 1 << 20;
    while (at < size) {
      const want = Math.min(chunk, size - at);
      let buf = Buffer.alloc(want);
      const { bytesRead } = await fh.read(buf, 0, want, at);
      buf = buf.subarray(0, bytesRead);
      let part = scanBinlog(buf, scan);
      if (part.wholeBytes === 0) {
        // The next event is larger than the chunk (or not whole yet): read exactly it.
        if (bytesRead < 19) break;
        const length = buf.readUInt32LE(9);
        if (length < 19 || at + length > size) break;
        const big = Buffer.alloc(length);
        await fh.read(big, 0, length, at);
        part = scanBinlog(big, scan);
        if (part.wholeBytes === 0) break;
      }
      at += part.wholeBytes;
      scan = { ...part, wholeBytes: at };
    }
    return scan;
  } finally {
    await fh.close();
  }
}

async function appendRange(from: string, to: string, start: number, end: number): Promise<void> {
  const src = await open(from, 'r');
  const dst = await open(to, 'a', 0o600);
  try {
    // The partial must hold exactly `start` bytes before the append (a kill mid-append left more).
    await dst.truncate(start);
    const buf = Buffer.alloc(Math.min(end - start, 1 << 20));
    let at = start;
    while (at < end) {
      const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, end - at), at);
      if (bytesRead === 0) break;
      await dst.write(buf.subarray(0, bytesRead), 0, bytesRead, at);
      at += bytesRead;
    }
    await dst.sync();
  } finally {
    await src.close();
    await dst.close();
  }
}

function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const n of await readdir(dir).catch(() => [] as string[]))
    total += (await stat(path.join(dir, n)).catch(() => undefined))?.size ?? 0;
  return total;
}

/** Staging directories of runs that were killed (the lock is ours, so none is in use). */
async function sweepStaging(dir: string): Promise<void> {
  for (const n of await readdir(dir).catch(() => [] as string[]))
    if (n.startsWith(STAGING_PREFIX)) await rm(path.join(dir, n), { recursive: true, force: true });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
