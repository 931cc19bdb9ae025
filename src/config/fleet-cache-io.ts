// The resolved Fleet of a services.yaml text, cached as JSON under <stateDir>/cache so that commands on
// large fleets skip the YAML parse, the schema check and resolve. An entry is found by the sha256 of
// the exact file text, the path as named, the dbps version and the build id, and it holds only a Fleet
// that passed every check (an invalid file throws before anything is written). A damaged entry is
// ignored and rewritten; any error here only costs the parse.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Fleet } from '../fleet/model.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { VERSION } from '../version.js';

const FORMAT = 1;
const ENTRY = /^fleet-[0-9a-f]{64}\.json$/;

interface CacheEntry {
  format: number;
  key: string;
  fleet: Fleet;
}

/** Cache key of one fleet file text as named by -f, for this dbps version and build. */
export function fleetCacheKey(text: string, file: string, buildId: string): string {
  return createHash('sha256')
    .update(`dbps fleet cache ${FORMAT}\0${VERSION}\0${buildId}\0${file}\0`)
    .update(text)
    .digest('hex');
}

export function fleetCachePath(cacheDir: string, key: string): string {
  return path.join(cacheDir, `fleet-${key}.json`);
}

/** The cached Fleet for `key`, or undefined when there is none or it cannot be trusted. */
export async function readCachedFleet(cacheDir: string, key: string): Promise<Fleet | undefined> {
  try {
    const entry = JSON.parse(await readFile(fleetCachePath(cacheDir, key), 'utf8')) as CacheEntry;
    if (entry?.format !== FORMAT || entry.key !== key || !isFleetShaped(entry.fleet)) return undefined;
    return entry.fleet;
  } catch {
    return undefined;
  }
}

/** Writes the entry atomically (temp file + rename) and drops entries of older texts; never throws. */
export async function writeCachedFleet(cacheDir: string, key: string, fleet: Fleet): Promise<void> {
  const target = fleetCachePath(cacheDir, key);
  try {
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    const entry: CacheEntry = { format: FORMAT, key, fleet };
    await writeFileAtomic(target, JSON.stringify(entry), { mode: 0o600 });
  } catch {
    return;
  }
  // One entry per state dir is enough: an edited file gets a new key and the old entry is dead weight.
  try {
    for (const name of await readdir(cacheDir)) {
      if (ENTRY.test(name) && name !== path.basename(target)) await unlink(path.join(cacheDir, name)).catch(() => {});
    }
  } catch {
    // a cache dir that cannot be listed keeps its old entries; they are never used for another text
  }
}

// A hand-edited or truncated entry that still parses as JSON must not reach a command as a Fleet.
function isFleetShaped(f: unknown): f is Fleet {
  const fleet = f as Fleet;
  return (
    typeof fleet === 'object' &&
    fleet !== null &&
    typeof fleet.name === 'string' &&
    Array.isArray(fleet.servers) &&
    Array.isArray(fleet.services) &&
    Array.isArray(fleet.warnings)
  );
}
