// Takes one backup set: a mariadb-backup per server (bounded parallelism), prepare, optional
// zstd, checksums, closed binlogs archived, manifest.json written last, directory renamed last.

import { createHash } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { OperationalError } from '../errors.js';
import type { AdminSession } from '../runtime/admin.js';
import { ServerTimeoutError } from '../runtime/failures.js';
import { fanOutJobs, type Timeouts } from '../runtime/fanout.js';
import type { Job, JobRunner } from '../runtime/jobs.js';
import { ownerRecord, ownerTextAlive } from '../runtime/lock.js';
import { someNames } from '../util/suggest.js';
import { killHere } from '../util/test-kill.js';
import { compareVersions, parseVersion } from '../util/version.js';
import { BINLOG_INFO_FILES, type BinlogPosition, parseBinlogInfo, splitBinlogName } from './binlog-info.js';
import { readChunkMemory, writeChunkMemory } from './chunk-memory.js';
import { type ChunkSeeds, freeBytes, hashTree, hashTreeEarly, isDiskFull, sha256File, treeSize } from './files.js';
import { type ChunkDigest, HashPool } from './hash-pool.js';
import { dumpServer, type LogicalTarget, logicalPreflight } from './logical.js';
import {
  type ArchivedBinlog,
  abandonedTempSets,
  type BackupManifest,
  type Compression,
  listSets,
  type ServerBackup,
  setIdFor,
  setStatusOf,
  TEMP_OWNER_FILE,
  TEMP_PREFIX,
  writeManifest,
} from './manifest.js';
import {
  type Credentials,
  defaultsFileText,
  lastErrorLine,
  mariadbBackupVersion,
  runTool,
  writeDefaultsFile,
} from './proc.js';
import { cachedToolVersion } from './tool-version-cache.js';

/** Everything needed to back up one local server; resolved by the command from state.json and secrets. */
export interface BackupTarget {
  server: string;
  services: string[];
  datadir: string;
  socket: string;
  /** The server's my.cnf, included so mariadb-backup sees the same InnoDB settings. */
  cnf?: string;
  /** The managed backup account. */
  credentials: Credentials;
  /** The server's binlog history (state.json); recorded with the backup and its archived binlogs. */
  history?: string;
  /** Bounds of the SQL steps (version check, FLUSH BINARY LOGS): --timeout of the command. */
  timeouts?: Timeouts;
}

export type BackupPhase = 'queued' | 'copy' | 'prepare' | 'compress' | 'checksum' | 'binlogs' | 'done' | 'failed';

export interface BackupProgress {
  server: string;
  phase: BackupPhase;
  /** Bytes written so far in this phase's output (copy, compress). */
  bytes?: number;
  bytesPerSecond?: number;
  message?: string;
}

export interface TakeBackupOptions {
  fleet: string;
  /** Servers backed up physically (mariadb-backup of a local server's files). */
  targets: BackupTarget[];
  /** Servers backed up logically (mariadb-dump over SQL), in the same set and at the same time. */
  logical?: LogicalTarget[];
  /** Root holding one directory per set. */
  dest: string;
  /** Servers backed up at the same time. */
  parallel: number;
  /** mariadb-backup's own copy threads per server. */
  threads: number;
  compress: Compression;
  prepare: boolean;
  now?: () => Date;
  onProgress?: (p: BackupProgress) => void;
  /** How per-server jobs are shown (listr2, plain lines, nothing); silent by default. */
  runJobs?: JobRunner;
  /**
   * The mariadb-backup that runs (its absolute path) and the state dir's cache, where its version is
   * remembered (tool-version-cache.ts); without them the version is asked every time.
   */
  toolVersionCache?: { binary: string; cacheDir: string };
  /**
   * The state dir's cache, where each server's chunks are remembered from one set to the next
   * (chunk-memory.ts): the next set digests only the chunks that changed. Without it, every chunk is.
   */
  chunkMemoryDir?: string;
}

/** Resolves `wait()` once `n` parties have arrived; arriving twice counts once. */
function barrier(n: number): { arrive(): void; wait(): Promise<void> } {
  let count = 0;
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  if (n <= 0) open();
  return {
    arrive() {
      if (++count === n) open();
    },
    wait: () => opened,
  };
}

