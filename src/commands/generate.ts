// dbps generate: writes derived files, or with --check reports which checked-in files are stale.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadFleet } from '../config/load.js';
import { generatedFiles, type OutputKind } from '../generate/files.js';

export interface GenerateOptions {
  file: string;
  outDir: string;
  kinds: OutputKind[];
  check: boolean;
}

export interface GenerateResult {
  command: 'generate';
  outDir: string;
  check: boolean;
  files: { path: string; kind: OutputKind; status: 'written' | 'unchanged' | 'stale' | 'missing' }[];
  outcome: 'clean' | 'findings';
}

/** Generates into outDir (atomically per file, unchanged files untouched) or checks it. */
export async function run(opts: GenerateOptions): Promise<GenerateResult> {
  const fleet = await loadFleet(opts.file);
  const files = await generatedFiles(fleet, opts.kinds);
  const result: GenerateResult['files'] = [];
  for (const f of files) {
    const target = path.join(opts.outDir, ...f.path.split('/'));
    let current: string | undefined;
    try {
      current = await readFile(target, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === f.content) {
      result.push({ path: f.path, kind: f.kind, status: 'unchanged' });
    } else if (opts.check) {
      result.push({ path: f.path, kind: f.kind, status: current === undefined ? 'missing' : 'stale' });
    } else {
      await mkdir(path.dirname(target), { recursive: true });
      const tmp = `${target}.tmp-${process.pid}`;
      await writeFile(tmp, f.content, 'utf8');
      await rename(tmp, target);
      result.push({ path: f.path, kind: f.kind, status: 'written' });
    }
  }
  const stale = result.some((f) => f.status === 'stale' || f.status === 'missing');
  return { command: 'generate', outDir: opts.outDir, check: opts.check, files: result, outcome: stale ? 'findings' : 'clean' };
}
