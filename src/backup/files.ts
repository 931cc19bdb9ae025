// File helpers for backups: sizes, per-file sha256 lists, free space. Thin I/O, no policy.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, statfs } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';

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

/**
 * `sha256sum`-style lines for every file under dir, and the sha256 of that text (the backup's
 * checksum). Hashing runs in child processes, so several servers' checksums use every core instead of
 * queueing on Node's main thread: `openssl dgst` first (OpenSSL's SHA-256 uses the CPU's SHA
 * instructions: 4–5x coreutils' `sha256sum` here), then `sha256sum`, then Node's own hash. Files are
 * split by size over the cores, so one big server is hashed on all of them too.
 */
export async function hashTree(dir: string): Promise<{ lines: string; checksum: string }> {
  const files = await listFiles(dir);
  const hashes = new Map<string, string>();
  const viaTool = await hashWithTools(dir, files);
  for (const f of files) hashes.set(f, viaTool?.get(f) ?? (await sha256File(path.join(dir, f))));
  const lines = files.map((f) => `${hashes.get(f)}  ${f}\n`).join('');
  return { lines, checksum: createHash('sha256').update(lines).digest('hex') };
}

// The hashing programs, best first: argv before the files, and how each prints one line.
const HASH_TOOLS: { cmd: string; args: string[]; line: RegExp }[] = [
  { cmd: 'openssl', args: ['dgst', '-sha256', '-r'], line: /^([0-9a-f]{64}) \*(.+)$/ },
  { cmd: 'sha256sum', args: ['--'], line: /^([0-9a-f]{64}) [ *](.+)$/ },
];

async function hashWithTools(dir: string, files: string[]): Promise<Map<string, string> | undefined> {
  const bins = await sizeBins(dir, files, Math.max(1, availableParallelism()));
  for (const tool of HASH_TOOLS) {
    const parts = await Promise.all(bins.map((bin) => hashBin(dir, bin, tool)));
    if (parts.every((p) => p !== undefined)) return new Map(parts.flatMap((p) => [...p!]));
  }
  return undefined;
}

// Files dealt largest first to the lightest bin: about equal bytes per bin.
async function sizeBins(dir: string, files: string[], n: number): Promise<string[][]> {
  const sized = await Promise.all(
    files.map(async (f) => ({
      f,
      size: await lstat(path.join(dir, f)).then(
        (s) => s.size,
        () => 0,
      ),
    })),
  );
  sized.sort((a, b) => b.size - a.size);
  const bins = Array.from({ length: Math.min(n, files.length) }, () => ({ bytes: 0, files: [] as string[] }));
  for (const { f, size } of sized) {
    const lightest = bins.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    lightest.files.push(f);
    lightest.bytes += size;
  }
  return bins.map((b) => b.files);
}

async function hashBin(
  dir: string,
  files: string[],
  tool: (typeof HASH_TOOLS)[number],
): Promise<Map<string, string> | undefined> {
  const out = new Map<string, string>();
  for (let i = 0; i < files.length; i += 400) {
    // `./` first: a file name never reads as an option.
    const chunk = files.slice(i, i + 400).map((f) => `./${f}`);
    const text = await new Promise<string | undefined>((resolve) => {
      const c = spawn(tool.cmd, [...tool.args, ...chunk], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
      let stdout = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      c.on('error', () => resolve(undefined));
      c.on('close', (code) => resolve(code === 0 ? stdout : undefined));
    });
    if (text === undefined) return undefined;
    for (const line of text.split('\n')) {
      const m = tool.line.exec(line);
      if (m?.[2]?.startsWith('./')) out.set(m[2].slice(2), m[1]!);
    }
  }
  return out;
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
