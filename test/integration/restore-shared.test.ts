// Restoring on a shared server: a whole-server restore names every service that goes back in time (in
// the prompt and in the result); `--database` takes one service's database back to the set and leaves its
// neighbours' newer rows alone; a swap that fails half way leaves the service's current tables readable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort, serverSql } from '../helpers/local-fleet.js';

let fleet: LocalFleet;

function sql<T = Record<string, unknown>>(q: string): Promise<T[]> {
  return serverSql<T>(fleet, 'shared', q);
}
const count = async (table: string, where = '1') =>
  (await sql<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`))[0]!.n;
const sideDatabases = async () =>
  (
    await sql<{ s: string }>(
      "SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'orders\\_%' ORDER BY 1",
    )
  ).map((r) => r.s);

beforeAll(async () => {
  fleet = await createFleet(`version: 1
fleet: rs
defaults: { basePort: ${randomBasePort()} }
servers:
  shared: { memory: 256M }
services:
  orders: { server: shared }
  catalog: { server: shared }
`);
  expect((await fleet.run(['up'])).code).toBe(0);
  expect((await fleet.run(['provision'])).code).toBe(0);
  await sql('CREATE TABLE orders.items (id INT PRIMARY KEY, v VARCHAR(20))');
  await sql("INSERT INTO orders.items SELECT seq, 'before' FROM orders.seq_1_to_100");
  await sql('CREATE TABLE catalog.products (id INT PRIMARY KEY, v VARCHAR(20))');
  await sql("INSERT INTO catalog.products SELECT seq, 'v1' FROM catalog.seq_1_to_10");
  const b = await fleet.run(['backup']);
  expect(b.code, b.stderr).toBe(0);
  // After the set: orders and catalog both move on.
  await sql("INSERT INTO orders.items SELECT seq, 'after' FROM orders.seq_101_to_150");
  await sql("INSERT INTO catalog.products SELECT seq, 'newer' FROM catalog.seq_11_to_15");
}, 240_000);

afterAll(destroyAllFleets);

describe('restore on a shared server', () => {
  it('the prompt for `restore latest orders` names catalog too, and points at --database', async () => {
    const r = await fleet.run(['restore', 'latest', 'orders']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('restore not confirmed');
    expect(r.stderr).toContain('These 2 services go back to the set: orders, catalog.');
    expect(r.stderr).toContain(
      "Not only orders: catalog shares the server and goes back too (`--database` restores one service's database alone).",
    );
    expect(await count('orders.items')).toBe(150);
  });

  it('--database: the prompt says catalog is left as it is', async () => {
    const r = await fleet.run(['restore', 'latest', 'orders', '--database']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Restore database orders of service orders (server shared) from set');
    expect(r.stderr).toContain('Only its tables go back: catalog on shared is left as it is.');
  });

  it('a swap that fails half way leaves orders with its current rows, readable by its account, and no side database', async () => {
    const r = await fleet.run(['restore', 'latest', 'orders', '--database', '--yes'], {
      DBPS_TEST_FAIL_AT: 'restore-database:swap',
    });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('swapping the restored tables into orders failed');
    expect(r.stderr).toContain('nothing was swapped: orders holds its current tables');
    expect(await count('orders.items')).toBe(150);
    const app = await fleet.run(['connect', 'orders', '-e', 'SELECT COUNT(*) AS n FROM items']);
    expect(app.code, app.stderr).toBe(0);
    expect(app.stdout).toMatch(/\b150\b/);
    expect(await sideDatabases()).toEqual([]);
  });

  it('--database restores orders from the set and leaves catalog and its newer rows untouched', async () => {
    const r = await fleet.run(['restore', 'latest', 'orders', '--database', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /orders: database orders on shared back to the set \(1 table\); its previous tables are kept in orders_before_\d{8}T\d{6}Z/,
    );
    expect(r.stdout).toContain('left as they were on shared: catalog');
    expect(await count('orders.items')).toBe(100);
    expect(await count('orders.items', "v = 'after'")).toBe(0);
    expect(await count('catalog.products')).toBe(15);
    expect(await count('catalog.products', "v = 'newer'")).toBe(5);
    // The service's own account still reads and writes its restored table (grants are by database name).
    const app = await fleet.run([
      'connect',
      'orders',
      '-e',
      "INSERT INTO items VALUES (500, 'new'); SELECT COUNT(*) AS n FROM items",
    ]);
    expect(app.code, app.stderr).toBe(0);
    expect(app.stdout).toMatch(/\b101\b/);
    // The previous rows are kept beside it, never deleted; no staging database is left.
    const side = await sideDatabases();
    expect(side).toHaveLength(1);
    expect(side[0]).toMatch(/^orders_before_/);
    expect(await count(`\`${side[0]}\`.items`)).toBe(150);
    // The server was never restarted: catalog's sessions were not cut.
    const status = await fleet.run(['status']);
    expect(status.code).toBe(0);
  });

  it('a whole-server restore names every service that went back in the result', async () => {
    const r = await fleet.run(['restore', 'latest', 'orders', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('back to the set: orders, catalog (2 services)');
    expect(await count('catalog.products')).toBe(10);
  });
});