/** Runs at most `n` of the given tasks at a time. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

const mibs = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** One progress line: phase, bytes and throughput. */
export function progressText(p: BackupProgress): string {
  if (p.phase === 'copy' && p.bytes !== undefined)
    return `copying: ${mibs(p.bytes)}${p.bytesPerSecond ? ` at ${mibs(p.bytesPerSecond)}/s` : ''}`;
  if (p.phase === 'failed') return `failed: ${p.message ?? ''}`;
  return p.message ? `${p.phase}: ${p.message}` : `${p.phase}`;
}

/** The line shown when one server's backup is done. */
export function describeEntry(e: ServerBackup): string {
  if (e.status === 'failed') return `FAILED: ${e.reason ?? 'unknown reason'}`;
  if (e.method === 'logical') {
    const secs = (e.copyMs ?? 0) / 1000;
    return `ok, logical: ${mibs(e.sizeBytes ?? 0)} dumped (zstd) in ${secs.toFixed(1)} s${e.position ? `, binlog ${e.position.file}:${e.position.pos}` : ', no binlog'}`;
  }
  const secs = (e.copyMs ?? 0) / 1000;
  const rate = e.sizeBytes && secs > 0 ? ` (${mibs(e.sizeBytes / secs)}/s)` : '';
  return `ok, ${mibs(e.sizeBytes ?? 0)} copied in ${secs.toFixed(1)} s${rate}, prepared in ${((e.prepareMs ?? 0) / 1000).toFixed(1)} s${e.binlog ? `, binlog ${e.binlog.file}:${e.binlog.position}` : ', no binlog'}`;
}

function failedEntry(t: BackupTarget, toolVersion: string, at: Date, reason: string): ServerBackup {
  return {
    server: t.server,
    services: t.services,
    status: 'failed',
    reason,
    startedAt: at.toISOString(),
    endedAt: at.toISOString(),
    durationMs: 0,
    prepared: false,
    toolVersion,
    archivedBinlogs: [],
  };
}

const SERVERS_DIR = 'servers';
const BINLOGS_DIR = 'binlogs';

