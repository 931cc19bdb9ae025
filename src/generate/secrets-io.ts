// --generate-secrets: random account passwords into one 0600 file meant for a secret manager. The
// generated manifests reference the Secrets by name only, so no value ever lands in a file for git.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OperationalError, UsageError } from '../errors.js';
import type { Fleet } from '../fleet/model.js';
import type { K8sOptions } from '../render/k8s/common.js';

/** 32 URL-safe characters (192 random bits): no quoting trouble in YAML, shells or my.cnf. */
function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}

/** The real path of `file`'s nearest existing ancestor joined with the rest, so symlinks cannot hide where it lands. */
async function realTarget(file: string): Promise<string> {
  const rest: string[] = [];
  let dir = path.resolve(file);
  for (;;) {
    try {
      return path.join(await realpath(dir), ...rest.reverse());
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return path.resolve(file);
      rest.push(path.basename(dir));
      dir = parent;
    }
  }
}

function inside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Runs git; undefined when git is not installed (then only the --out check applies). */
function git(args: string[], cwd: string): Promise<{ code: number; stdout: string } | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, timeout: 10_000 }, (error, stdout) => {
      const err = error as (NodeJS.ErrnoException & { code?: number | string }) | null;
      if (err && err.code === 'ENOENT') return resolve(undefined);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout) });
    });
  });
}

/**
 * Refuses a secrets file that could end up in git: inside the --out directory (whose files are meant to
 * be committed), or inside a git work tree unless git ignores that path. Usage errors (exit 2).
 */
export async function checkSecretsPath(file: string, outDir: string): Promise<void> {
  const target = await realTarget(file);
  if (inside(target, await realTarget(outDir))) {
    throw new UsageError(
      `--generate-secrets ${file} is inside the output directory ${outDir}, whose files are committed`,
      {
        hint: 'write the passwords outside the repository, e.g. --generate-secrets ~/shop-secrets.yaml',
      },
    );
  }
  const dir = path.dirname(target);
  if (!(await exists(dir)))
    throw new UsageError(`--generate-secrets ${file}: the folder ${path.dirname(file)} does not exist`, {
      hint: 'create it (mode 0700), or name a file in an existing folder',
    });
  const top = await git(['rev-parse', '--show-toplevel'], dir);
  if (top?.code !== 0) return; // no git, or not a work tree
  const ignored = await git(['check-ignore', '-q', '--', path.relative(dir, target)], dir);
  if (ignored?.code === 0) return;
  throw new UsageError(
    `--generate-secrets ${file} is inside the git work tree ${top.stdout.trim()} and not ignored by git, so the passwords could be committed`,
    {
      hint: 'write them outside the repository (e.g. ~/shop-secrets.yaml), or add the path to .gitignore first',
    },
  );
}

async function exists(dir: string): Promise<boolean> {
  try {
    await realpath(dir);
    return true;
  } catch {
    return false;
  }
}

/** Writes the secrets file; refuses to overwrite one, since that would rotate every password at once. */
export async function writeGeneratedSecrets(
  fleet: Fleet,
  k8s: K8sOptions,
  file: string,
): Promise<{ path: string; secrets: number }> {
  const { renderSecretsFile } = await import('../render/k8s/manifests.js');
  let count = 0;
  const content = renderSecretsFile(fleet, k8s, () => {
    count++;
    return randomPassword();
  });
  try {
    await writeFile(file, content, { encoding: 'utf8', mode: 0o600, flag: 'wx' });
    // The mode given to open() passes through the umask; make it exactly 0600 whatever the umask is.
    await chmod(file, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new UsageError(`${file} already exists; it may hold the passwords in use`, {
        hint: 'load it into your secret manager and delete it, or name another file',
      });
    }
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new UsageError(`--generate-secrets ${file}: the folder ${path.dirname(file)} does not exist`, {
        hint: 'create it (mode 0700), or name a file in an existing folder',
      });
    throw new OperationalError(`cannot write ${file}: ${(e as Error).message}`);
  }
  return { path: file, secrets: count };
}
