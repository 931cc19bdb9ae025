// Reads services.yaml from disk and turns it into a Fleet (the only I/O of the config layer).
import { readFile } from 'node:fs/promises';
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

/** Loads the fleet file named by -f / DBPS_FILE; a missing file is a usage error with the way out. */
export async function loadFleet(file: string): Promise<Fleet> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UsageError(`${file} does not exist`, { hint: 'run `dbps init` to create one, or point -f / DBPS_FILE at your fleet file' });
    }
    if (code === 'EISDIR') throw new UsageError(`${file} is a directory, not a services.yaml file`);
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return fleetFromText(text, file);
}
