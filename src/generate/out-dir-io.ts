// The output directory of `dbps generate`: creating it, reading and replacing generated files, and
// finding the files dbps generated earlier that it no longer generates. File-system failures become
// errors that name the path: something in the way is a usage error (2), anything else I/O (3).
import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { OperationalError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { GENERATED_HEADER, type OutputKind, OWNED_FOLDERS } from './files.js';

/** The out dir must be a directory (or, when writing, one dbps can create): otherwise --out is wrong (exit 2). */
export async function prepareOutDir(outDir: string, check: boolean): Promise<void> {
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
export async function readCurrent(target: string): Promise<string | undefined> {
  try {
    return await readFile(target, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw fsError('read', target, e);
  }
}

export async function writeAtomically(target: string, content: string): Promise<void> {
  try {
    await makeDirs(path.dirname(target));
    await writeFileAtomic(target, content);
  } catch (e) {
    throw fsError('write', target, e);
  }
}

export async function removeFile(target: string): Promise<void> {
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
export async function leftovers(
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
