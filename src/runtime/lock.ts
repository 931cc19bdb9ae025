// Lock files that name their owner (pid, process start time, command), so a lock left by a killed
// process is taken over at once instead of blocking every later command until someone deletes it.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OperationalError, UsageError } from '../errors.js';
import { processAlive, sleep } from './process.js';
import { processStartTime } from './process-start.js';

/** Who holds a lock, as written in the lock file. */
export interface LockOwner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot): a reused pid has another one. */
  startTime?: string;
  command: string;
  /** ISO time the lock was taken. */
  since: string;
}

/** A held lock; release() removes the file only while it is still ours. */
export interface HeldLock {
  file: string;
  release(): Promise<void>;
}

/** True when the process that wrote this owner record still runs (same pid and the same start time). */
export function ownerAlive(owner: LockOwner): boolean {
  if (!Number.isInteger(owner.pid) || owner.pid <= 0 || !processAlive(owner.pid)) return false;
  if (owner.startTime === undefined) return true;
  const now = processStartTime(owner.pid);
  return now === undefined || now === owner.startTime;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as LockOwner;
    return typeof o.pid === 'number' ? o : undefined;
  } catch {
    return undefined;
  }
}

async function readOwner(file: string): Promise<{ owner?: LockOwner; text: string; ageMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    const owner = parseOwner(text);
    return { ...(owner ? { owner } : {}), text, ageMs: Date.now() - st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** A lock file without a readable owner (written by an older dbps) counts as stale once it is this old. */
const OWNERLESS_STALE_MS = 10_000;

/** Describes a holder for messages: `dbps up (pid 123, since 2026-…)`. */
export function describeOwner(owner: LockOwner | undefined): string {
  return owner ? `dbps ${owner.command} (pid ${owner.pid}, since ${owner.since})` : 'an older dbps (no owner recorded)';
}

/**
 * Takes the lock file, waiting up to `timeoutMs` for a live holder; a dead holder's lock is taken over
 * at once. The file appears complete or not at all (written beside it, then hard-linked into place).
 */
export async function acquireLock(
  file: string,
  opts: { command: string; timeoutMs: number; onWait?: (holder: LockOwner | undefined) => void },
): Promise<HeldLock> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const me: LockOwner = {
    pid: process.pid,
    ...(processStartTime(process.pid) ? { startTime: processStartTime(process.pid)! } : {}),
    command: opts.command,
    since: new Date().toISOString(),
  };
  const myText = `${JSON.stringify(me)}\n`;
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, myText, { mode: 0o600 });
  const deadline = Date.now() + opts.timeoutMs;
  let told = false;
  try {
    for (;;) {
      try {
        await link(tmp, file);
        return {
          file,
          async release() {
            const now = await readOwner(file).catch(() => undefined);
            if (now?.text === myText) await rm(file, { force: true });
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const held = await readOwner(file);
      if (!held) continue;
      const stale = held.owner ? !ownerAlive(held.owner) : held.ageMs > OWNERLESS_STALE_MS;
      if (stale) {
        await takeOver(file, held.text);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new OperationalError(
          `${file} is held by ${describeOwner(held.owner)}${opts.timeoutMs > 0 ? `; gave up after ${Math.round(opts.timeoutMs / 1000)} s` : ''}`,
          {
            hint: 'wait for that command to finish and run this one again, or give it longer with --lock-timeout SECONDS',
          },
        );
      }
      if (!told) {
        opts.onWait?.(held.owner);
        told = true;
      }
      await sleep(100);
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Removes a stale lock, but only the one we judged stale: it is renamed to a private name first and
 * put back when, in between, another process had already replaced it with a live lock.
 */
async function takeOver(file: string, staleText: string): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const text = await readFile(aside, 'utf8').catch(() => '');
  if (text === staleText) {
    await rm(aside, { force: true });
    return;
  }
  // Not the stale lock any more: a live one, taken over by someone else meanwhile. Put it back unless a
  // third process took the empty place already (then that one wins and the other's owner sees it gone).
  await link(aside, file).catch(() => undefined);
  await rm(aside, { force: true });
}

/** The fleet lock of a state directory: one writer at a time changes servers or state. */
export function fleetLockPath(stateDir: string): string {
  return path.join(stateDir, 'fleet.lock');
}

/** Takes the fleet lock for a command that changes servers or state; refuses a state dir that is a file (exit 2). */
export async function acquireFleetLock(
  stateDir: string,
  opts: { command: string; timeoutMs: number; onWait?: (holder: LockOwner | undefined) => void },
): Promise<HeldLock> {
  try {
    const st = await stat(stateDir);
    if (!st.isDirectory())
      throw new UsageError(`state directory ${stateDir} is not a directory`, {
        hint: 'pass --state-dir a directory (or remove the file of that name)',
      });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw new UsageError(`state directory ${stateDir} lies under a file, not a directory`, {
        hint: 'pass --state-dir a directory path',
      });
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  try {
    return await acquireLock(fleetLockPath(stateDir), opts);
  } catch (e) {
    if (e instanceof OperationalError) {
      throw new OperationalError(`the fleet in ${stateDir} is locked: ${e.message}`, e.hint ? { hint: e.hint } : {});
    }
    throw e;
  }
}

/** This process as a lock owner record (JSON text), for files that mark work in progress. */
export function ownerRecord(command: string): string {
  const startTime = processStartTime(process.pid);
  return `${JSON.stringify({ pid: process.pid, ...(startTime ? { startTime } : {}), command, since: new Date().toISOString() })}\n`;
}

/** True when an owner record's process still runs; unreadable records count as alive (never deleted by mistake). */
export function ownerTextAlive(text: string): boolean {
  const owner = parseOwner(text);
  return owner ? ownerAlive(owner) : true;
}
