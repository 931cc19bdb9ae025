// The bound on a child process that talks to a server (mariadb-dump of a backup, the mariadb client of
// a restore): it must make progress within the timeout, or it is ended. A frozen host or a cut link
// leaves such a child blocked in a read forever, and the tools have no read timeout of their own.
//
// Progress is read from /proc/<pid>/io: rchar and wchar count every byte through read() and write(),
// the server's socket and the pipe to zstd alike, so the data never has to pass through this process
// to be counted (mariadb-dump writes straight into zstd). Where /proc is not there (not Linux) no bound
// applies, as before.
import { readFile } from 'node:fs/promises';

/**
 * Pure core: fed the child's byte counter at each poll, says when it has not moved for `timeoutMs`.
 * An unknown counter (the file could not be read) counts as progress: the child is exiting.
 */
export function stallClock(
  timeoutMs: number,
  startedAt: number,
): (counter: number | undefined, now: number) => boolean {
  let last: number | undefined;
  let since = startedAt;
  return (counter, now) => {
    if (counter === undefined || counter !== last) {
      last = counter;
      since = now;
      return false;
    }
    return now - since >= timeoutMs;
  };
}

/** rchar + wchar of a process, or undefined when /proc does not say (gone, or no /proc). */
export async function ioBytes(pid: number): Promise<number | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/io`, 'utf8');
    const r = /^rchar:\s*(\d+)/m.exec(text);
    const w = /^wchar:\s*(\d+)/m.exec(text);
    return r && w ? Number(r[1]) + Number(w[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface StallWatch {
  /** True once the child was ended for making no progress. */
  readonly stalled: boolean;
  stop(): void;
}

/**
 * Polls the child `pid` and calls `onStall` once (the caller kills it) when it read and wrote nothing
 * for `timeoutMs`. No bound when `timeoutMs` is unset or 0, or `pid` is unknown (the spawn failed).
 */
export function watchStall(pid: number | undefined, timeoutMs: number | undefined, onStall: () => void): StallWatch {
  const state: { stalled: boolean; stop(): void } = { stalled: false, stop: () => undefined };
  if (!timeoutMs || pid === undefined) return state;
  const stalledFor = stallClock(timeoutMs, Date.now());
  let busy = false;
  // A few polls per bound, so a stall is seen within a quarter of it past the bound.
  const timer = setInterval(
    () => {
      if (busy) return;
      busy = true;
      void ioBytes(pid)
        .then((n) => {
          if (state.stalled || !stalledFor(n, Date.now())) return;
          state.stalled = true;
          clearInterval(timer);
          onStall();
        })
        .finally(() => {
          busy = false;
        });
    },
    Math.max(50, Math.min(1000, timeoutMs / 4)),
  );
  // The child's pipes keep the process alive while it runs; the bound alone never does.
  timer.unref();
  state.stop = () => clearInterval(timer);
  return state;
}
