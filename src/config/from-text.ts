// services.yaml text -> Fleet: the parse and resolve steps together. Kept apart from load.ts so that a
// command served from the fleet cache never loads the YAML library, the schema validator or resolve.
import { ConfigError } from '../errors.js';
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
