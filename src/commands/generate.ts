// dbps generate: writes derived files, or with --check reports which checked-in files are stale.
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadFleet } from '../config/load.js';
import { OperationalError, UsageError } from '../errors.js';
import {
  GENERATED_HEADER,
  type GenerateFileOptions,
  generatedFiles,
  type OutputKind,
  OWNED_FOLDERS,
} from '../generate/files.js';

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

/** The out dir must be a directory (or, when writing, one dbps can create): otherwise --out is wrong (exit 2). */
async function prepareOutDir(outDir: string, check: boolean): Promise<void> {
  try {
    if (check) {
      const info = await stat(outDir);
      if (!info.isDirectory()) throw notADirectory(outDir);
    } else {
      await makeDirs(outDir);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (check && code === 'ENOENT') return; // nothing generated yet: every file is missing
    if (code === 'ENOTDIR' || code === 'EEXIST') throw notADirectory(outDir);
    throw new UsageError(`--out ${outDir} cannot be ${check ? 'read' : 'created'}: ${reason(e)}`, {
      hint: 'choose a directory you can write to with --out',
    });
  }
}

/**
 * mkdir -p, one level at a time: Node's `mkdir({ recursive: true })` loops forever where mkdir says
 * ENOENT under an existing parent (/proc), and the first real error is what the user must see.
 */
async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    try {
      if (!(await stat(at)).isDirectory())
        throw Object.assign(new Error(`${at} is not a directory`), { code: 'ENOTDIR' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      const parent = path.dirname(at);
      if (parent === at) break;
      missing.push(at);
      at = parent;
    }
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

function notADirectory(outDir: string): UsageError {
  return new UsageError(`--out ${outDir} is not a directory (it, or a part of its path, is a file)`, {
    hint: 'name a directory with --out; dbps creates it when it does not exist',
  });
}

/** The file's text, or undefined when there is none. */
async function readCurrent(target: string): Promise<string | undefined> {
  try {
    return await readFile(target, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw fsError('read', target, e);
  }
}

async function writeAtomically(target: string, content: string): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    await makeDirs(path.dirname(target));
    await writeFile(tmp, content, 'utf8');
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw fsError('write', target, e);
  }
}

async function removeFile(target: string): Promise<void> {
  try {
    await unlink(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError('remove', target, e);
  }
}

/** A file-system failure naming the path: something in the way is a usage error (2), anything else I/O (3). */
function fsError(verb: string, target: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST')
    return new UsageError(
      `cannot ${verb} ${target}: ${code === 'EISDIR' ? 'a directory is in the way' : 'a part of its path is a file, not a directory'}`,
      { hint: 'move what is in the way, or choose another --out' },
    );
  return new OperationalError(`cannot ${verb} ${target}: ${reason(e)}`, {
    hint: 'check the permissions and free space of the output directory',
  });
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'ENOENT':
      return 'the file system there does not let dbps create it';
    default:
      return err.code ? `${err.code}` : String(err.message ?? e);
  }
}

/**
 * Files in the owned folders of the requested kinds that dbps generated earlier (they start with its
 * header) but does not generate now. A file without the header is someone else's and is left alone.
 */
async function leftovers(
  outDir: string,
  kinds: readonly OutputKind[],
  wanted: Set<string>,
): Promise<{ path: string; kind: OutputKind }[]> {
  const found: { path: string; kind: OutputKind }[] = [];
  for (const kind of kinds) {
    const owned = OWNED_FOLDERS[kind];
    if (!owned) continue;
    let names: string[];
    try {
      names = (await readdir(path.join(outDir, owned.folder), { withFileTypes: true }))
        .filter((d) => d.isFile() && d.name.endsWith(owned.extension))
        .map((d) => d.name)
        .sort();
    } catch {
      continue; // no folder (or not one): nothing left over
    }
    for (const name of names) {
      const rel = `${owned.folder}/${name}`;
      if (wanted.has(rel)) continue;
      const text = await readCurrent(path.join(outDir, owned.folder, name));
      if (text?.startsWith(GENERATED_HEADER)) found.push({ path: rel, kind });
    }
  }
  return found;
}
