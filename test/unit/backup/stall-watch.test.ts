// The bound on a child that talks to a server: it is ended once its read/write byte counter stands
// still for the timeout; any movement, or a counter that cannot be read (the child is exiting), is progress.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ioBytes, stallClock, watchStall } from '../../../src/backup/stall-watch.js';

describe('stallClock', () => {
  it('stalls only after the counter stood still for the whole bound', () => {
    const stalled = stallClock(3000, 0);
    expect(stalled(10, 0)).toBe(false);
    expect(stalled(10, 2999)).toBe(false);
    expect(stalled(11, 3000)).toBe(false); // moved: the bound starts again
    expect(stalled(11, 5999)).toBe(false);
    expect(stalled(11, 6000)).toBe(true);
  });

  it('an unreadable counter is no stall', () => {
    const stalled = stallClock(100, 0);
    expect(stalled(undefined, 50)).toBe(false);
    expect(stalled(undefined, 500)).toBe(false);
  });
});

describe('watchStall', () => {
  it.runIf(process.platform === 'linux')('ends a child that reads and writes nothing; leaves a busy one', async () => {
    expect(await ioBytes(process.pid)).toBeGreaterThan(0);
    const idle = spawn('sleep', ['30'], { stdio: 'ignore' });
    const busy = spawn('sh', ['-c', 'while :; do echo x; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
    busy.stdout!.resume();
    const began = Date.now();
    const ended = new Promise<number>((resolve) => idle.on('exit', () => resolve(Date.now() - began)));
    const w1 = watchStall(idle.pid, 300, () => idle.kill('SIGKILL'));
    let busyStalled = false;
    const w2 = watchStall(busy.pid, 300, () => {
      busyStalled = true;
    });
    const ms = await ended;
    expect(w1.stalled).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(ms).toBeLessThan(3000);
    await new Promise((r) => setTimeout(r, 500));
    expect(busyStalled).toBe(false);
    w2.stop();
    busy.kill('SIGKILL');
  });

  it('no bound without a timeout or a pid', () => {
    expect(watchStall(undefined, 1000, () => undefined).stalled).toBe(false);
    const w = watchStall(process.pid, 0, () => undefined);
    w.stop();
    expect(w.stalled).toBe(false);
  });
});
