// File helpers for backups: sizes, per-file sha256 lists, free space. Thin I/O, no policy.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { type ChunkDigest, type HashOutcome, HashPool, sameStamp } from './hash-pool.js';

/**
 * Total bytes of regular files under dir (0 when it does not exist yet). Every stat of a directory is
 * asked at once: one after another, a datadir's few hundred took 15-20 ms (more with a cold cache)
 * before a backup's first copy could start; at once they end within the servers' preflight.
 */
export async function treeSize(dir: string): Promise<number> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  const sizes = await Promise.all(
    entries.map((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return treeSize(p);
      if (!e.isFile()) return 0;
      return lstat(p).then(
        (st) => st.size,
        () => 0, // vanished while walking (temp files of a running server)
      );
    }),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/** Relative paths of regular files under dir, sorted. */
export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}

/** sha256 of one file, streamed. */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * The tag of a chunked line in a backup's per-file list, in the BSD form `sha256sum --tag` writes:
 * `SHA256-4MiB-CHUNKS (path) = hex`, the sha256 of the file's 4 MiB chunks' sha256 digests in order
 * (see hash-pool.ts). Files of 4 MiB or less keep the plain `hex  path` line, which `sha256sum -c`
 * checks; it reports a chunked line as one it does not know and checks the rest.
 */
export const CHUNKED_TAG = 'SHA256-4MiB-CHUNKS';

export interface TreeHash {
  /** One line per file, sorted by path: `sha256  path`, or the chunked form for files over 4 MiB. */
  lines: string;
  /** sha256 of `lines`: the backup's checksum. */
  checksum: string;
  /** Bytes digested once the writer was done (settle()), or in all (hashTree). */
  finalBytes: number;
  /** The chunks of every chunked file that were fingerprinted, by path: the next set's seeds. */
  chunks: Map<string, ChunkDigest[]>;
}

interface FileSum {
  sha256: string;
  chunked: boolean;
  hashedBytes: number;
  chunks?: ChunkDigest[];
}

/**
 * The chunked files' chunks in an earlier set, by path under the tree (see HashPool's `seeds`). A
 * tree hashed with seeds, even an empty map, gives its own chunks back in TreeHash.chunks.
 */
export type ChunkSeeds = ReadonlyMap<string, ChunkDigest[]>;

/** Given seeds (even none), every file is fingerprinted, so that its chunks can seed the next set. */
function seedsOf(seeds: ChunkSeeds | undefined, file: string): { seeds?: ChunkDigest[] } {
  return seeds ? { seeds: seeds.get(file) ?? [] } : {};
}

function listLine(file: string, sum: FileSum): string {
  return sum.chunked ? `${CHUNKED_TAG} (${file}) = ${sum.sha256}\n` : `${sum.sha256}  ${file}\n`;
}

function treeHashOf(files: string[], sums: FileSum[]): TreeHash {
  const lines = files.map((f, i) => listLine(f, sums[i]!)).join('');
  const chunks = new Map<string, ChunkDigest[]>();
  files.forEach((f, i) => {
    const c = sums[i]!.chunks;
    if (sums[i]!.chunked && c) chunks.set(f, c);
  });
  return {
    lines,
    checksum: createHash('sha256').update(lines).digest('hex'),
    finalBytes: sums.reduce((n, s) => n + s.hashedBytes, 0),
    chunks,
  };
}

/** One line of a per-file list: a plain sha256 (any size: lists made before chunks) or a chunked one. */
export function parseListLine(line: string): { file: string; sha256: string; chunked: boolean } | undefined {
  const plain = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
  if (plain) return { file: plain[2]!, sha256: plain[1]!, chunked: false };
  const tagged = /^([A-Za-z0-9-]+) \((.+)\) = ([0-9a-f]{64})$/.exec(line);
  if (tagged && tagged[1] === CHUNKED_TAG) return { file: tagged[2]!, sha256: tagged[3]!, chunked: true };
  return undefined;
}

