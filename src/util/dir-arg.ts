// Directory flags (--dest): a path naming a file, or lying under one, is bad input (exit 2), not a crash.
import { stat } from 'node:fs/promises';
import { UsageError } from '../errors.js';

/** Refuses `dir` when it exists as something other than a directory, or when a file sits on its path. */
export async function requireDirPath(flag: string, dir: string): Promise<void> {
  try {
    if (!(await stat(dir)).isDirectory())
      throw new UsageError(`${flag} ${dir} is a file, not a directory`, { hint: `pass ${flag} a directory` });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR')
      throw new UsageError(`${flag} ${dir} lies under a file, not a directory`, { hint: `pass ${flag} a directory` });
    if (code !== 'ENOENT') throw e;
  }
}
