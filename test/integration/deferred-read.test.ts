// A declared read on a table that does not exist yet is deferred by provision: plan must not call the
// fleet "In sync" (exit 0) until the table exists and the grant is made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

let fleet: LocalFleet;

beforeAll(async () => {
  fleet = await createFleet(
    `version: 1\nfleet: dr\nservers:\n  shared: { driver: local, memory: 128M, port: ${await freePort()} }\nservices:\n  stock: { server: shared }\n  report: { server: shared, reads: [ { service: stock, tables: [levels] } ] }\n`,
  );
  const up = await fleet.run(['up']);
  if (up.code !== 0) throw new Error(up.stderr);
});

afterAll(async () => {
  await destroyAllFleets();
});

describe('a deferred declared read', () => {
  it('keeps plan at exit 1 until the table exists, then provision grants it and plan is in sync', async () => {
    const prov = await fleet.run(['provision']);
    expect(prov.code, prov.stderr).toBe(0);
    expect(prov.stdout).toMatch(/deferred/);
    const plan = await fleet.run(['plan']);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(/Not in sync: 2 grants wait for their tables/);
    expect(plan.stdout).not.toMatch(/In sync: no changes/);

    const table = await fleet.run([
      'connect',
      'stock',
      '--user',
      'stock_migrator',
      '-e',
      'CREATE TABLE levels (id INT PRIMARY KEY)',
    ]);
    expect(table.code, table.stderr).toBe(0);
    expect((await fleet.run(['provision'])).code).toBe(0);
    const again = await fleet.run(['plan']);
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).toMatch(/In sync: no changes/);
    const read = await fleet.run(['connect', 'report', '-e', 'SELECT COUNT(*) FROM stock.levels']);
    expect(read.code, read.stderr).toBe(0);
  });
});
