// What one dbps process leaves on disk while it runs: option files with passwords, records of its
// child processes (mariadb-backup, scratch servers, mariadb-install-db) and scratch directories,
// all under <stateDir>/run/<pid>-<start>/ (0700). A killed dbps runs no cleanup, so the next dbps
// start sweeps the records of dead processes: it ends their children and removes their files.
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { OperationalError } from '../errors.js';
import { processStartTime } from './process-start.js';

let runRoot: string | undefined;
let ownDir: string | undefined;
const children = new Map<number, { group: boolean }>();

/** True when the process `pid` runs and started at `start` (the same process, not a reused pid). */
function sameProcessAlive(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = processStartTime(pid);
  return now === undefined ? start === undefined : now === start;
}

/**
 * Makes a directory private to this OS user: created 0700 when missing (never through a symlink),
 * refused when it is a symlink, not a directory, owned by someone else (but `alsoOwnedBy`, the
 * account local servers run as) or open to others.
 */
export function privateDir(dir: string, alsoOwnedBy?: number): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  const owned = uid === undefined || st.uid === uid || (alsoOwnedBy !== undefined && st.uid === alsoOwnedBy);
  if (st.isSymbolicLink() || !st.isDirectory() || !owned || (st.mode & 0o077) !== 0) {
    throw new OperationalError(
      `${dir} is not a private directory of this user (${st.isSymbolicLink() ? 'a symlink' : !st.isDirectory() ? 'not a directory' : !owned ? `owned by uid ${st.uid}` : `mode ${(st.mode & 0o777).toString(8)}`}): another user could read or replace what dbps puts there, so dbps refuses it`,
      { hint: `remove ${dir} (check who created it) and run the command again` },
    );
  }
}

/**
 * Points this process's run directory at `<stateDir>/run` and sweeps what dead dbps processes left
 * there. Nothing is created until something is written (validate or generate leave no state dir).
 */
export function useRunDir(stateDir: string): void {
  runRoot = path.join(path.resolve(stateDir), 'run');
  ownDir = undefined;
  sweepRunDir();
}

/** This process's own directory under the run dir, created (0700) on first use. */
export function processDir(): string {
  if (ownDir && existsSync(ownDir)) return ownDir;
  if (!runRoot) {
    throw new OperationalError('dbps has no state directory to keep its private files in (this is a bug in dbps)');
  }
  mkdirSync(path.dirname(runRoot), { recursive: true, mode: 0o700 });
  privateDir(runRoot);
  const dir = path.join(runRoot, `${process.pid}-${processStartTime(process.pid) ?? '0'}`);
  privateDir(dir);
  ownDir = dir;
  return dir;
}

/** The run root, for tests and `down --destroy` (undefined before useRunDir). */
export function runDirRoot(): string | undefined {
  return runRoot;
}

/**
 * Records a child process so that it ends with dbps: a fatal signal kills it (its whole process
 * group when `group`), and the next dbps start kills it when dbps was killed with SIGKILL.
 */
export function trackChild(pid: number | undefined, opts: { group?: boolean } = {}): void {
  if (!pid) return;
  children.set(pid, { group: opts.group ?? false });
  try {
    writeFileSync(
      path.join(processDir(), `child-${pid}`),
      JSON.stringify({ pid, start: processStartTime(pid), group: opts.group ?? false }),
      { mode: 0o600 },
    );
  } catch {
    // No run dir (library use outside the CLI): the signal handlers still end it.
  }
}

/** Forgets a child that has exited. */
export function untrackChild(pid: number | undefined): void {
  if (!pid) return;
  children.delete(pid);
  if (ownDir) rmSync(path.join(ownDir, `child-${pid}`), { force: true });
}

/** Records a scratch directory of this process, removed by the next start when dbps was killed. */
export function trackScratchDir(dir: string): void {
  try {
    writeFileSync(path.join(processDir(), `dir-${Buffer.from(dir).toString('base64url')}`), dir, { mode: 0o600 });
  } catch {
    // see trackChild
  }
}

/** Forgets a scratch directory once removed. */
export function untrackScratchDir(dir: string): void {
  if (ownDir) rmSync(path.join(ownDir, `dir-${Buffer.from(dir).toString('base64url')}`), { force: true });
}

function kill(pid: number, group: boolean): void {
  try {
    process.kill(group ? -pid : pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Kills every child this process still tracks (synchronous: safe in 'exit' and signal handlers). */
export function killTrackedChildren(): void {
  for (const [pid, { group }] of children) kill(pid, group);
  children.clear();
}

/** Removes this process's run directory (synchronous, at exit). */
export function removeProcessDir(): void {
  if (ownDir) rmSync(ownDir, { recursive: true, force: true });
  ownDir = undefined;
}

/** Ends the children and removes the files and directories of every dead dbps process of this state dir. */
export function sweepRunDir(): void {
  if (!runRoot || !existsSync(runRoot)) return;
  let names: string[];
  try {
    names = readdirSync(runRoot);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^(\d+)-(\d+)$/.exec(name);
    const dir = path.join(runRoot, name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || sameProcessAlive(pid, m[2] === '0' ? undefined : m[2])) continue;
    try {
      sweepOne(dir);
    } catch {
      // unreadable leftovers: the next start tries again
    }
  }
}

function sweepOne(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const file = path.join(dir, entry);
    try {
      if (entry.startsWith('child-')) {
        const rec = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; start?: string; group?: boolean };
        if (sameProcessAlive(rec.pid, rec.start)) kill(rec.pid, rec.group ?? false);
      } else if (entry.startsWith('dir-')) {
        rmSync(readFileSync(file, 'utf8'), { recursive: true, force: true });
      }
    } catch {
      // a record half-written at the kill: nothing to act on
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

let setpriv: string | null | undefined;

/**
 * The command line that makes a child die with dbps even after a SIGKILL of dbps: util-linux
 * `setpriv --pdeathsig KILL` sets PR_SET_PDEATHSIG (Node has no binding for it) and execs the
 * program. Without setpriv the command is unchanged and the run-dir records end the child instead.
 */
export function diesWithParent(cmd: string, args: string[]): [string, string[]] {
  if (setpriv === undefined) {
    setpriv = null;
    for (const p of ['/usr/bin/setpriv', '/bin/setpriv']) {
      try {
        accessSync(p, constants.X_OK);
        setpriv = p;
        break;
      } catch {
        // not here
      }
    }
  }
  return setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, args];
}

/** True when a guarded child's exit means setpriv could not find the program (exit 127). */
export function guardedNotFound(code: number | null, stderr: string): boolean {
  return code === 127 && /failed to execute/.test(stderr);
}
