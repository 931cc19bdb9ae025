// The bound on a session's statements: a statement left unanswered past the bound fails as a timeout
// and the connection is destroyed (every statement still waiting fails too); answers are progress, so
// a long pipeline that keeps answering is never cut; a session with nothing waiting has no timer.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServerTimeoutError } from '../../../src/runtime/failures.js';
import { statementWatch } from '../../../src/runtime/statement-watch.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('statementWatch', () => {
  it('a statement unanswered for the bound fails as a timeout and destroys the connection; so do the others waiting', async () => {
    const destroy = vi.fn();
    const watch = statementWatch({ server: 'h1', statementTimeout: 1000 }, { destroy });
    const first = watch(new Promise<never>(() => undefined));
    const second = watch(new Promise<never>(() => undefined));
    const both = Promise.allSettled([first, second]);
    await vi.advanceTimersByTimeAsync(999);
    expect(destroy).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    const [a, b] = await both;
    expect(destroy).toHaveBeenCalledTimes(1);
    for (const r of [a, b]) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ServerTimeoutError);
      expect(((r as PromiseRejectedResult).reason as Error).message).toBe(
        'server "h1" did not answer a statement within 1 s',
      );
    }
    // A statement after the timeout fails at once: the connection is gone.
    await expect(watch(Promise.resolve(1))).rejects.toBeInstanceOf(ServerTimeoutError);
    expect(watch.stop()).toBe(true);
  });

  it('pipelined statements that keep answering are never cut, however long the whole pipeline takes', async () => {
    const destroy = vi.fn();
    const watch = statementWatch({ server: 'h1', statementTimeout: 1000 }, { destroy });
    const replies = [deferred<number>(), deferred<number>(), deferred<number>(), deferred<number>()];
    const all = Promise.all(replies.map((d) => watch(d.promise)));
    for (const [i, d] of replies.entries()) {
      await vi.advanceTimersByTimeAsync(800);
      d.resolve(i);
    }
    expect(await all).toEqual([0, 1, 2, 3]);
    expect(destroy).not.toHaveBeenCalled();
    expect(watch.stop()).toBe(false);
  });

  it("a statement's own longer bound (GET_LOCK's wait) holds while it waits", async () => {
    const destroy = vi.fn();
    const watch = statementWatch({ server: 'h1', statementTimeout: 1000 }, { destroy });
    const lock = deferred<string>();
    const waiting = watch(lock.promise, 5000);
    await vi.advanceTimersByTimeAsync(4000);
    lock.resolve('got');
    expect(await waiting).toBe('got');
    expect(destroy).not.toHaveBeenCalled();
  });

  it('an idle session has no timer, and an unbounded target adds none', async () => {
    const destroy = vi.fn();
    const idle = statementWatch({ server: 'h1', statementTimeout: 1000 }, { destroy });
    expect(await idle(Promise.resolve('x'))).toBe('x');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(destroy).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
    const unbounded = statementWatch({ server: 'h1' }, { destroy });
    void unbounded(new Promise<never>(() => undefined));
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a statement the server refuses rejects with its own error, and the others go on', async () => {
    const destroy = vi.fn();
    const watch = statementWatch({ server: 'h1', statementTimeout: 1000 }, { destroy });
    const refused = watch(Promise.reject(new Error('ER_PARSE_ERROR')));
    await expect(refused).rejects.toThrow('ER_PARSE_ERROR');
    expect(await watch(Promise.resolve(2))).toBe(2);
    expect(destroy).not.toHaveBeenCalled();
  });
});
