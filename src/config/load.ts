// Reads services.yaml from disk and turns it into a Fleet (the only I/O of the config layer).
import { readFile, stat } from 'node:fs/promises';
import { ConfigError, UsageError } from '../errors.js';
import type { Fleet } from '../fleet/model.js';
import { parseServices } from './parse.js';
import { resolveFleet } from './resolve.js';

/** Parses text into a Fleet or throws a ConfigError carrying every issue; pure apart from the throw. */
export function fleetFromText(text: string, file: string): Fleet {
  const parsed = parseServices(text);
  if (!parsed.ok) throw new ConfigError(file, parsed.issues);
  const resolved = resolveFleet(parsed.value.data, parsed.value.source, file);
  if (!resolved.ok) throw new ConfigError(file, resolved.issues);
  return resolved.fleet;
}

/** Largest services.yaml dbps reads: far above any real fleet, low enough that a wrong -f fails fast. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Loads the fleet file named by -f / DBPS_FILE; a missing file is a usage error with the way out. */
export async function loadFleet(file: string): Promise<Fleet> {
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
  return fleetFromText(text, file);
}