/** Relative paths of regular files under dir, largest first: big files start first, so the threads end together. */
async function filesBySize(dir: string): Promise<string[]> {
  const files = await listFiles(dir);
  const sizes = await Promise.all(
    files.map((f) =>
      lstat(path.join(dir, f)).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return files
    .map((f, i) => ({ f, size: sizes[i]! }))
    .sort((a, b) => b.size - a.size)
    .map((x) => x.f);
}

/**
 * The per-file list of every file under dir, and its checksum; hashed on the pool's threads (one made
 * for the call when none is given), taking the digests of chunks found in `seeds` (see HashPool).
 */
export async function hashTree(dir: string, pool?: HashPool, seeds?: ChunkSeeds): Promise<TreeHash> {
  const own = pool ?? new HashPool();
  try {
    const files = await listFiles(dir);
    return treeHashOf(files, await Promise.all(files.map((f) => own.hash(path.join(dir, f), seedsOf(seeds, f)))));
  } finally {
    if (!pool) await own.close();
  }
}

/** Files whose early hash is never kept unread: InnoDB may write its redo log through a memory map, which changes no ctime once a page is mapped writable. */
const ALWAYS_REREAD = /^ib_logfile\d+$/;

/**
 * Hashes every file under dir while a writer (mariadb-backup --prepare) may still change them, so
 * most of the checksums are taken while it runs (see HashPool). settle(), called once the writer has
 * exited, gives what hashTree(dir) would then: an early hash is kept unread only when the file was
 * quiet when its read began and its stamp is the same now (see QUIET_MS); every other file (new,
 * changed, written through a map) is read again, its unchanged chunks only compared. stop() drops
 * the work (the writer failed). `seeds` as for hashTree.
 */
export function hashTreeEarly(
  dir: string,
  pool: HashPool,
  seeds?: ChunkSeeds,
): { settle(): Promise<TreeHash>; stop(): Promise<void> } {
  const early = new Map<string, HashOutcome>();
  const running: Promise<void>[] = [];
  const prefix = `${dir}${path.sep}`;
  const listed = filesBySize(dir).then(
    (files) => {
      for (const f of files)
        running.push(
          pool.hash(path.join(dir, f), { early: true, ...seedsOf(seeds, f) }).then(
            (r) => void early.set(f, r),
            // Vanished or unreadable now: settle() hashes it again (and fails there if it still cannot).
            () => undefined,
          ),
        );
    },
    () => undefined,
  );
  const drain = async () => {
    await listed;
    await Promise.all(running);
  };
  return {
    async stop() {
      await drain();
      pool.forget(prefix);
    },
    async settle() {
      await drain();
      try {
        const files = await listFiles(dir);
        const stamps = await Promise.all(files.map((f) => lstat(path.join(dir, f), { bigint: true })));
        const hashes = await Promise.all(
          files.map((f, i) => {
            const e = early.get(f);
            const s = stamps[i]!;
            const now = { dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
            if (e?.quiet && sameStamp(e.stamp, now) && !ALWAYS_REREAD.test(path.basename(f)))
              return {
                sha256: e.sha256,
                chunked: e.chunked,
                hashedBytes: 0,
                ...(e.chunks ? { chunks: e.chunks } : {}),
              };
            // A big file the writer changed (prepare rewrites pages of most tablespaces, up to its last
            // tens of ms) is read again on every thread at once, each taking a range of its chunks and
            // comparing them with the early hash's; the backup waits for these reads.
            if (e?.chunks && e.chunks.length > 2)
              return pool.hashInParts(path.join(dir, f), {
                seeds: [...e.chunks, ...(seeds?.get(f) ?? [])],
                parts: pool.threads,
              });
            return pool.hash(path.join(dir, f), seedsOf(seeds, f));
          }),
        );
        return treeHashOf(files, hashes);
      } finally {
        pool.forget(prefix);
      }
    },
  };
}

/**
 * Files whose checksum differs from, or that are missing against, a per-file list (either line form;
 * a line of neither form is skipped). Hashed on the pool's threads, every file at once.
 */
export async function changedFiles(dir: string, lines: string, pool?: HashPool): Promise<string[]> {
  const own = pool ?? new HashPool();
  try {
    const entries = lines
      .split('\n')
      .map(parseListLine)
      .filter((e) => e !== undefined);
    const ok = await Promise.all(
      entries.map((e) =>
        own.hash(path.join(dir, e.file), { plain: !e.chunked }).then(
          (r) => r.sha256 === e.sha256 && r.chunked === e.chunked,
          () => false,
        ),
      ),
    );
    return entries.filter((_, i) => !ok[i]).map((e) => e.file);
  } finally {
    if (!pool) await own.close();
  }
}

/** Bytes free for an unprivileged writer on the file system holding dir. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** True when an error is the file system running out of space. */
export function isDiskFull(e: unknown, stderr = ''): boolean {
  return (
    (e as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC' || /no space left|errno:? ?28\b|ENOSPC/i.test(stderr)
  );
}