/** Runs the whole set; never throws for one server's failure (that entry is `failed`), only for set-wide problems. */
export async function takeBackupSet(opts: TakeBackupOptions): Promise<{ manifest: BackupManifest; dir: string }> {
  const now = opts.now ?? (() => new Date());
  const logical = opts.logical ?? [];
  // mariadb-backup is asked only when some server is copied physically (an external-only fleet has none),
  // while the servers are (one child process, one connect each, all at once).
  const toolVersionAsked = !opts.targets.length
    ? Promise.resolve('')
    : opts.toolVersionCache
      ? cachedToolVersion(opts.toolVersionCache.cacheDir, opts.toolVersionCache.binary, mariadbBackupVersion)
      : mariadbBackupVersion();
  toolVersionAsked.catch(() => undefined); // awaited in preflightAll
  // Read-only work that the servers' answers do not change, done while they are asked: the datadirs'
  // size (for the space check) and the sets already in --dest.
  const datadirBytes = Promise.all(opts.targets.map((t) => treeSize(t.datadir))).then((s) =>
    s.reduce((a, b) => a + b, 0),
  );
  const listed = listSets(opts.dest);
  // Never rejects: a memory that cannot be read is a fresh one.
  const memoryRead =
    opts.chunkMemoryDir && opts.targets.length ? readChunkMemory(opts.chunkMemoryDir) : Promise.resolve(undefined);
  for (const p of [datadirBytes, listed]) p.catch(() => undefined); // awaited below
  // Every server is asked before anything is copied: a version mismatch stops the set before a byte is
  // written, and the copies below start together instead of each after its own connect.
  const preflight = await preflightAll(opts.targets, toolVersionAsked);
  const toolVersion = await toolVersionAsked;
  await mkdir(opts.dest, { recursive: true, mode: 0o700 });
  // Half-written sets of backups that were killed hold space and are never listed: remove them first.
  for (const dir of await abandonedTempSets(opts.dest, ownerTextAlive)) await rm(dir, { recursive: true, force: true });

  await checkSpace(opts.dest, await datadirBytes);
  const started = now();
  let id = setIdFor(started);
  const existing = await listed;
  // Two sets in one second (tests, scripts) get a suffix so ids stay unique and still sort by time. The
  // `.tmp-<id>` of a backup killed in this second before it wrote its owner record is still there (it
  // is removed only an hour on): its id is taken too.
  let tmpDir: string;
  for (let n = 1; ; n++) {
    if (!existing.some((s) => path.basename(s.dir) === id)) {
      tmpDir = path.join(opts.dest, `${TEMP_PREFIX}${id}`);
      // Backups hold every row of every service: readable by the owner only.
      const made = await mkdir(tmpDir, { mode: 0o700 }).then(
        () => true,
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'EEXIST') return false;
          throw e;
        },
      );
      if (made) break;
    }
    id = `${setIdFor(started)}-${n}`;
  }
  // The writer's pid and start time: `backups prune` and the next backup remove the set if it dies.
  await writeFile(path.join(tmpDir, TEMP_OWNER_FILE), ownerRecord('backup'), { mode: 0o600 });
  await mkdir(path.join(tmpDir, SERVERS_DIR), { recursive: true, mode: 0o700 });
  const archived = archivedKeys(existing.flatMap((s) => s.manifest?.servers ?? []));

  // One set of hashing threads for every server's checksums, started when the first file is hashed.
  // More threads than cores when there are more servers: each server's big files (one sha256 each, a
  // sequential hash) then share the cores and end together, instead of one server's waiting for a thread.
  const cores = Math.max(1, availableParallelism());
  const memory = await memoryRead;
  const hashes = new HashPool(Math.min(Math.max(cores, opts.targets.length), 2 * cores), memory?.key);
  // Each server's chunks as this set checksummed them, remembered for the next set once it is done.
  const chunksOf = new Map<string, Map<string, ChunkDigest[]>>();
  // Jobs all start at once (so the display shows every server); a slot limit bounds the real work.
  const slots = limiter(Math.max(1, opts.parallel));
  // When every server copies at once, the CPU-heavy steps (prepare, sha256) wait until all copies
  // are done, so they never slow down a copy still holding its server in BACKUP STAGE. (Hashing the
  // big files while they were copied, even at the idle scheduling class, made the copies 10-30% slower
  // on this 2-core machine, reading the pages right behind the writer: measured, not kept.)
  const copiesDone = opts.parallel >= opts.targets.length ? barrier(opts.targets.length) : undefined;
  // Likewise every copy is spawned in the same tick, once each server's credentials file is written:
  // copies that start staggered hold their servers in BACKUP STAGE longer and end later.
  const readyToCopy = copiesDone ? barrier(opts.targets.length) : undefined;
  const jobs: Job<ServerBackup>[] = opts.targets.map((t, i) => {
    let ready = false;
    const arriveReady = () => {
      if (!ready) {
        ready = true;
        readyToCopy?.arrive();
      }
    };
    const beforeCopy = async () => {
      arriveReady();
      await readyToCopy?.wait();
    };
    // Each server arrives once: after its copy, or when it fails before or during it.
    let arrived = false;
    const arrive = () => {
      if (!arrived) {
        arrived = true;
        copiesDone?.arrive();
      }
    };
    const afterCopy = async () => {
      arrive();
      await copiesDone?.wait();
    };
    return {
      title: t.server,
      run: (text) =>
        slots(() =>
          backupOne(
            t,
            preflight[i]!,
            tmpDir,
            toolVersion,
            archived,
            opts,
            now,
            (p) => {
              opts.onProgress?.(p);
              // A failure is shown once, by the job's closing line (describeEntry).
              if (p.phase !== 'failed') text(progressText(p));
            },
            beforeCopy,
            afterCopy,
            hashes,
            memory?.servers.get(t.server),
            (chunks) => chunksOf.set(t.server, chunks),
          ).finally(() => {
            arriveReady();
            arrive();
          }),
        ),
      describe: describeEntry,
    };
  });
  for (const t of logical) {
    jobs.push({
      title: t.server,
      run: (text) =>
        logicalOne(t, tmpDir, now, (p) => {
          opts.onProgress?.(p);
          if (p.phase !== 'failed') text(progressText(p));
        }),
      describe: describeEntry,
    });
  }
  // Through the fleet fan-out: every server at once, one outcome each (a server's own failures are
  // already its `failed` entry; anything else thrown is classified there), so one server that fails or
  // hangs (every wait of a job is bounded) never stops the others, and the set says which were done.
  let outcomes: Awaited<ReturnType<typeof fanOutJobs<ServerBackup>>>;
  try {
    outcomes = await fanOutJobs(
      jobs.map((j) => ({ server: j.title, label: j.title })),
      (i, progress) => jobs[i]!.run(progress),
      { ...(opts.runJobs ? { runner: opts.runJobs } : {}), describe: describeEntry },
    );
  } finally {
    await hashes.close();
  }
  const entries: ServerBackup[] = outcomes.map((o, i) =>
    o.ok
      ? o.value
      : i < opts.targets.length
        ? failedEntry(opts.targets[i]!, toolVersion, now(), o.failure.message)
        : {
            ...failedEntry(
              {
                server: logical[i - opts.targets.length]!.server,
                services: logical[i - opts.targets.length]!.services,
              } as BackupTarget,
              '',
              now(),
              o.failure.message,
            ),
            method: 'logical' as const,
          },
  );

  const manifest: BackupManifest = {
    version: 1,
    id,
    fleet: opts.fleet,
    status: setStatusOf(entries),
    startedAt: started.toISOString(),
    endedAt: now().toISOString(),
    compress: opts.compress,
    servers: entries,
  };
  killHere('backup:manifest');
  await rm(path.join(tmpDir, TEMP_OWNER_FILE), { force: true });
  await writeManifest(tmpDir, manifest);
  const dir = path.join(opts.dest, id);
  await rename(tmpDir, dir);
  if (memory && opts.chunkMemoryDir) {
    for (const e of entries) {
      const chunks = chunksOf.get(e.server);
      if (e.status === 'ok' && chunks) memory.servers.set(e.server, chunks);
    }
    // A cache: when it cannot be written, the next set digests every chunk again, nothing else.
    await writeChunkMemory(opts.chunkMemoryDir, memory).catch(() => undefined);
  }
  return { manifest, dir };
}

