// A declared CONNECT link (services.orders.links → customers) on two local servers started by `dbps up`,
// with the real CONNECT engine: provision makes the target's read-only account and the reader's server
// entry, CONNECT table and definer view; orders' app account reads customers' rows through the view and
// nothing else (not the target's tables directly, not an undeclared table through a hand-made wider
// CONNECT table); the audit reports the link as allowed and anything wider as an error; --dump holds no
// password; removing the link removes both sides. Servers are stopped even when a test fails.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import mariadb, { type Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/grants/audit.js';
import { readSecrets, secretKey } from '../../src/runtime/secrets.js';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

const LINK = 'dbps_link_orders__customers';
const ROW = 'linked@example.com';
const SECRET_ROW = 'not-declared-42';
let fleet: LocalFleet;

function yaml(ordersPort: number, customersPort: number, linked: boolean): string {
  return `version: 1
fleet: links-it
services:
  customers: { memory: 128M, port: ${customersPort} }
  orders: { memory: 128M, port: ${ordersPort}${linked ? ', links: [ { service: customers, tables: [customers], via: connect } ]' : ''} }
`;
}
let ports: { orders: number; customers: number };
let installed = '';

async function adminOf(server: 'orders' | 'customers'): Promise<Connection> {
  return mariadb.createConnection({ socketPath: fleet.state().servers[server]!.socket, user: 'root' });
}

async function login(server: 'orders' | 'customers', user: string): Promise<Connection> {
  const secrets = await readSecrets(fleet.stateDir);
  const password = secrets.get(secretKey(server, user)) ?? 'no-such-secret';
  return mariadb.createConnection({ host: '127.0.0.1', port: ports[server], user, password });
}

const text = (rows: unknown) => JSON.stringify(rows, (_, v) => (typeof v === 'bigint' ? String(v) : v));

/** Runs one query as `user` on `server`: its rows as text, or the server's refusal. */
async function attempt(server: 'orders' | 'customers', user: string, sql: string): Promise<string> {
  let c: Connection | undefined;
  try {
    c = await login(server, user);
    return text(await c.query(sql));
  } catch (e) {
    return `refused: ${(e as { sqlMessage?: string }).sqlMessage ?? (e as Error).message}`;
  } finally {
    await c?.end();
  }
}

async function onServer(server: 'orders' | 'customers', statements: string[]): Promise<unknown[]> {
  const c = await adminOf(server);
  try {
    const out: unknown[] = [];
    for (const s of statements) out.push(await c.query(s));
    return out;
  } finally {
    await c.end();
  }
}

