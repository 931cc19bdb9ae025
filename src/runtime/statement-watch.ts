// The bound on a session's statements (AdminTarget.statementTimeout): a hung host, a lock or a cut link
// fails the statements waiting on it instead of hanging the command. Used by connectAdmin.
import type { Connection } from 'mariadb';
import type { AdminTarget } from './admin.js';
import { ServerTimeoutError } from './failures.js';

/**
 * Bounds the statements of a session: while any statement waits, the server must answer one of them
 * within the timeout (the longest of those waiting). When it does not, the connection is destroyed,
 * and every statement still waiting rejects with a ServerTimeoutError. Statements are pipelined, so
 * the bound is on progress, not on each statement's time since it was sent; an idle session is never cut.
 */
export function statementWatch(
  target: Pick<AdminTarget, 'server' | 'statementTimeout'>,
  connection: Pick<Connection, 'destroy'>,
) {
  let expired: ServerTimeoutError | undefined;
  // Statements waiting, counted by their timeout (few distinct values, so re-arming stays cheap).
  const waiting = new Map<number, number>();
  let count = 0;
  let timer: NodeJS.Timeout | undefined;
  let armedMs = 0;
  const rejecters = new Set<(e: Error) => void>();
  // One timer per session, restarted (refresh) on every answer and every new statement rather than
  // made anew: a provision sends hundreds of statements per server. Firing while nothing waits does nothing.
  const arm = () => {
    if (count === 0) return;
    const ms = waiting.size === 1 ? waiting.keys().next().value! : Math.max(...waiting.keys());
    if (timer && ms === armedMs) {
      timer.refresh();
      return;
    }
    clearTimeout(timer);
    armedMs = ms;
    timer = setTimeout(() => {
      if (count === 0) return;
      expired = new ServerTimeoutError(target.server, 'statement', ms);
      connection.destroy();
      for (const r of rejecters) r(expired);
    }, ms);
    // The socket keeps the process alive while a statement waits; the bound alone never does.
    timer.unref();
  };
  const watch = async <T>(pending: Promise<T>, timeoutMs = target.statementTimeout): Promise<T> => {
    pending.catch(() => undefined);
    if (expired) throw expired;
    if (!timeoutMs) return pending;
    const longest = count === 0 ? 0 : Math.max(...waiting.keys());
    waiting.set(timeoutMs, (waiting.get(timeoutMs) ?? 0) + 1);
    count++;
    // The first statement after an idle spell starts the bound afresh; a longer one lengthens it.
    if (count === 1 || timeoutMs > longest) arm();
    let reject!: (e: Error) => void;
    const deadline = new Promise<never>((_, r) => {
      reject = r;
    });
    rejecters.add(reject);
    try {
      return await Promise.race([pending, deadline]);
    } catch (e) {
      // A statement that failed because the connection was destroyed on timeout timed out too.
      if (expired) throw expired;
      throw e;
    } finally {
      rejecters.delete(reject);
      const left = (waiting.get(timeoutMs) ?? 1) - 1;
      if (left === 0) waiting.delete(timeoutMs);
      else waiting.set(timeoutMs, left);
      count--;
      // An answer is progress: the bound starts again for the statements still waiting.
      if (!expired) arm();
    }
  };
  /** The session is closing: the bound stops; true when a statement still waits or the server stopped answering. */
  const stop = (): boolean => {
    clearTimeout(timer);
    timer = undefined;
    return count > 0 || expired !== undefined;
  };
  return Object.assign(watch, { stop });
}