async function checkSpace(dest: string, needed: number): Promise<void> {
  const free = await freeBytes(dest);
  if (free < needed) {
    throw new OperationalError(
      `not enough free space in ${dest}: the datadirs hold ${mib(needed)} and ${mib(free)} is free`,
      { hint: 'free space, prune old sets (`dbps backups prune --keep N`) or choose another --dest' },
    );
  }
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;

/** Why this mariadb-backup must not back up this server (it must be the server's own version), or undefined. */
export function toolMismatch(server: string, serverVersion: string, toolVersion: string): string | undefined {
  const sv = parseVersion(serverVersion);
  if (compareVersions(sv, parseVersion(toolVersion)) === 0) return undefined;
  return `mariadb-backup ${toolVersion} cannot back up server "${server}" running MariaDB ${sv.major}.${sv.minor}.${sv.patch}; install mariadb-backup ${sv.major}.${sv.minor}.${sv.patch} (the server's own version)`;
}

/** What the preflight learnt of one server: its version, or why it cannot be backed up (it stays in the set as `failed`). */
export type Preflight = { version: string } | { reason: string };

/** The one error for every server whose version differs from the tool's, or undefined when all match. */
export function versionMismatchError(
  servers: string[],
  preflight: Preflight[],
  toolVersion: string,
): OperationalError | undefined {
  const problems = servers.flatMap((server, i) => {
    const p = preflight[i];
    const why = p && 'version' in p ? toolMismatch(server, p.version, toolVersion) : undefined;
    return why ? [{ server, why }] : [];
  });
  if (problems.length === 0) return undefined;
  return new OperationalError(problems.map((p) => p.why).join('; '), {
    ...(problems.length === 1 ? { server: problems[0]!.server } : {}),
    hint: 'nothing was copied; back up the other servers by naming their services',
  });
}

/** Version of every server, asked all at once; an unreachable server becomes a reason, a version mismatch an error. */
async function preflightAll(targets: BackupTarget[], toolVersionAsked: Promise<string>): Promise<Preflight[]> {
  const stopped = new Set<number>();
  const asked = await Promise.all(
    targets.map((t, i) =>
      serverInfo(t).then(
        (info): Preflight => ({ version: info.version }),
        (e: unknown): Preflight => {
          if (e instanceof ServerNotRunning) stopped.add(i);
          return { reason: e instanceof Error ? e.message : String(e) };
        },
      ),
    ),
  );
  // A stopped server: say so and offer the two ways on (start it, or leave it out), naming services.
  const running = targets.filter((_, i) => !stopped.has(i)).flatMap((t) => t.services);
  const preflight = asked.map((p, i): Preflight => {
    if (!stopped.has(i)) return p;
    const t = targets[i]!;
    const others = running.length ? `, or back up the others alone: \`dbps backup ${someNames(running, 3)}\`` : '';
    return {
      reason: `server "${t.server}" is not running; start it first: \`dbps up ${t.services[0] ?? t.server}\`${others}`,
    };
  });
  const mismatch = versionMismatchError(
    targets.map((t) => t.server),
    preflight,
    await toolVersionAsked,
  );
  if (mismatch) throw mismatch;
  return preflight;
}

/** A closed binlog already archived by an earlier set, keyed by server, name and size (names restart after a restore, sizes rarely match). */
function archivedKeys(entries: ServerBackup[]): Set<string> {
  const keys = new Set<string>();
  for (const e of entries)
    for (const b of e.archivedBinlogs ?? []) keys.add(binlogKey(e.server, e.history, b.file, b.size, b.headSha256));
  return keys;
}

function binlogKey(
  server: string,
  history: string | undefined,
  file: string,
  size: number,
  headSha256: string | undefined,
): string {
  return `${server}/${history ?? ''}/${file}/${size}/${headSha256 ?? ''}`;
}

/** sha256 of a file's first 64 KiB: its format description and GTID list events tell two files of one name apart. */
async function headSha256(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex');
  } finally {
    await fh.close();
  }
}