async function auditJson(args: string[] = []): Promise<{ code: number; findings: Finding[] }> {
  const r = await fleet.run(['audit-grants', '--json', ...args]);
  expect(r.stdout, r.stderr).toMatch(/^\{/);
  return { code: r.code, findings: (JSON.parse(r.stdout) as { findings: Finding[] }).findings };
}

beforeAll(async () => {
  ports = { orders: await freePort(), customers: await freePort() };
  // Started before the link is declared: the servers' my.cnf loads no CONNECT engine, provision installs it.
  fleet = await createFleet(yaml(ports.orders, ports.customers, false));
  const up = await fleet.run(['up']);
  if (up.code !== 0) throw new Error(up.stderr);
  await writeFile(path.join(fleet.dir, 'services.yaml'), yaml(ports.orders, ports.customers, true));
  const first = await fleet.run(['provision']);
  if (first.code !== 0) throw new Error(`${first.stdout}\n${first.stderr}`);
  installed = first.stdout;
  // The target's tables come from customers' own migration; the link waits for them (deferred), then is made.
  await onServer('customers', [
    'CREATE TABLE customers.customers (id INT PRIMARY KEY, email VARCHAR(100))',
    `INSERT INTO customers.customers VALUES (1, '${ROW}')`,
    'CREATE TABLE customers.secret (id INT PRIMARY KEY, note VARCHAR(100))',
    `INSERT INTO customers.secret VALUES (1, '${SECRET_ROW}')`,
  ]);
  const second = await fleet.run(['provision']);
  if (second.code !== 0) throw new Error(`${second.stdout}\n${second.stderr}`);
});

afterAll(async () => {
  await destroyAllFleets();
});

describe('a declared CONNECT link', () => {
  it('is made by provision, and a second provision and plan have nothing to do', async () => {
    expect(installed).toMatch(/\+ install-connect plugin ha_connect/);
    const plan = await fleet.run(['plan']);
    expect(plan.code, plan.stdout).toBe(0);
    expect(plan.stdout).toMatch(/In sync: no changes/);
    const again = await fleet.run(['provision']);
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).not.toMatch(/applied/);
    const [servers, tables] = (await onServer('orders', [
      'SELECT Server_name AS name, Host AS host, Port AS port, Db AS db, Username AS user FROM mysql.servers',
      "SELECT TABLE_NAME AS t, ENGINE AS e FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'orders' ORDER BY 1",
    ])) as [unknown, unknown];
    expect(servers).toEqual([{ name: LINK, host: '127.0.0.1', port: ports.customers, db: 'customers', user: LINK }]);
    expect(tables).toEqual([
      { t: 'customers__customers', e: null },
      { t: 'customers__customers__remote', e: 'CONNECT' },
    ]);
  });

  it("lets orders' app account read customers' rows through the view, with no FILE of its own", async () => {
    expect(await attempt('orders', 'orders_app', 'SELECT email FROM orders.customers__customers')).toContain(ROW);
    // The CONNECT table itself needs FILE: the app account does not hold it.
    expect(await attempt('orders', 'orders_app', 'SELECT * FROM orders.customers__customers__remote')).toMatch(
      /refused: .*FILE/,
    );
    // The definition names the server entry, never the password (kept in mysql.servers, admins only).
    const created = await attempt('orders', 'orders_app', 'SHOW CREATE TABLE orders.customers__customers__remote');
    expect(created).toContain(`CONNECTION='${LINK}/customers'`);
    const linkPassword = (await readSecrets(fleet.stateDir)).get(secretKey('customers', LINK))!;
    expect(linkPassword.length).toBeGreaterThan(8);
    expect(created).not.toContain(linkPassword);
    expect(await attempt('orders', 'orders_app', 'SELECT * FROM mysql.servers')).toMatch(/^refused/);
  });

  it("loads the engine from the reader's generated my.cnf after a restart (plugin_load_add)", async () => {
    // Forget the INSTALL SONAME registration: after the restart only my.cnf can load CONNECT.
    await onServer('orders', ["UNINSTALL SONAME 'ha_connect'"]);
    const down = await fleet.run(['down', 'orders']);
    expect(down.code, down.stderr).toBe(0);
    const up = await fleet.run(['up', 'orders']);
    expect(up.code, up.stderr).toBe(0);
    const [plugin, engine] = (await onServer('orders', [
      "SELECT COUNT(*) AS n FROM mysql.plugin WHERE dl LIKE 'ha_connect%'",
      "SELECT SUPPORT AS s FROM information_schema.ENGINES WHERE ENGINE = 'CONNECT'",
    ])) as [{ n: bigint }[], { s: string }[]];
    expect(Number(plugin[0]!.n)).toBe(0);
    expect(engine).toEqual([{ s: 'YES' }]);
    expect(await attempt('orders', 'orders_app', 'SELECT email FROM orders.customers__customers')).toContain(ROW);
    const plan = await fleet.run(['plan']);
    expect(plan.code, plan.stdout).toBe(0);
  });

  it("keeps orders away from customers' server and the link account to the declared table", async () => {
    // orders' accounts have no account on customers' server.
    expect(await attempt('customers', 'orders_app', 'SELECT 1')).toMatch(/^refused: Access denied/);
    // The link account reads exactly the declared table.
    const link = async (sql: string) => {
      const c = await mariadb.createConnection({
        host: '127.0.0.1',
        port: ports.customers,
        user: LINK,
        password: (await readSecrets(fleet.stateDir)).get(secretKey('customers', LINK))!,
      });
      try {
        return text(await c.query(sql));
      } catch (e) {
        return `refused: ${(e as { sqlMessage?: string }).sqlMessage}`;
      } finally {
        await c.end();
      }
    };
    expect(await link('SELECT email FROM customers.customers')).toContain(ROW);
    expect(await link('SELECT * FROM customers.secret')).toMatch(/^refused: SELECT command denied/);
    expect(await link('INSERT INTO customers.customers VALUES (2, "x")')).toMatch(/^refused: INSERT command denied/);
    // The reader-side twin (the views' definer, holding FILE) is locked: nobody logs in as it.
    const overSocket = await mariadb
      .createConnection({
        socketPath: fleet.state().servers.orders!.socket,
        user: LINK,
        password: (await readSecrets(fleet.stateDir)).get(secretKey('orders', LINK))!,
      })
      .then(async (c) => {
        await c.end();
        return 'logged in';
      })
      .catch((e: { sqlMessage?: string }) => `refused: ${e.sqlMessage}`);
    expect(overSocket).toMatch(/^refused: .*locked/i);
  });

  it('audits clean, with the link reported as allowed and its declaration', async () => {
    const { code, findings } = await auditJson();
    expect(code, text(findings.filter((f) => f.severity !== 'allowed'))).toBe(0);
    const allowed = findings.filter((f) => f.severity === 'allowed');
    expect(allowed).toContainEqual(
      expect.objectContaining({
        rule: 'remote-table-access',
        server: 'orders',
        account: "'orders_app'@'%'",
        targetService: 'customers',
        object: '`orders`.`customers__customers__remote`',
        message: expect.stringContaining('declared link: services.orders.links reads customers.customers'),
      }),
    );
    expect(allowed).toContainEqual(
      expect.objectContaining({
        rule: 'cross-service-access',
        server: 'customers',
        account: `'${LINK}'@'127.0.0.1'`,
        object: '`customers`.`customers`',
        message: expect.stringContaining('declared link'),
      }),
    );
    expect(allowed).toContainEqual(
      expect.objectContaining({ rule: 'global-data-privileges', server: 'orders', account: `'${LINK}'@'localhost'` }),
    );
  });

  it('carries the link through --dump without its password, and --from-dump audits the same', async () => {
    const file = path.join(fleet.dir, 'catalog.json');
    const dumped = await fleet.run(['audit-grants', '--dump', file, '--json']);
    expect(dumped.code, dumped.stderr).toBe(0);
    const dump = await readFile(file, 'utf8');
    const linkPassword = (await readSecrets(fleet.stateDir)).get(secretKey('customers', LINK))!;
    expect(dump).not.toContain(linkPassword);
    expect(dump).toContain('customers__customers__remote');
    expect(dump).toContain(`mysql://${LINK}:<redacted>@127.0.0.1:${ports.customers}/customers/customers`);
    const offline = await auditJson(['--from-dump', file]);
    expect(offline.code).toBe(0);
    expect(offline.findings.filter((f) => f.severity === 'allowed').map((f) => f.rule)).toContain(
      'remote-table-access',
    );
  });

  it('reports a hand-made wider CONNECT table and a wider grant as errors; provision removes both', async () => {
    await onServer('orders', [
      `CREATE TABLE orders.wider (id INT, note VARCHAR(100)) ENGINE=CONNECT TABLE_TYPE=MYSQL CONNECTION='${LINK}/secret'`,
      `GRANT SELECT ON orders.wider TO '${LINK}'@'localhost'`,
      `CREATE DEFINER='${LINK}'@'localhost' SQL SECURITY DEFINER VIEW orders.wider_v AS SELECT * FROM orders.wider`,
    ]);
    // The target refuses the undeclared table to the link account, whatever the reader's side holds.
    expect(await attempt('orders', 'orders_app', 'SELECT * FROM orders.wider_v')).toMatch(/^refused/);
    const before = await auditJson();
    expect(before.code).toBe(1);
    expect(before.findings).toContainEqual(
      expect.objectContaining({
        rule: 'remote-table-access',
        severity: 'error',
        object: '`orders`.`wider`',
        targetService: 'customers',
        via: `connect MYSQL table orders.wider → mysql://${LINK}:<redacted>@127.0.0.1:${ports.customers}/customers/secret`,
      }),
    );
    expect(before.findings).toContainEqual(
      expect.objectContaining({ rule: 'managed-drift', severity: 'error', account: `'${LINK}'@'localhost'` }),
    );

    // On the target: the link account granted more than its declaration.
    await onServer('customers', [`GRANT SELECT ON customers.secret TO '${LINK}'@'127.0.0.1'`]);
    expect(await attempt('orders', 'orders_app', 'SELECT note FROM orders.wider_v')).toContain(SECRET_ROW);
    const wider = await auditJson();
    expect(wider.findings).toContainEqual(
      expect.objectContaining({
        rule: 'cross-service-access',
        severity: 'error',
        server: 'customers',
        account: `'${LINK}'@'127.0.0.1'`,
        object: '`customers`.`secret`',
        message: expect.stringContaining('beyond its declared link to customers'),
      }),
    );

    // CONNECT lets an account without FILE create a TABLE_TYPE=MYSQL table whose columns it discovers: the
    // migrator can make one through the link's server entry, nobody without FILE reads it, the audit reports it.
    expect(
      await attempt(
        'orders',
        'orders_migrator',
        `CREATE TABLE orders.by_migrator ENGINE=CONNECT TABLE_TYPE=MYSQL CONNECTION='${LINK}/customers'`,
      ),
    ).not.toMatch(/^refused/);
    expect(await attempt('orders', 'orders_migrator', 'SELECT * FROM orders.by_migrator')).toMatch(/refused: .*FILE/);
    expect(await attempt('orders', 'orders_migrator', 'DROP TABLE orders.by_migrator')).toMatch(/refused: .*FILE/);
    expect((await auditJson()).findings).toContainEqual(
      expect.objectContaining({ rule: 'remote-table-access', severity: 'error', object: '`orders`.`by_migrator`' }),
    );

    const plan = await fleet.run(['plan']);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(/drop-link-table table orders\.by_migrator/);
    expect(plan.stdout).toMatch(/drop-link-view view orders\.wider_v/);
    expect(plan.stdout).toMatch(/drop-link-table table orders\.wider/);
    expect(plan.stdout).toMatch(/revoke 'dbps_link_orders__customers'@'127\.0\.0\.1' on customers\.secret/);
    const repaired = await fleet.run(['provision']);
    expect(repaired.code, repaired.stdout).toBe(0);
    expect(await attempt('orders', 'orders_app', 'SELECT * FROM orders.wider_v')).toMatch(/^refused/);
    expect(await attempt('orders', 'orders_app', 'SELECT email FROM orders.customers__customers')).toContain(ROW);
    expect((await auditJson()).code).toBe(0);
  });

  it('is removed on both sides when services.yaml drops it (accounts with --prune)', async () => {
    await writeFile(path.join(fleet.dir, 'services.yaml'), yaml(ports.orders, ports.customers, false));
    const plan = await fleet.run(['plan']);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(/drop-link-server server dbps_link_orders__customers/);
    const pruned = await fleet.run(['provision', '--prune', '--yes']);
    expect(pruned.code, pruned.stdout).toBe(0);
    const [servers, tables, readerAccounts] = (await onServer('orders', [
      'SELECT Server_name FROM mysql.servers',
      "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'orders'",
      `SELECT Host FROM mysql.global_priv WHERE User = '${LINK}'`,
    ])) as unknown[][];
    expect([servers, tables, readerAccounts]).toEqual([[], [], []]);
    const [targetAccounts] = (await onServer('customers', [
      `SELECT Host FROM mysql.global_priv WHERE User = '${LINK}'`,
    ])) as unknown[][];
    expect(targetAccounts).toEqual([]);
    expect(await attempt('orders', 'orders_app', 'SELECT * FROM orders.customers__customers')).toMatch(/^refused/);
    const clean = await fleet.run(['plan']);
    expect(clean.code, clean.stdout).toBe(0);
    expect((await auditJson()).code).toBe(0);
  });
});
