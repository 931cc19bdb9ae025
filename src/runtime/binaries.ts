// Finding the MariaDB programs dbps runs, and their versions. A missing program is an
// OperationalError carrying the `dbps doctor` advice, never a spawn ENOENT stack trace.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { OperationalError } from '../errors.js';
import { parseVersion, type ServerVersion } from '../util/version.js';

const execFileAsync = promisify(execFile);

export type MariadbBinary = 'mariadbd' | 'mariadb-install-db' | 'mariadb' | 'mariadb-backup' | 'mariadb-dump';

/** The Debian package that ships each program (what `apt-get install` needs). */
export const PACKAGE_OF: Readonly<Record<MariadbBinary, string>> = {
  mariadbd: 'mariadb-server',
  'mariadb-install-db': 'mariadb-server',
  mariadb: 'mariadb-client',
  'mariadb-backup': 'mariadb-backup',
  'mariadb-dump': 'mariadb-client',
};

/** A non-MariaDB program a command needs (zstd for logical backups): clear error when it is not on PATH. */
export function requireTool(name: string, env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin', '/bin']) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new OperationalError(`${name} is not installed (looked in PATH)`, {
    hint: `run \`${process.getuid?.() === 0 ? '' : 'sudo '}apt-get install -y ${name}\``,
  });
}

/** The one command that installs everything dbps needs on Debian/Ubuntu. */
export function installCommand(): string {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  return `${sudo}apt-get install -y mariadb-server mariadb-client mariadb-backup`;
}

/**
 * Directories searched for a program. mariadbd lives in /usr/sbin, which is often not on an
 * ordinary user's PATH; DBPS_MARIADB_BINDIR replaces the search (tarball installs, tests).
 */
export function searchDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.DBPS_MARIADB_BINDIR) return env.DBPS_MARIADB_BINDIR.split(path.delimiter).filter(Boolean);
  const fromPath = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return [...new Set([...fromPath, '/usr/sbin', '/usr/local/sbin', '/sbin'])];
}

/** Absolute path of a program, or undefined when it is not installed. */
export function findBinary(name: MariadbBinary, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of searchDirs(env)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The error every command raises when a program is missing: what, where we looked, how to fix. */
export function missingBinaryError(name: MariadbBinary, env: NodeJS.ProcessEnv = process.env): OperationalError {
  const where = env.DBPS_MARIADB_BINDIR ? `DBPS_MARIADB_BINDIR (${env.DBPS_MARIADB_BINDIR})` : 'PATH and /usr/sbin';
  return new OperationalError(
    `${name} is not installed (looked in ${where}; it comes with the ${PACKAGE_OF[name]} package)`,
    {
      hint: `run \`${installCommand()}\`, then \`dbps doctor\` to check the rest`,
    },
  );
}

/** Path of a program that must exist for the command to go on. */
export function requireBinary(name: MariadbBinary, env: NodeJS.ProcessEnv = process.env): string {
  const found = findBinary(name, env);
  if (!found) throw missingBinaryError(name, env);
  return found;
}

/** `mariadbd --version` / `mariadb-backup --version` parsed; undefined when it cannot be read. */
export async function binaryVersion(binaryPath: string): Promise<ServerVersion | undefined> {
  try {
    const { stdout, stderr } = await execFileAsync(binaryPath, ['--version'], { timeout: 15_000 });
    return parseVersion(versionText(`${stdout}\n${stderr}`) ?? '');
  } catch {
    return undefined;
  }
}

/** The version number inside a `--version` banner (mariadbd: "Ver 10.11.19-MariaDB"; mariadb-backup: "server 10.11.19-MariaDB"). */
export function versionText(banner: string): string | undefined {
  return /(\d+\.\d+\.\d+)-MariaDB/.exec(banner)?.[1] ?? /(\d+\.\d+\.\d+)/.exec(banner)?.[1];
}

const versionCache = new Map<string, Promise<ServerVersion | undefined>>();

/** The installed mariadbd's version, detected once per process (it decides the my.cnf option set). */
export async function mariadbdVersion(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ path: string; version: ServerVersion }> {
  const bin = requireBinary('mariadbd', env);
  let pending = versionCache.get(bin);
  if (!pending) {
    pending = binaryVersion(bin);
    versionCache.set(bin, pending);
  }
  const version = await pending;
  if (!version) {
    throw new OperationalError(`cannot read the version of ${bin} (\`${bin} --version\` failed)`, {
      hint: `reinstall it: \`${installCommand()}\``,
    });
  }
  return { path: bin, version };
}