async function backupOne(
  t: BackupTarget,
  preflight: Preflight,
  setDir: string,
  toolVersion: string,
  archived: Set<string>,
  opts: TakeBackupOptions,
  now: () => Date,
  report: (p: BackupProgress) => void,
  beforeCopy: () => Promise<void>,
  afterCopy: () => Promise<void>,
  hashes: HashPool,
  seeds: ChunkSeeds | undefined,
  remember: (chunks: Map<string, ChunkDigest[]>) => void,
): Promise<ServerBackup> {
  const startedAt = now();
  const entry: ServerBackup = {
    server: t.server,
    services: t.services,
    status: 'failed',
    startedAt: startedAt.toISOString(),
    endedAt: startedAt.toISOString(),
    durationMs: 0,
    prepared: false,
    toolVersion,
    ...(t.history ? { history: t.history } : {}),
    archivedBinlogs: [],
  };
  const progress = (p: Omit<BackupProgress, 'server'>) => report({ server: t.server, ...p });
  const finish = (status: 'ok' | 'failed', reason?: string) => {
    const end = now();
    entry.status = status;
    if (reason) entry.reason = reason;
    entry.endedAt = end.toISOString();
    entry.durationMs = end.getTime() - startedAt.getTime();
    progress({ phase: status === 'ok' ? 'done' : 'failed', ...(reason ? { message: reason } : {}) });
    return entry;
  };
  const rel = `${SERVERS_DIR}/${t.server}`;
  const target = path.join(setDir, rel);
  // The checksums of the copy, taken while it is prepared (see hashTreeEarly); stopped on every failure.
  let early: ReturnType<typeof hashTreeEarly> | undefined;
  try {
    if ('reason' in preflight) return finish('failed', preflight.reason);
    entry.serverVersion = preflight.version;

    // Copy phase.
    progress({ phase: 'copy', bytes: 0 });
    const cred = await writeDefaultsFile(
      defaultsFileText(t.credentials, ['mariadb-backup'], t.cnf, backupReadOptions(toolVersion)),
    );
    await beforeCopy(); // never rejects: a barrier
    // Taken right before the spawn, like copyEndedAt right after the exit: the copy phase alone.
    entry.copyStartedAt = now().toISOString();
    const copyStart = Date.now();
    const stopWatch = watchBytes(target, copyStart, (bytes, bps) =>
      progress({ phase: 'copy', bytes, bytesPerSecond: bps }),
    );
    let r: Awaited<ReturnType<typeof runTool>>;
    try {
      r = await runTool('mariadb-backup', [
        `--defaults-file=${cred.path}`,
        '--backup',
        `--target-dir=${target}`,
        `--datadir=${t.datadir}`,
        `--socket=${t.socket}`,
        `--parallel=${opts.threads}`,
      ]);
    } finally {
      stopWatch();
      await cred.remove();
    }
    entry.copyMs = Date.now() - copyStart;
    entry.copyEndedAt = now().toISOString();
    if (r.code !== 0) {
      const why = isDiskFull(undefined, r.stderrTail) ? 'disk full while copying' : lastErrorLine(r.stderrTail);
      await rm(target, { recursive: true, force: true });
      return finish('failed', `mariadb-backup --backup failed${r.signal ? ` (${r.signal})` : ''}: ${why}`);
    }
    const pos = await readBinlogInfo(target);
    await afterCopy();
    entry.binlog = pos.position;
    if (pos.file) entry.binlogInfoFile = pos.file;
    if (pos.position) entry.binlogBase = splitBinlogName(pos.position.file)?.base;
    // The binlogs are archived while the copy is prepared and hashed: other files, other work (the
    // FLUSH still comes after the copy, so the file holding its position is closed too). Awaited on
    // every path below, so nothing of this server runs on after its entry is finished.
    const binlogs: Promise<ArchivedBinlog[]> = pos.position
      ? archiveBinlogs(t, setDir, archived, now)
      : Promise.resolve([]);
    binlogs.catch(() => undefined); // awaited below; not unhandled while prepare runs
    const settleBinlogs = async () => {
      await binlogs.catch(() => undefined);
      // A failed entry keeps nothing: the binlogs it copied into this (new) set go with it.
      await rm(path.join(setDir, BINLOGS_DIR, t.server), { recursive: true, force: true }).catch(() => undefined);
    };
    // Prepare waits for the disk (it flushes the copy's pages) far more than for the CPU, which hashes
    // the copy meanwhile; the files prepare rewrote (the pages its redo log names, written as it applies
    // the log) are read again after it, and only their changed 4 MiB chunks digested again (files.ts).
    if (opts.prepare && opts.compress !== 'zstd') early = hashTreeEarly(target, hashes, seeds ?? new Map());
    let done: ServerBackup;
    try {
      done = await prepareAndHash();
    } catch (e) {
      await settleBinlogs();
      throw e;
    }
    if (done.status !== 'ok') await settleBinlogs();
    return done;

    async function prepareAndHash(): Promise<ServerBackup> {
      if (opts.prepare) {
        progress({ phase: 'prepare' });
        const prepStart = Date.now();
        const p = await runTool('mariadb-backup', ['--prepare', `--target-dir=${target}`, '--use-memory=128M']);
        entry.prepareMs = Date.now() - prepStart;
        if (p.code !== 0) {
          await early?.stop();
          return finish(
            'failed',
            `mariadb-backup --prepare failed: ${isDiskFull(undefined, p.stderrTail) ? 'disk full' : lastErrorLine(p.stderrTail)}`,
          );
        }
        entry.prepared = true;
      }

      if (opts.compress === 'zstd') {
        progress({ phase: 'compress' });
        const archive = `${target}.tar.zst`;
        const z = await runTool('sh', [
          '-c',
          'tar -C "$1" -cf - "$2" | zstd -q -T0 -o "$3"',
          'sh',
          path.dirname(target),
          path.basename(target),
          archive,
        ]);
        if (z.code !== 0)
          return finish('failed', `compressing with tar and zstd failed: ${lastErrorLine(z.stderrTail)}`);
        await rm(target, { recursive: true, force: true });
        entry.path = `${rel}.tar.zst`;
        entry.sizeBytes = (await stat(archive)).size;
        entry.checksum = await sha256File(archive);
        await writeFile(`${archive}.sha256`, `${entry.checksum}  ${path.basename(archive)}\n`);
      } else {
        progress({ phase: 'checksum' });
        entry.path = rel;
        entry.sizeBytes = await treeSize(target);
        const tree = early ? await early.settle() : await hashTree(target, hashes, seeds ?? new Map());
        entry.checksum = tree.checksum;
        remember(tree.chunks);
        await writeFile(`${target}.sha256`, tree.lines);
      }

      if (pos.position) {
        progress({ phase: 'binlogs' });
        entry.archivedBinlogs = await binlogs;
      }
      return finish('ok');
    }
  } catch (e) {
    await early?.stop().catch(() => undefined);
    await rm(target, { recursive: true, force: true }).catch(() => undefined);
    await rm(`${target}.tar.zst`, { force: true }).catch(() => undefined);
    // The files are gone: a failed entry must not count (or point at) what it no longer holds.
    delete entry.sizeBytes;
    delete entry.path;
    delete entry.checksum;
    const reason = isDiskFull(e) ? 'disk full' : e instanceof OperationalError ? e.message : (e as Error).message;
    return finish('failed', reason);
  }
}

