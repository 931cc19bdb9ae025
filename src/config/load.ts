// Reads services.yaml from disk and turns it into a Fleet (the only I/O of the config layer). The
// parser (YAML library, schema validator, resolve) is loaded only when the fleet cache has no entry.
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Fleet } from '../fleet/model.js';
import { printable } from '../util/printable.js';
import { BUILD_ID } from './build-id.js';
import { fleetCacheKey, readCachedFleet, writeCachedFleet } from './fleet-cache-io.js';

export interface LoadFleetOptions {
  /** State dir of the command: the resolved fleet is cached in <stateDir>/cache. Without it, no cache. */
  stateDir?: string;
  /** Build identity mixed into the cache key; empty (running from source) turns the cache off. */
  buildId?: string;
}

/** Largest services.yaml dbps reads: far above any real fleet, low enough that a wrong -f fails fast. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Loads the fleet file named by -f / DBPS_FILE; a missing file is a usage error with the way out. */
export async function loadFleet(file: string, opts: LoadFleetOptions = {}): Promise<Fleet> {
  let text: string;
  try {
    // stat first: a device or FIFO given as -f (/dev/zero, a pipe) would otherwise be read forever.
    const info = await stat(file);
    if (info.isDirectory()) {
      throw new UsageError(`${file} is a directory, not a services.yaml file`, {
        hint: `point -f at the file, e.g. -f ${file.replace(/\/$/, '')}/services.yaml`,
      });
    }
    // A pipe (-f /dev/stdin from `cat x | dbps ...`) ends; a device such as /dev/zero never does.
    if (!info.isFile() && !info.isFIFO())
      throw new UsageError(`${file} is not a regular file`, { hint: 'point -f / DBPS_FILE at your services.yaml' });
    if (info.size > MAX_FILE_BYTES) {
      throw new UsageError(
        `${file} is ${(info.size / 1024 / 1024).toFixed(1)} MB, larger than the ${MAX_FILE_BYTES / 1024 / 1024} MB dbps reads`,
        {
          hint: 'check that -f names your services.yaml',
        },
      );
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UsageError(`${file} does not exist`, {
        hint: 'run `dbps init` to create one, or point -f / DBPS_FILE at your fleet file',
      });
    }
    if (code === 'EACCES' || code === 'EPERM')
      throw new UsageError(`${file} cannot be read (permission denied)`, { hint: "check the file's owner and mode" });
    if (code === 'ENOTDIR')
      throw new UsageError(`${file} does not exist (a part of its path is a file, not a directory)`);
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const buildId = opts.buildId ?? BUILD_ID;
  const cacheDir = opts.stateDir && buildId ? path.join(opts.stateDir, 'cache') : undefined;
  const key = cacheDir ? fleetCacheKey(text, file, buildId) : '';
  if (cacheDir) {
    const cached = await readCachedFleet(cacheDir, key);
    if (cached) {
      await checkTlsFiles(cached);
      return cached;
    }
  }
  const { fleetFromText } = await import('./from-text.js');
  const fleet = fleetFromText(text, file); // throws on an invalid file: only valid fleets are cached
  await checkTlsFiles(fleet);
  if (cacheDir) await writeCachedFleet(cacheDir, key, fleet);
  return fleet;
}

/** A `tls.ca` that names no readable file is bad input (exit 2), found before any server is contacted. */
async function checkTlsFiles(fleet: Fleet): Promise<void> {
  for (const server of fleet.servers) {
    const ca = server.tls?.ca;
    if (!ca) continue;
    const abs = path.resolve(path.dirname(path.resolve(fleet.file)), ca);
    try {
      const info = await stat(abs);
      if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOTFILE' });
      await access(abs, constants.R_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'does not exist' : code === 'ENOTFILE' ? 'is not a file' : `cannot be read (${code})`;
      throw new UsageError(
        `${printable(fleet.file)}: server "${server.name}": tls.ca ${printable(ca)} ${why}${abs !== ca ? ` (${printable(abs)})` : ''}`,
        {
          hint: "point tls.ca at the PEM file of the CA that signed the server's certificate (relative to services.yaml)",
        },
      );
    }
  }
}
