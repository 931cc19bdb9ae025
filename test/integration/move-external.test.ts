// `dbps move` between an external server (one dbps does not run; here a mariadbd on 127.0.0.1 reached with
// an admin account and password over TCP) and a local own instance, in both directions: the move needs
// only an admin connection to each side, and the new server reaching the old one's port.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort, startTestServer, stopAllTestServers, type TestServer } from '../helpers/mariadb-server.js';

const ROOT_PWD = 'Ext-M0ve-pw!';
let ext: TestServer;
let fleet: LocalFleet;
let ownPort: number;
const env = { EXT_ROOT_PWD: ROOT_PWD };

function yaml(cart: string): string {
  return `version: 1\nfleet: mvx\nservers:\n  ext: { driver: external, host: 127.0.0.1, port: ${ext.port}, admin: { user: root, passwordEnv: EXT_ROOT_PWD } }\nservices:\n  orders: { server: ext }\n  cart: ${cart}\n`;
}

beforeAll(async () => {
  ext = await startTestServer({
    name: 'move-ext',
    args: ['--log-bin=ext-bin', '--server-id=4711', '--binlog-format=ROW', '--log-bin-trust-function-creators=ON'],
  });
  const setup = await ext.connect();
  try {
    // The audit after the move must be clean: no passwordless root on other hosts.
    const hostRows = (await setup.query(
      "SELECT Host AS host FROM mysql.global_priv WHERE User = 'root' AND Host NOT IN ('localhost', '127.0.0.1')",
    )) as { host: string }[];
    for (const r of hostRows) await setup.query('DROP USER ?@?', ['root', r.host]);
    await setup.query("ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket");
    await setup.query("ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY ?", [ROOT_PWD]);
  } finally {
    await setup.end();
  }
  ownPort = await freePort();
  fleet = await createFleet(yaml('{ server: ext }'));
  const prov = await fleet.run(['provision'], env);
  if (prov.code !== 0) throw new Error(prov.stdout + prov.stderr);
  await q('CREATE TABLE cart.items (id INT PRIMARY KEY, what TEXT)');
  await q("INSERT INTO cart.items VALUES (1, 'from the external server'), (2, 'kept')");
});

afterAll(async () => {
  await destroyAllFleets();
  await stopAllTestServers();
});

describe('dbps move with an external server', () => {
  it('moves a service from an external server to its own local instance', async () => {
    await writeFile(path.join(fleet.dir, 'services.yaml'), yaml(`{ memory: 128M, port: ${ownPort} }`));
    expect((await fleet.run(['up', 'cart'], env)).code).toBe(0);
    const plan = await fleet.run(['plan'], env);
    expect(plan.stdout).toMatch(/moved: cart's data is on ext \(database cart\), services\.yaml puts it on cart/);
    const moved = await fleet.run(['--json', 'move', 'cart'], env);
    expect(moved.code, moved.stderr).toBe(0);
    const result = JSON.parse(moved.stdout) as { writePauseMs: number; from: { server: string } };
    expect(result.from.server).toBe('ext');
    console.log(`move ext -> local: write pause ${result.writePauseMs} ms`);
    const read = await fleet.run(['connect', 'cart', '-e', 'SELECT what FROM items ORDER BY id'], env);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toContain('from the external server');
    // The old copy on the external server: readable, not writable, for cart's app account.
    const old = await ext.connect({ user: 'cart_app', password: await appPassword('ext'), database: 'cart' });
    try {
      await expect(old.query("INSERT INTO items VALUES (3, 'late')")).rejects.toMatchObject({ errno: 1142 });
      expect(((await old.query('SELECT COUNT(*) AS n FROM items')) as { n: bigint }[])[0]!.n).toBe(2n);
    } finally {
      await old.end();
    }
    // The temporary replication account is gone again.
    expect(await q("SELECT User FROM mysql.user WHERE User = 'dbps_move'")).toEqual([]);
    const audit = await fleet.run(['audit-grants'], env);
    expect(audit.code, audit.stdout).toBe(0);
    expect((await fleet.run(['move', 'cart', '--finish', '--yes'], env)).code).toBe(0);
    expect(await q("SHOW DATABASES LIKE 'cart'")).toEqual([]);
  });

  it('moves it back from the local instance to the external server', async () => {
    await fleet.run(['connect', 'cart', '-e', "INSERT INTO items VALUES (3, 'written locally')"], env);
    await writeFile(path.join(fleet.dir, 'services.yaml'), yaml('{ server: ext }'));
    const moved = await fleet.run(['move', 'cart', '--to', 'ext'], env);
    expect(moved.code, moved.stderr).toBe(0);
    const rows = await q('SELECT what FROM cart.items ORDER BY id');
    expect(rows.map((r) => r.what)).toEqual(['from the external server', 'kept', 'written locally']);
    const app = await ext.connect({ user: 'cart_app', password: await appPassword('ext'), database: 'cart' });
    try {
      await app.query("INSERT INTO items VALUES (4, 'written on ext')");
    } finally {
      await app.end();
    }
  });
});

/** Root on the external server, with the password set above. */
async function q(sql: string): Promise<Record<string, unknown>[]> {
  const c = await ext.connect({ password: ROOT_PWD });
  try {
    return (await c.query(sql)) as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

async function appPassword(server: string): Promise<string> {
  const { readSecrets, secretKey } = await import('../../src/runtime/secrets.js');
  const pw = (await readSecrets(fleet.stateDir)).get(secretKey(server, 'cart_app'));
  if (!pw) throw new Error(`no password for cart_app on ${server}`);
  return pw;
}
