// Process helpers for servers dbps started in an earlier run: they are not our children, so we
// find them by pid file, check them through /proc, and wait for them by polling.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** The pid written in a pid file, or undefined when the file is absent or unreadable. */
export async function readPidFile(file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(file, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when a process with this pid exists and is not a zombie. Servers outlive dbps and are
 * re-parented; when the new parent never reaps them (some container inits), a dead server stays a
 * zombie that `kill(pid, 0)` still reports as alive.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const statText = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 (after the parenthesised command name) is the state; Z = zombie, X = dead.
    const state = statText.slice(statText.lastIndexOf(')') + 2, statText.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    // No /proc (not Linux): kill(0) is all we have.
    return true;
  }
}

/**
 * True when the process is stopped by a signal (SIGSTOP, Ctrl-Z) or by a debugger: state T or t in
 * /proc/<pid>/stat. Such a process never answers until it is continued. False without /proc.
 */
export function processStopped(pid: number): boolean {
  try {
    const statText = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = statText.slice(statText.lastIndexOf(')') + 2, statText.lastIndexOf(')') + 3);
    return state === 'T' || state === 't';
  } catch {
    return false;
  }
}

/**
 * True when the pid belongs to a mariadbd started with this defaults file. Guards against pid reuse:
 * a stale pid file after a crash may name an unrelated process by now.
 */
export function isServerProcess(pid: number, cnfPath: string): boolean {
  if (!processAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true;
  }
  return cmdline.includes(cnfPath) && /mariadbd|mysqld/.test(cmdline);
}

/** Waits until the process is gone; false when it is still there after the timeout. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Sends a signal, ignoring a process that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export interface DetachedChild {
  pid: number;
  /** Becomes true when the child exits while this dbps process still runs. */
  exited(): boolean;
}

/**
 * Starts a long-lived process that outlives dbps: its own process group (Ctrl-C on dbps does not
 * reach it), stdout/stderr appended to a log file, and unref'd so dbps can exit.
 */
export function spawnDetached(command: string, args: string[], logFile: string, cwd: string): DetachedChild {
  const fd = openSync(logFile, 'a', 0o600);
  let exited = false;
  try {
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', fd, fd] });
    child.on('exit', () => {
      exited = true;
    });
    child.on('error', () => {
      exited = true;
    });
    child.unref();
    return { pid: child.pid ?? 0, exited: () => exited || child.pid === undefined };
  } finally {
    closeSync(fd);
  }
}

/** The last lines of a log file, for error messages (empty when there is no such file). */
export async function tailFile(file: string, lines: number): Promise<string[]> {
  try {
    const text = await readFile(file, 'utf8');
    return text
      .split('\n')
      .map((l) => l.trimEnd())
      .filter(Boolean)
      .slice(-lines);
  } catch {
    return [];
  }
}

/** Promise-based pause for polling loops. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
