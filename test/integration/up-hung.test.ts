// `dbps up` on a server an earlier `up` started that does not answer: a stopped (SIGSTOP) mariadbd is
// named with its pid and the way out at once; one that runs but does not answer gets a progress line
// and a bounded wait. Neither quotes the error log, whose last lines are dbps's own aborted probes.
import { rename } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort } from '../helpers/local-fleet.js';

let fleet: LocalFleet;
let pid: number;

beforeAll(async () => {
  fleet = await createFleet(
    `version: 1\nfleet: uh\ndefaults: { basePort: ${randomBasePort()} }\nservices:\n  orders: { memory: 128M }\n`,
  );
  const up = await fleet.run(['up']);
  if (up.code !== 0) throw new Error(up.stderr);
  pid = fleet.state().servers.orders!.pid!;
});

afterAll(async () => {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // gone
  }
  await destroyAllFleets();
});

describe('up on a server that does not answer', () => {
  it('a SIGSTOPped mariadbd: exit 3 at once, naming its pid, kill -CONT and down/up', async () => {
    process.kill(pid, 'SIGSTOP');
    try {
      // A start timeout far longer than the test's own: waiting it out would fail the test.
      const r = await fleet.run(['up'], { DBPS_START_TIMEOUT: '600' });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`its mariadbd (pid ${pid}) is running but does not answer`);
      expect(r.stderr).toContain(`kill -CONT ${pid}`);
      expect(r.stderr).toMatch(/dbps down orders` then `dbps up orders/);
      expect(r.stderr).not.toMatch(/last lines of|Aborted connection/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const again = await fleet.run(['up']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout + again.stderr).toMatch(/already running/);
  }, 60_000);

  it('a mariadbd that runs but does not answer: a progress line, then exit 3 after the start timeout', async () => {
    const socket = fleet.state().servers.orders!.socket;
    // Its socket moved away: the process runs, is not stopped, and no probe reaches it.
    await rename(socket, `${socket}.away`);
    try {
      const r = await fleet.run(['up'], { DBPS_START_TIMEOUT: '3' });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`mariadbd (pid ${pid}) is running but does not answer yet; waiting up to 3 s`);
      expect(r.stderr).toContain(`its mariadbd (pid ${pid}) is running but does not answer (no answer on ${socket}`);
      expect(r.stderr).toContain(`kill -CONT ${pid}`);
      expect(r.stderr).not.toMatch(/last lines of/);
    } finally {
      await rename(`${socket}.away`, socket);
    }
    expect((await fleet.run(['up'])).code).toBe(0);
  }, 60_000);
});
