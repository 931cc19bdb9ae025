// `dbps connect` to a server that is not running says so and what to run (exit 3), instead of the
// client's raw ERROR 2002.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

let fleet: LocalFleet;

beforeAll(async () => {
  fleet = await createFleet(
    `version: 1\nfleet: cs\nservices:\n  orders: { memory: 128M, port: ${await freePort()} }\n`,
  );
  const up = await fleet.run(['up']);
  if (up.code !== 0) throw new Error(up.stderr);
  const prov = await fleet.run(['provision']);
  if (prov.code !== 0) throw new Error(prov.stderr);
});

afterAll(async () => {
  await destroyAllFleets();
});

describe('connect to a stopped server', () => {
  it('works while the server runs', async () => {
    const r = await fleet.run(['connect', 'orders', '-e', 'SELECT CURRENT_USER()']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('orders_app@');
  });

  it('exits 3 naming the server and `dbps up` after `dbps down`', async () => {
    expect((await fleet.run(['down'])).code).toBe(0);
    const r = await fleet.run(['connect', 'orders', '-e', 'SELECT 1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/server "orders" is not running \(stopped by `dbps down`\)/);
    expect(r.stderr).toMatch(/dbps up orders/);
    expect(r.stderr).not.toMatch(/ERROR 2002/);
  });
});
