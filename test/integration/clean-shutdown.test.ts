// A server shut down cleanly outside dbps (SHUTDOWN by an operator) is started again as a plain start,
// not reported as "restarted after a crash"; status says it is not running although it should.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processAlive } from '../../src/runtime/process.js';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

let fleet: LocalFleet;

beforeAll(async () => {
  fleet = await createFleet(
    `version: 1\nfleet: cl\nservices:\n  orders: { memory: 128M, port: ${await freePort()} }\n`,
  );
  const up = await fleet.run(['up']);
  if (up.code !== 0) throw new Error(up.stderr);
});

afterAll(async () => {
  await destroyAllFleets();
});

describe('a clean shutdown by hand', () => {
  it('is not a crash: status says not running, and up starts it without crash recovery', async () => {
    const pid = fleet.state().servers.orders!.pid!;
    await fleet.run(['connect', 'orders', '--admin', '-e', 'SHUTDOWN']);
    for (let i = 0; i < 100 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(processAlive(pid)).toBe(false);
    const status = await fleet.run(['--json', 'status']);
    expect(status.code).toBe(3);
    expect((JSON.parse(status.stdout) as { servers: { state: string }[] }).servers[0]!.state).toBe('stopped');
    const up = await fleet.run(['--json', 'up']);
    expect(up.code, up.stderr).toBe(0);
    expect((JSON.parse(up.stdout) as { servers: { action: string }[] }).servers[0]!.action).toBe('started');
  });
});