/**
 * Reads whichever binlog-info file the tool wrote (the 11.1+ name first); none, or an empty one, means
 * log_bin was off. Only a missing file is skipped: one that cannot be read is an error, not "no binlog".
 */
export async function readBinlogInfo(dir: string): Promise<{ file?: string; position: BinlogPosition | null }> {
  for (const name of BINLOG_INFO_FILES) {
    let text: string;
    try {
      text = await readFile(path.join(dir, name), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    return { file: name, position: parseBinlogInfo(text) ?? null };
  }
  return { position: null };
}

/**
 * Options for mariadb-backup's own reads of the data files, written after the `!include` of the
 * server's my.cnf so they win over its [mysqld] group. That group says innodb_flush_method=O_DIRECT
 * (right for the server: the buffer pool is its cache), and mariadb-backup 10.6–10.11 then reads every
 * data file with O_DIRECT too: synchronous reads with no kernel read-ahead, measured at 1.6–2× the time
 * of buffered reads on this machine, cold cache or warm. `fsync` (the tool's default through 10.5) reads
 * through the page cache; each page is still checksum-checked and re-read when torn, and the redo log
 * copied alongside covers every change made while the files were read. Only the reads change: the
 * server keeps O_DIRECT, and prepare and copy-back do not use this file. 11.0 replaced the option
 * (innodb_data_file_buffering) and its tool ignores it, so it is not written there (not measured here).
 */
export function backupReadOptions(toolVersion: string): [string, string][] {
  return parseVersion(toolVersion).major >= 11 ? [] : [['innodb_flush_method', 'fsync']];
}

/** One server's logical backup: preflight as the backup account, then the dump; a failure is a `failed` entry. */
async function logicalOne(
  t: LogicalTarget,
  setDir: string,
  now: () => Date,
  report: (p: BackupProgress) => void,
): Promise<ServerBackup> {
  const startedAt = now();
  const entry: ServerBackup = {
    server: t.server,
    services: t.services,
    status: 'failed',
    method: 'logical',
    startedAt: startedAt.toISOString(),
    endedAt: startedAt.toISOString(),
    durationMs: 0,
    prepared: false,
    ...(t.history ? { history: t.history } : {}),
    archivedBinlogs: [],
  };
  const finish = (status: 'ok' | 'failed', reason?: string) => {
    const end = now();
    entry.status = status;
    if (reason) entry.reason = reason;
    entry.endedAt = end.toISOString();
    entry.durationMs = end.getTime() - startedAt.getTime();
    report({ server: t.server, phase: status === 'ok' ? 'done' : 'failed', ...(reason ? { message: reason } : {}) });
    return entry;
  };
  try {
    const pf = await logicalPreflight(t);
    entry.serverVersion = pf.version;
    report({ server: t.server, phase: 'copy', message: `mariadb-dump of ${t.databases.length} database(s)` });
    entry.copyStartedAt = now().toISOString();
    const began = Date.now();
    await dumpServer(t, setDir, `${SERVERS_DIR}/${t.server}`, pf.logBin, entry);
    entry.copyMs = Date.now() - began;
    entry.copyEndedAt = now().toISOString();
    entry.binlog = entry.position
      ? {
          file: entry.position.file,
          position: entry.position.pos,
          ...(entry.position.gtid ? { gtid: entry.position.gtid } : {}),
        }
      : null;
    if (entry.position) entry.binlogBase = splitBinlogName(entry.position.file)?.base;
    return finish('ok');
  } catch (e) {
    delete entry.path;
    delete entry.checksum;
    delete entry.sizeBytes;
    return finish('failed', isDiskFull(e) ? 'disk full' : (e as Error).message);
  }
}

/** A local server whose socket does not answer: stopped, not broken. */
class ServerNotRunning extends OperationalError {
  constructor(server: string) {
    super(`server "${server}" is not running`, { server });
  }
}

/** Server version and binlog settings, asked as the backup account (which can do no more than that). */
async function serverInfo(t: BackupTarget): Promise<{ version: string }> {
  let c: AdminSession;
  try {
    c = await backupSession(t);
  } catch (e) {
    if (e instanceof ServerTimeoutError) throw e;
    const code = ((e as { cause?: { code?: string } }).cause ?? (e as { code?: string })).code;
    // No socket, or a socket nobody listens on: the server is stopped (dbps down, or crashed).
    if (code === 'ENOENT' || code === 'ECONNREFUSED') throw new ServerNotRunning(t.server);
    throw new OperationalError(
      `server "${t.server}" is not reachable as ${t.credentials.user} at ${t.socket} (${code ?? (e as Error).message})`,
      {
        server: t.server,
      },
    );
  }
  try {
    const rows = await c.query<{ v: string }>('SELECT VERSION() AS v');
    return { version: rows[0]!.v };
  } finally {
    await c.close();
  }
}

/** A session as the backup account over the socket, every wait bounded by the command's timeouts. */
async function backupSession(t: BackupTarget): Promise<AdminSession> {
  const { connectAdmin } = await import('../runtime/admin.js');
  return connectAdmin({
    server: t.server,
    socketPath: t.socket,
    user: t.credentials.user,
    ...(t.credentials.password !== undefined ? { password: t.credentials.password } : {}),
    connectTimeout: t.timeouts?.connectMs ?? 5000,
    ...(t.timeouts ? { statementTimeout: t.timeouts.statementMs } : {}),
  });
}

/**
 * Closes the active binlog (FLUSH BINARY LOGS, after the backup so the file holding its position is
 * closed too) and copies every closed file not yet in an earlier set.
 */
async function archiveBinlogs(
  t: BackupTarget,
  setDir: string,
  archived: Set<string>,
  now: () => Date,
): Promise<ArchivedBinlog[]> {
  const c = await backupSession(t);
  let logs: { Log_name: string; File_size: number }[];
  let basename: string;
  try {
    await c.query('FLUSH BINARY LOGS');
    logs = await c.query<{ Log_name: string; File_size: number }>('SHOW BINARY LOGS');
    basename = (await c.query<{ b: string }>('SELECT @@log_bin_basename AS b'))[0]!.b;
  } finally {
    await c.close();
  }
  const coveredUntil = now().toISOString();
  const dir = path.join(setDir, BINLOGS_DIR, t.server);
  const closed = logs.slice(0, -1);
  const out: ArchivedBinlog[] = [];
  for (const log of closed) {
    const src = path.join(path.dirname(basename), log.Log_name);
    const head = await headSha256(src);
    if (archived.has(binlogKey(t.server, t.history, log.Log_name, Number(log.File_size), head))) continue;
    await mkdir(dir, { recursive: true });
    const dst = path.join(dir, log.Log_name);
    await copyFile(src, dst);
    out.push({
      file: log.Log_name,
      path: `${BINLOGS_DIR}/${t.server}/${log.Log_name}`,
      size: (await stat(dst)).size,
      sha256: await sha256File(dst),
      headSha256: head,
      coveredUntil,
    });
  }
  return out;
}

/** Polls the size of a growing directory for progress lines; returns the stop function. */
function watchBytes(dir: string, since: number, report: (bytes: number, bytesPerSecond: number) => void): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void treeSize(dir)
      .then((bytes) => report(bytes, bytes / Math.max(0.001, (Date.now() - since) / 1000)))
      .finally(() => {
        busy = false;
      });
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}
