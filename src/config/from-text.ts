// services.yaml text -> Fleet: the parse and resolve steps together. Kept apart from load.ts so that a
// command served from the fleet cache never loads the YAML library, the schema validator or resolve.
import { ConfigError, type ConfigIssue } from '../errors.js';
import type { Fleet } from '../fleet/model.js';
import { parseServices } from './parse.js';
import { resolveFleet } from './resolve.js';
import { type DocPath, formatPath } from './source-map.js';

/** Parses text into a Fleet or throws a ConfigError carrying every issue; pure apart from the throw. */
export function fleetFromText(text: string, file: string): Fleet {
  const parsed = parseServices(text);
  if (!parsed.ok) {
    // The semantic checks still run on what the schema accepted: one run reports every problem.
    if (!parsed.partial) throw new ConfigError(file, parsed.issues);
    const later = resolveFleet(parsed.partial.data, parsed.partial.source, file);
    const more = later.ok ? [] : laterIssues(parsed.issues, later.issues, parsed.pruned ?? []);
    throw new ConfigError(
      file,
      [...parsed.issues, ...more].sort((a, b) => a.line - b.line || a.column - b.column),
    );
  }
  const resolved = resolveFleet(parsed.value.data, parsed.value.source, file);
  if (!resolved.ok) throw new ConfigError(file, resolved.issues);
  return resolved.fleet;
}

/** The semantic issues that say something new: not at a place already reported, nor inside a pruned value. */
function laterIssues(first: ConfigIssue[], later: ConfigIssue[], pruned: DocPath[]): ConfigIssue[] {
  const places = new Set(first.map((i) => `${i.line}:${i.column}`));
  const under = new Set(pruned.map((p) => formatPath(p)));
  return later.filter((i) => !places.has(`${i.line}:${i.column}`) && !withinAny(i.path, under));
}

/** Whether `path` (as formatPath writes it: a.b[0].c) is one of `paths` or lies inside one: linear in its length. */
function withinAny(path: string, paths: ReadonlySet<string>): boolean {
  if (paths.has(path)) return true;
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if ((c === '.' || c === '[') && paths.has(path.slice(0, i))) return true;
  }
  return false;
}
