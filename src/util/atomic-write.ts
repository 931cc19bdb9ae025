// One way to replace a file so that a reader never sees half of it: write a temp file beside it,
// then rename it over the target. The temp file never outlives a failed write.
import { randomBytes } from 'node:crypto';
import { chmod, rename, unlink, writeFile } from 'node:fs/promises';

/** Writes `content` to `file` atomically; `mode` (e.g. 0o600) is set on the new file whatever the umask. */
export async function writeFileAtomic(file: string, content: string, opts: { mode?: number } = {}): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, content, opts.mode === undefined ? 'utf8' : { encoding: 'utf8', mode: opts.mode });
    if (opts.mode !== undefined) await chmod(tmp, opts.mode);
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
