// Migration files on disk: what a folder holds, and writing a pattern's files without clobbering edits.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { MigrationFile } from './types.js';

export type FileStatus = 'written' | 'unchanged' | 'conflict' | 'overwritten';

/** The `.sql` file names already in the folder (none when it does not exist yet). */
export async function existingMigrations(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** What writing each file would do: a differing existing file is a conflict unless `force`. */
export async function compareFiles(dir: string, files: MigrationFile[], force: boolean): Promise<FileStatus[]> {
  return Promise.all(
    files.map(async (f) => {
      let current: string;
      try {
        current = await readFile(path.join(dir, f.name), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'written' as const;
        throw e;
      }
      if (current === f.text) return 'unchanged' as const;
      return force ? ('overwritten' as const) : ('conflict' as const);
    }),
  );
}

/** Writes the files whose status says so (each atomically), creating the folder. */
export async function writeMigrations(dir: string, files: MigrationFile[], statuses: FileStatus[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [i, f] of files.entries()) {
    if (statuses[i] === 'written' || statuses[i] === 'overwritten')
      await writeFileAtomic(path.join(dir, f.name), f.text);
  }
}
