// plan/provision on local servers started by the product's own `dbps up` (socket admin): instance
// isolation (a service alone on its server) and schema isolation (two services on a shared one).
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSecrets, secretKey } from '../../src/runtime/secrets.js';
import { readState } from '../../src/runtime/state.js';
import { dbps } from '../helpers/dbps-cli.js';
import { freePort } from '../helpers/mariadb-server.js';

let dir: string;
let ports: Record<string, number>;

const cli = (args: string[]) => dbps(args, { cwd: dir });

async function login(server: string, user: string) {
  const password = (await readSecrets(path.join(dir, '.dbps'))).get(secretKey(server, user));
  return mariadb.createConnection({
    host: '127.0.0.1',
    port: ports[server]!,
    user,
    password: password!,
    connectTimeout: 3000,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-prov-local-'));
  // As root, `dbps up` runs servers as mysql, which must pass through this directory.
  await chmod(dir, 0o711);
  const [p1, p2] = [await freePort(), await freePort()];
  await writeFile(
    path.join(dir, 'services.yaml'),
    `version: 1
fleet: loc
servers:
  shared: { driver: local, memory: 128M, port: ${p1} }
services:
  orders: { memory: 128M, port: ${p2} }
  inventory: { server: shared }
  inv_x: { server: shared }
`,
  );
  const up = await cli(['up']);
  if (up.code !== 0) throw new Error(`dbps up failed: ${up.stderr}`);
  const state = await readState(path.join(dir, '.dbps'));
  ports = Object.fromEntries(Object.entries(state.servers).map(([k, v]) => [k, v.port]));
});

afterAll(async () => {
  if (dir) {
    await cli(['down']);
    await rm(dir, { recursive: true, force: true });
  }
});

describe('provision on local servers (dbps up)', () => {
  it('converges both isolation modes, then has nothing left to do', async () => {
    expect((await cli(['plan'])).code).toBe(1);
    const r = await cli(['provision']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const again = await cli(['provision']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/No changes\./);
  });

  it('isolates by behaviour: own database works, the neighbour is denied, and so is invXx, which an unescaped inv_x would match', async () => {
    // A database made by hand whose name differs from inv_x only where `_` would be a LIKE wildcard.
    const made = await cli([
      'connect',
      'inventory',
      '--admin',
      '-e',
      'CREATE DATABASE invXx; CREATE TABLE invXx.secret (id INT); INSERT INTO invXx.secret VALUES (42)',
    ]);
    expect(made.code).toBe(0);
    const inv = await login('shared', 'inventory_app');
    const invMig = await login('shared', 'inventory_migrator');
    const x = await login('shared', 'inv_x_app');
    const xMig = await login('shared', 'inv_x_migrator');
    const orders = await login('orders', 'orders_app');
    const ordersMig = await login('orders', 'orders_migrator');
    try {
      await invMig.query('CREATE TABLE inventory.t (id INT)');
      await inv.query('INSERT INTO inventory.t VALUES (1)');
      // migrator can ALTER, app cannot.
      await invMig.query('ALTER TABLE inventory.t ADD COLUMN c INT');
      await expect(inv.query('ALTER TABLE inventory.t ADD COLUMN d INT')).rejects.toThrow(/denied/i);
      await expect(inv.query('CREATE TABLE inv_x.t (id INT)')).rejects.toThrow(/denied/i);
      await expect(x.query('SELECT * FROM inventory.t')).rejects.toThrow(/denied/i);
      // inv_x's own database works for both of its accounts …
      await xMig.query('CREATE TABLE inv_x.t (id INT)');
      await x.query('INSERT INTO inv_x.t VALUES (1)');
      await xMig.query('ALTER TABLE inv_x.t ADD COLUMN c INT');
      await expect(x.query('ALTER TABLE inv_x.t ADD COLUMN d INT')).rejects.toThrow(/denied/i);
      // … and invXx, which `inv_x`.* unescaped would also grant, is denied to both.
      for (const c of [x, xMig]) {
        await expect(c.query('SELECT * FROM invXx.secret')).rejects.toThrow(/denied/i);
        await expect(c.query('INSERT INTO invXx.secret VALUES (1)')).rejects.toThrow(/denied/i);
        await expect(c.query('CREATE TABLE invXx.t2 (id INT)')).rejects.toThrow(/denied/i);
      }
      await orders.query('CREATE TEMPORARY TABLE orders.tmp (id INT)');
      await ordersMig.query('CREATE TABLE orders.t (id INT)');
      await ordersMig.query('ALTER TABLE orders.t ADD COLUMN c INT');
      await expect(orders.query('ALTER TABLE orders.t ADD COLUMN d INT')).rejects.toThrow(/denied/i);
      await expect(orders.query('CREATE TEMPORARY TABLE mysql.tmp (id INT)')).rejects.toThrow(/denied/i);
    } finally {
      await Promise.all([inv.end(), invMig.end(), x.end(), xMig.end(), orders.end(), ordersMig.end()]);
    }
    // Instance isolation: the orders account does not exist on the shared server at all.
    const pw = (await readSecrets(path.join(dir, '.dbps'))).get(secretKey('orders', 'orders_app'));
    await expect(
      mariadb.createConnection({
        host: '127.0.0.1',
        port: ports.shared!,
        user: 'orders_app',
        password: pw!,
        connectTimeout: 3000,
      }),
    ).rejects.toThrow(/denied/i);
  });
});
