// dbps generate: writes derived files, or with --check reports which checked-in files are stale.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadFleet } from '../config/load.js';
import { UsageError } from '../errors.js';
import { type GenerateFileOptions, generatedFiles, type OutputKind } from '../generate/files.js';

export interface GenerateOptions {
  file: string;
  outDir: string;
  kinds: OutputKind[];
  check: boolean;
  /** Shapes the k8s and ci outputs (namespace, backup kind, how the workflow calls dbps). */
  fileOptions?: GenerateFileOptions;
  /** --generate-secrets: write random account passwords here (0600), never into the generated files. */
  generateSecrets?: string;
}

export interface GenerateResult {
  command: 'generate';
  outDir: string;
  check: boolean;
  files: { path: string; kind: OutputKind; status: 'written' | 'unchanged' | 'stale' | 'missing' }[];
  outcome: 'clean' | 'findings';
  /** Where --generate-secrets wrote passwords, and how many (the values are never in a result). */
  secretsFile?: { path: string; secrets: number };
}

/** Generates into outDir (atomically per file, unchanged files untouched) or checks it. */
export async function run(opts: GenerateOptions): Promise<GenerateResult> {
  const fleet = await loadFleet(opts.file);
  if (opts.generateSecrets && opts.check)
    throw new UsageError('--generate-secrets writes passwords; it cannot be combined with --check');
  const files = await generatedFiles(fleet, opts.kinds, opts.fileOptions);
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
  const secretsFile = opts.generateSecrets
    ? await (await import('../generate/secrets-io.js')).writeGeneratedSecrets(
        fleet,
        opts.fileOptions?.k8s ?? {},
        opts.generateSecrets,
      )
    : undefined;
  return {
    command: 'generate',
    outDir: opts.outDir,
    check: opts.check,
    files: result,
    outcome: stale ? 'findings' : 'clean',
    ...(secretsFile ? { secretsFile } : {}),
  };
}
