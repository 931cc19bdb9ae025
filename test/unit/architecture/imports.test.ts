// STYLE 1 & 13: a pure core (no files, processes, drivers or terminal output) and a light start-up.
// Reads the source import graph; type-only imports are erased by TypeScript and do not count.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/fleets.js';

const src = path.join(repoRoot, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

interface Imports {
  /** Loaded when the module loads. */
  static: string[];
  /** `await import(...)`: loaded only when that code runs. */
  dynamic: string[];
}

function importsOf(file: string): Imports {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const staticImports: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/gm)) {
    if (m[2]) continue; // import type / export type
    // `import { type A, type B } from` is erased too.
    const names = m[3]!
      .replace(/^\{|\}$/g, '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    if (m[3]!.startsWith('{') && names.length > 0 && names.every((n) => n.startsWith('type '))) continue;
    staticImports.push(m[4]!);
  }
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) staticImports.push(m[1]!);
  const dynamic = [...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  return { static: staticImports, dynamic };
}

/** A relative specifier resolved to its .ts source; bare specifiers are returned as they are. */
function resolve(from: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  return path.resolve(path.dirname(from), spec).replace(/\.js$/, '.ts');
}

const files = sourceFiles(src);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const rel = (f: string) => path.relative(repoRoot, f).split(path.sep).join('/');

/** Every module reached from `entry` through static imports, bare package names included. */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const g = graph.get(f);
    if (!g) continue;
    for (const spec of g.static) stack.push(resolve(f, spec));
  }
  return seen;
}

const CORE_DIRS = ['config', 'fleet', 'mycnf', 'render', 'generate', 'sql', 'grants', 'scaffold'];
const IO_MODULES = [
  'node:fs',
  'node:fs/promises',
  'fs',
  'fs/promises',
  'node:child_process',
  'child_process',
  'mariadb',
  'execa',
  'listr2',
  'chalk',
];
/**
 * The thin files that are the core's edges: the config layer reads services.yaml in one file, any
 * core folder may keep its I/O in a file named io.ts or *-io.ts, and grants has catalog readers.
 */
const IO_EDGE = [/^src\/config\/load\.ts$/, /^src\/[a-z]+\/(.*[-_])?io\.ts$/, /^src\/grants\/catalog[^/]*\.ts$/];

describe('import graph', () => {
  it('finds the source files and their imports (guards the parser this test relies on)', () => {
    expect(graph.get(path.join(src, 'cli.ts'))!.static).toContain('commander');
    expect(graph.get(path.join(src, 'config', 'load.ts'))!.static).toContain('node:fs/promises');
    expect(graph.get(path.join(src, 'generate', 'files.ts'))!.dynamic).toContain('../render/compose.js');
    expect(importsOf(path.join(src, 'generate', 'files.ts')).static).not.toContain('../fleet/model.js'); // type-only
  });

  it('keeps core modules free of file, process, driver and terminal modules (static or lazy)', () => {
    const offenders: string[] = [];
    for (const f of files) {
      const r = rel(f);
      if (!CORE_DIRS.some((d) => r.startsWith(`src/${d}/`)) || IO_EDGE.some((re) => re.test(r))) continue;
      const g = graph.get(f)!;
      for (const spec of [...g.static, ...g.dynamic])
        if (IO_MODULES.includes(spec)) offenders.push(`${r} imports ${spec}`);
    }
    expect(offenders).toStrictEqual([]);
  });

  it('keeps core modules from reaching those modules through a helper outside the core', () => {
    const offenders: string[] = [];
    for (const f of files) {
      const r = rel(f);
      if (!CORE_DIRS.some((d) => r.startsWith(`src/${d}/`)) || IO_EDGE.some((re) => re.test(r))) continue;
      for (const reached of staticClosure(f)) {
        const g = graph.get(reached);
        if (!g || IO_EDGE.some((re) => re.test(rel(reached)))) continue;
        for (const spec of g.static)
          if (IO_MODULES.includes(spec)) offenders.push(`${r} -> ${rel(reached)} imports ${spec}`);
      }
    }
    expect([...new Set(offenders)]).toStrictEqual([]);
  });

  it('loads nothing heavy when the CLI starts: src/cli.ts reaches no driver, process, UI or parser package statically', () => {
    const heavy = ['mariadb', 'execa', 'listr2', 'chalk', 'ajv', 'yaml', 'node:child_process', 'child_process'];
    const reached = staticClosure(path.join(src, 'cli.ts'));
    const offenders = [...reached].filter((m) => heavy.includes(m));
    const paths = [...reached]
      .filter((m) => graph.has(m))
      .filter((m) => graph.get(m)!.static.some((s) => heavy.includes(s)))
      .map(rel);
    expect({ offenders, importedBy: paths }).toStrictEqual({ offenders: [], importedBy: [] });
    // Commands are imported lazily by their specs, never at start-up.
    expect([...reached].map(rel).filter((m) => m.startsWith('src/commands/'))).toStrictEqual([]);
  });
});
