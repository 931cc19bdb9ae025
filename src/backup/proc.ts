// Child processes of the backup code: credentials in a 0600 defaults file (never argv), tool
// versions, and a runner that keeps the tail of stderr for error messages.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { OperationalError } from '../errors.js';
import { optionValue, type TempDefaultsFile, writeOptionFile } from '../runtime/client-defaults.js';
import { diesWithParent, guardedNotFound, trackChild, untrackChild } from '../runtime/run-dir.js';

export { optionValue };

export interface Credentials {
  user: string;
  password?: string;
  socket?: string;
  host?: string;
  port?: number;
}

/**
 * The text of a defaults file: an optional `!include` of the server's my.cnf, then credentials and
 * any extra options for these groups (after the include, so they override the server's values).
 */
export function defaultsFileText(
  creds: Credentials,
  groups: string[],
  include?: string,
  extra: [string, string][] = [],
): string {
  const lines: string[] = [];
  if (include) lines.push(`!include ${include}`);
  for (const g of groups) {
    lines.push(`[${g}]`, `user=${optionValue(creds.user)}`);
    if (creds.password !== undefined) lines.push(`password=${optionValue(creds.password)}`);
    if (creds.socket) lines.push(`socket=${optionValue(creds.socket)}`);
    if (creds.host) lines.push(`host=${optionValue(creds.host)}`);
    if (creds.port) lines.push(`port=${creds.port}`);
    for (const [k, v] of extra) lines.push(`${k}=${optionValue(v)}`);
  }
  return `${lines.join('\n')}\n`;
}

export type DefaultsFile = TempDefaultsFile;

/** Writes a 0600 defaults file in dbps's private 0700 run dir under the state dir; the caller removes it when the child is done. */
export function writeDefaultsFile(text: string): Promise<DefaultsFile> {
  return writeOptionFile(text);
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** Last 8 KiB of stderr. */
  stderrTail: string;
}

/** Where mariadb tools live on Debian when /usr/sbin is not on PATH. */
export function toolEnv(extra: NodeJS.ProcessEnv = {}, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const p = env.PATH ?? '';
  const withSbin = p.split(':').includes('/usr/sbin') ? p : `${p}:/usr/sbin:/sbin`;
  // DBPS_MARIADB_BINDIR (tarball installs, tests) replaces the search, as for `dbps up`.
  const search = env.DBPS_MARIADB_BINDIR ? `${env.DBPS_MARIADB_BINDIR}:/usr/bin:/bin` : withSbin;
  return { ...env, PATH: search, ...extra };
}

/** Runs a program to completion; a missing binary becomes an OperationalError naming it. */
export async function runTool(
  cmd: string,
  args: string[],
  opts: SpawnOptions & { captureStdout?: boolean; onSpawn?: (c: ChildProcess) => void } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // The child dies with dbps (pdeathsig), and is recorded so a fatal signal or the next start ends it.
    const [file, argv] = diesWithParent(cmd, args);
    const child = spawn(file, argv, {
      env: toolEnv(),
      ...opts,
      stdio: ['ignore', opts.captureStdout ? 'pipe' : 'ignore', 'pipe'],
    });
    trackChild(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192);
    });
    const notInstalled = () =>
      new OperationalError(`${cmd} is not installed or not on PATH`, {
        hint: `install it (Debian: apt-get install ${packageOf(cmd)})`,
      });
    child.on('error', (e) => {
      untrackChild(child.pid);
      const code = (e as NodeJS.ErrnoException).code;
      reject(code === 'ENOENT' ? notInstalled() : new OperationalError(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      untrackChild(child.pid);
      if (file !== cmd && guardedNotFound(code, stderr)) return reject(notInstalled());
      resolve({ code, signal, stdout, stderrTail: stderr });
    });
    opts.onSpawn?.(child);
  });
}

function packageOf(cmd: string): string {
  if (cmd === 'mariadb-backup') return 'mariadb-backup';
  if (cmd === 'mariadbd' || cmd === 'mariadb-install-db') return 'mariadb-server';
  if (cmd === 'mariadb' || cmd === 'mariadb-binlog') return 'mariadb-client';
  return cmd;
}

/**
 * The last meaningful error line of a tool's stderr, for a one-sentence reason. A line naming the
 * operating system's error (mariadb-backup's `Error writing file … (errno: 28 "No space left on
 * device")`) wins over the generic `copy_file() failed.` printed after it.
 */
export function lastErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const reversed = [...lines].reverse();
  const err =
    reversed.find((l) => /errno:? ?\d|errcode:? ?\d|no space left|permission denied/i.test(l)) ??
    reversed.find((l) => /error|failed|fatal|can't|cannot|denied|no space/i.test(l));
  return (err ?? lines[lines.length - 1] ?? 'no output').replace(/^\[\d+\]\s*/, '').slice(0, 300);
}

/** Version of the installed mariadb-backup, e.g. "10.11.19" (it prints the server it was built from). */
export async function mariadbBackupVersion(): Promise<string> {
  const r = await runTool('mariadb-backup', ['--version'], { captureStdout: true });
  const text = `${r.stdout}\n${r.stderrTail}`;
  const m = /based on MariaDB server (\d+\.\d+\.\d+)/.exec(text) ?? /(\d+\.\d+\.\d+)-MariaDB/.exec(text);
  if (!m) throw new OperationalError(`cannot tell the version of mariadb-backup from: ${text.trim().slice(0, 200)}`);
  return m[1]!;
}
