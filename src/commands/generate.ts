// dbps generate: writes derived files, or with --check reports which checked-in files are stale.
import path from 'node:path';
import { loadFleet } from '../config/load.js';
import { UsageError } from '../errors.js';
import { type GenerateFileOptions, generatedFiles, type OutputKind } from '../generate/files.js';
import { leftovers, prepareOutDir, readCurrent, removeFile, writeAtomically } from '../generate/out-dir-io.js';

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

/**
 * written / unchanged: generate wrote the file or found it current. stale / missing: --check found it
 * different or absent. removed: generate deleted a file it made earlier and no longer makes (a server
 * that left services.yaml); obsolete: --check found such a file.
 */
export type GeneratedFileStatus = 'written' | 'unchanged' | 'stale' | 'missing' | 'removed' | 'obsolete';

export interface GenerateResult {
  command: 'generate';
  outDir: string;
  check: boolean;
  files: { path: string; kind: OutputKind; status: GeneratedFileStatus }[];
  outcome: 'clean' | 'findings';
  /** Where --generate-secrets wrote passwords, and how many (the values are never in a result). */
  secretsFile?: { path: string; secrets: number };
}

/** Statuses that make --check fail. */
export const STALE_STATUSES: readonly GeneratedFileStatus[] = ['stale', 'missing', 'obsolete'];

/** Generates into outDir (atomically per file, unchanged files untouched) or checks it. */
export async function run(opts: GenerateOptions): Promise<GenerateResult> {
  const fleet = await loadFleet(opts.file);
  if (opts.generateSecrets && opts.check)
    throw new UsageError('--generate-secrets writes passwords; it cannot be combined with --check');
  const secretsIo = opts.generateSecrets ? await import('../generate/secrets-io.js') : undefined;
  // Refuse a dangerous secrets path before anything is written.
  if (secretsIo && opts.generateSecrets) await secretsIo.checkSecretsPath(opts.generateSecrets, opts.outDir);
  const files = await generatedFiles(fleet, opts.kinds, opts.fileOptions);
  await prepareOutDir(opts.outDir, opts.check);
  const result: GenerateResult['files'] = [];
  for (const f of files) {
    const target = path.join(opts.outDir, ...f.path.split('/'));
    const current = await readCurrent(target);
    if (current === f.content) {
      result.push({ path: f.path, kind: f.kind, status: 'unchanged' });
    } else if (opts.check) {
      result.push({ path: f.path, kind: f.kind, status: current === undefined ? 'missing' : 'stale' });
    } else {
      await writeAtomically(target, f.content);
      result.push({ path: f.path, kind: f.kind, status: 'written' });
    }
  }
  const wanted = new Set(files.map((f) => f.path));
  for (const leftover of await leftovers(opts.outDir, opts.kinds, wanted)) {
    if (!opts.check) await removeFile(path.join(opts.outDir, ...leftover.path.split('/')));
    result.push({ ...leftover, status: opts.check ? 'obsolete' : 'removed' });
  }
  const stale = result.some((f) => STALE_STATUSES.includes(f.status));
  const secretsFile =
    secretsIo && opts.generateSecrets
      ? await secretsIo.writeGeneratedSecrets(fleet, opts.fileOptions?.k8s ?? {}, opts.generateSecrets)
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
