// File helpers for backups: sizes, per-file sha256 lists, free space. Thin I/O, no policy.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { type HashOutcome, HashPool, sameStamp } from './hash-pool.js';

/** Total bytes of regular files under dir (0 when it does not exist yet). */
export async function treeSize(dir: string): Promise<number> {
  let total = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await treeSize(p);
    else if (e.isFile()) {
      try {
        total += (await lstat(p)).size;
      } catch {
        // vanished while walking (temp files of a running server)
      }
    }
  }
  return total;
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

export interface TreeHash {
  /** `sha256sum`-style lines, one per file, sorted by path. */
  lines: string;
  /** sha256 of `lines`: the backup's checksum. */
  checksum: string;
}

function treeHashOf(files: string[], hashes: string[]): TreeHash {
  const lines = files.map((f, i) => `${hashes[i]}  ${f}\n`).join('');
  return { lines, checksum: createHash('sha256').update(lines).digest('hex') };
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

async function finalHash(pool: HashPool, file: string): Promise<string> {
  return (await pool.hash(file)).sha256;
}

/** `sha256sum`-style lines for every file under dir, and their checksum; hashed on the pool's threads (one made for the call when none is given). */
export async function hashTree(dir: string, pool?: HashPool): Promise<TreeHash> {
  const own = pool ?? new HashPool();
  try {
    const files = await listFiles(dir);
    return treeHashOf(files, await Promise.all(files.map((f) => finalHash(own, path.join(dir, f)))));
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
 * the work (the writer failed).
 */
export function hashTreeEarly(dir: string, pool: HashPool): { settle(): Promise<TreeHash>; stop(): Promise<void> } {
  const early = new Map<string, HashOutcome>();
  const running: Promise<void>[] = [];
  const prefix = `${dir}${path.sep}`;
  const listed = filesBySize(dir).then(
    (files) => {
      for (const f of files)
        running.push(
          pool.hash(path.join(dir, f), { early: true }).then(
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
            return e?.quiet && sameStamp(e.stamp, now) && !ALWAYS_REREAD.test(path.basename(f))
              ? e.sha256
              : finalHash(pool, path.join(dir, f));
          }),
        );
        return treeHashOf(files, hashes);
      } finally {
        pool.forget(prefix);
      }
    },
  };
}

/** Files whose hash differs from, or that are missing against, a `sha256sum`-style list. */
export async function changedFiles(dir: string, lines: string): Promise<string[]> {
  const bad: string[] = [];
  for (const line of lines.split('\n').filter(Boolean)) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) continue;
    try {
      if ((await sha256File(path.join(dir, m[2]!))) !== m[1]) bad.push(m[2]!);
    } catch {
      bad.push(m[2]!);
    }
  }
  return bad;
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
