// Runs the CLI bundle (dist/bundle/cli.cjs, one CommonJS file) through vm.Script with a V8 code cache
// per command beside it (`cli.<command>.cache`). A short command spends a third of its time compiling
// JavaScript; with the cache V8 deserialises the functions that command ran last time instead. The
// cache of a command is written once, at the end of its first run that finishes normally (exit 0 or 1),
// and again only when V8 rejects it: V8 checks it against the source and its own version and flags,
// and compiles as usual on any mismatch (a rebuild, another Node). A cache is compiled code: one that
// is not the current user's (or root's), or that others may write, is never read, and none is written
// where the current user cannot write. The bundle has no import() (scripts/bundle.mjs): a script run
// from a code cache has no loader for it.
import { closeSync, constants, fstatSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

type Wrapper = (
  exports: unknown,
  require: NodeJS.Require,
  module: { exports: unknown },
  filename: string,
  dirname: string,
) => void;

/** A trusted cache file's bytes: a regular file of this user or root that only its owner may write. */
function readTrusted(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid && st.uid !== 0) || (st.mode & 0o022) !== 0)
      return undefined;
    return readFileSync(fd);
  } catch {
    return undefined; // no cache yet (or unreadable): compiled as usual
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The global options that take a value (src/cli/options.ts; a test keeps the two in step): their value
 * is not the command. Written out here so that the launcher loads no other module before the bundle.
 */
export const GLOBAL_VALUE_FLAGS: ReadonlySet<string> = new Set(['-f', '--file', '--state-dir', '--lock-timeout']);

/** The cache's name for this command line: its first word that names a command, else `cli`. */
export function cacheName(argv: readonly string[]): string {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (GLOBAL_VALUE_FLAGS.has(arg)) i++;
    else if (arg.startsWith('-')) continue;
    else return /^[a-z][a-z-]{0,30}$/.test(arg) ? arg : 'cli';
  }
  return 'cli';
}

/** Loads the bundle, runs `main(argv)` from it, and keeps the command's code cache. */
export function runBundle(bundle: URL, argv: string[]): void {
  const file = fileURLToPath(bundle);
  const cacheFile = path.join(path.dirname(file), `cli.${cacheName(argv)}.cache`);
  const cachedData = readTrusted(cacheFile);
  const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', (code) => {
      if (code !== 0 && code !== 1) return;
      // Written aside and renamed: a concurrent run reads the old cache or the new, never half of one.
      const partial = `${cacheFile}.${process.pid}`;
      try {
        writeFileSync(partial, script.createCachedData(), { mode: 0o644, flag: 'wx' });
        renameSync(partial, cacheFile);
      } catch {
        // A read-only install, a full disk: the next run compiles as this one did.
        rmSync(partial, { force: true });
      }
    });
  }
  const module = { exports: {} as { main?: (argv: string[]) => unknown } };
  (script.runInThisContext() as Wrapper).call(
    module.exports,
    module.exports,
    createRequire(file),
    module,
    file,
    path.dirname(file),
  );
  void module.exports.main!(argv);
}
