// mariadb-backup's version, remembered per binary in the state dir's cache. A backup checks it against
// every server's before the first copy, and asking costs a process: 30-50 ms here, on the path to the
// first copy (more with a cold page cache, when the whole binary is read). The answer is kept with the
// binary's identity (device, inode, size, mtime, ctime): an upgrade installs a new file and any rewrite
// changes ctime, so a changed binary is always asked again. A cache that cannot be read or written
// changes nothing but the time: the binary is asked, as without it.
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

interface Entry {
  id: string;
  version: string;
}

const FILE = 'tool-versions.json';

async function identity(binary: string): Promise<string> {
  const s = await stat(binary, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** The version `ask` gives for `binary` (an absolute path), from the cache when the file is the same one. */
export async function cachedToolVersion(
  cacheDir: string | undefined,
  binary: string,
  ask: () => Promise<string>,
): Promise<string> {
  if (!cacheDir) return ask();
  const file = path.join(cacheDir, FILE);
  let id: string;
  try {
    id = await identity(binary);
  } catch {
    return ask(); // not there: ask, and fail the way the tool does
  }
  let cache: Record<string, Entry> = {};
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) cache = parsed as Record<string, Entry>;
  } catch {
    // none yet, or unreadable
  }
  const hit = cache[binary];
  if (hit && hit.id === id && typeof hit.version === 'string' && /^\d+\.\d+\.\d+$/.test(hit.version))
    return hit.version;
  const version = await ask();
  cache[binary] = { id, version };
  await mkdir(cacheDir, { recursive: true, mode: 0o700 })
    .then(() => writeFileAtomic(file, JSON.stringify(cache), { mode: 0o600 }))
    .catch(() => undefined);
  return version;
}
