// Paths to another service's data that no grant on it shows: roles granted to PUBLIC (nested), definer-rights
// views/routines/triggers/events, CONNECT tables, foreign keys across services. Each is injected alone on a
// provisioned fleet; the audit reports it with rule, account, object and via; the app account really reaches
// the other service's row through it before the finding's fix, and no longer after. Cleaned up even on failure.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mariadb, { type Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditGrantsResult, run as auditRun } from '../../src/commands/audit-grants.js';
import type { Finding } from '../../src/grants/audit.js';
import { readSecrets, secretKey } from '../../src/runtime/secrets.js';
import { type CliRun, dbps } from '../helpers/dbps-cli.js';
import { startTestServer, stopAllTestServers, type TestServer } from '../helpers/mariadb-server.js';

const ROOT_PWD = 'Isol-R00t-pw!';
const REPORT_PWD = 'Rep0rt-Secret-pw';
const ROW = 'a@example.com';
let server: TestServer;
let admin: Connection;
let dir: string;

function fleetYaml(): string {
  return `version: 1
fleet: isolation-it
defaults: { accountHost: "%" }
servers:
  shared: { driver: external, host: 127.0.0.1, port: ${server.port}, admin: { user: root, passwordEnv: ISOL_ROOT_PWD } }
services:
  orders:    { server: shared }
  customers: { server: shared }
  analytics: { server: shared, reads: [ { service: customers, tables: [customers] } ] }
`;
}

const cli = (args: string[]): Promise<CliRun> => dbps(args, { cwd: dir, env: { ISOL_ROOT_PWD: ROOT_PWD } });

async function audit(): Promise<AuditGrantsResult> {
  process.env.ISOL_ROOT_PWD = ROOT_PWD;
  return auditRun({
    file: path.join(dir, 'services.yaml'),
    stateDir: path.join(dir, '.dbps'),
    services: [],
    failOn: 'warning',
    severity: {},
  });
}

const failing = (r: AuditGrantsResult): Finding[] => r.findings.filter((f) => f.severity !== 'allowed');

async function sql(statements: string[]): Promise<void> {
  for (const s of statements) await admin.query(s);
}

// A fix may hold several statements and a trailing `--` comment.
async function applyFix(fix: string): Promise<void> {
  const statements = fix
    .split(/;\s*(?=[A-Z-]|$)/)
    .map((s) => s.trim())
    .filter((s) => s && !s.startsWith('--'));
  await sql(statements);
}

async function login(user: string): Promise<Connection> {
  const pw = (await readSecrets(path.join(dir, '.dbps'))).get(secretKey('shared', user))!;
  return mariadb.createConnection({ host: '127.0.0.1', port: server.port, user, password: pw });
}

// Runs a probe as orders_app on a fresh connection: true when it reached customers' row.
async function reaches(probe: (c: Connection) => Promise<boolean>): Promise<boolean> {
  const c = await login('orders_app');
  try {
    return await probe(c);
  } catch (e) {
    if (/denied|lack rights|doesn't exist/i.test(String((e as Error).message))) return false;
    throw e;
  } finally {
    await c.end();
  }
}

// Bounded wait for a one-time event run by the scheduler: ON COMPLETION PRESERVE leaves it DISABLED once run.
async function eventRan(db: string, name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const rows = (await admin.query(
      'SELECT STATUS AS s FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?',
      [db, name],
    )) as { s: string }[];
    if (rows[0]?.s === 'DISABLED') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`event ${db}.${name} did not run within 10 s`);
}

const text = (rows: unknown) => JSON.stringify(rows, (_, v) => (typeof v === 'bigint' ? String(v) : v));
const selectsRow = (q: string) => async (c: Connection) => text(await c.query(q)).includes(ROW);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-isolation-'));
  server = await startTestServer({ name: 'isolation', args: ['--event-scheduler=ON'] });
  const setup = await server.connect();
  try {
    const hostRows = (await setup.query(
      "SELECT Host AS host FROM mysql.global_priv WHERE User = 'root' AND Host NOT IN ('localhost', '127.0.0.1')",
    )) as { host: string }[];
    for (const r of hostRows) await setup.query('DROP USER ?@?', ['root', r.host]);
    await setup.query("ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket");
    await setup.query("ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY ?", [ROOT_PWD]);
  } finally {
    await setup.end();
  }
  admin = await mariadb.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', password: ROOT_PWD });
  // The real engines: CONNECT from Debian's mariadb-plugin-connect, FederatedX from mariadb-server.
  await sql(["INSTALL SONAME 'ha_connect'", "INSTALL SONAME 'ha_federatedx'"]);
  await writeFile(path.join(dir, 'services.yaml'), fleetYaml());
  const first = await cli(['provision']);
  expect(first.code, first.stderr).toBe(0);
  await sql([
    'CREATE TABLE customers.customers (id INT PRIMARY KEY, email VARCHAR(100))',
    `INSERT INTO customers.customers VALUES (1, '${ROW}')`,
    'CREATE TABLE orders.items (id INT PRIMARY KEY, sku VARCHAR(20))',
    "INSERT INTO orders.items VALUES (1, 'sku-1')",
  ]);
  const second = await cli(['provision']);
  expect(second.code, second.stderr).toBe(0);
  // The service's own definer-rights objects, created by its migrator (definer = orders_migrator@%).
  const migrator = await login('orders_migrator');
  try {
    await migrator.query('CREATE SQL SECURITY DEFINER VIEW orders.own_items AS SELECT id, sku FROM orders.items');
    await migrator.query('CREATE PROCEDURE orders.own_count() SQL SECURITY DEFINER SELECT COUNT(*) FROM orders.items');
  } finally {
    await migrator.end();
  }
}, 120_000);

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await stopAllTestServers();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the provisioned fleet with a declared read and its own definer-rights objects', () => {
  it('audits clean (exit 0): only the declared read, as allowed', async () => {
    const r = await cli(['audit-grants', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.findings.filter((f: Finding) => f.severity !== 'allowed')).toEqual([]);
    // The declared read is granted to the reader's app and (for views over it) its migrator.
    expect(doc.findings).toMatchObject([
      { rule: 'cross-service-access', severity: 'allowed', account: "'analytics_app'@'%'" },
      { rule: 'cross-service-access', severity: 'allowed', account: "'analytics_migrator'@'%'" },
    ]);
    // The own view and procedure work for the app (they are not a way around anything).
    const c = await login('orders_app');
    try {
      expect(await c.query('SELECT sku FROM orders.own_items')).toEqual([{ sku: 'sku-1' }]);
    } finally {
      await c.end();
    }
  });
});

interface PathCase {
  name: string;
  inject: string[];
  expected: Partial<Finding>[];
  /** Rules besides the expected ones that this injection brings along (e.g. managed-drift through PUBLIC). */
  alsoRules?: string[];
  /** orders_app reaches customers' row through the path (before the fix: true; after: false). */
  probe: (c: Connection) => Promise<boolean>;
  /** Statements run before each probe (e.g. rescheduling an event). */
  beforeProbe?: string[];
  afterBeforeProbe?: () => Promise<void>;
  /** What the probe gives before the fix when the path is dormant (default true). */
  reachesBefore?: boolean;
  /** Use `dbps provision` as the fix instead of the findings' fix SQL. */
  fixByProvision?: boolean;
  cleanup: string[];
}

const CASES: PathCase[] = [
  {
    name: 'roles granted to PUBLIC, nested 2 deep (repaired by provision)',
    inject: [
      'CREATE ROLE pub_outer',
      'CREATE ROLE pub_inner',
      'GRANT SELECT ON customers.customers TO pub_inner',
      'GRANT pub_inner TO pub_outer',
      'GRANT pub_outer TO PUBLIC',
    ],
    expected: [
      {
        rule: 'cross-service-access',
        account: "'orders_app'@'%'",
        targetService: 'customers',
        object: '`customers`.`customers`',
        privilege: 'SELECT',
        via: 'PUBLIC → role pub_outer → role pub_inner → SELECT on `customers`.`customers`',
        fix: 'REVOKE `pub_outer` FROM PUBLIC;',
      },
    ],
    // dbps's own accounts reach the table through PUBLIC too: an error of the server-account rule.
    alsoRules: ['managed-drift', 'server-account-privileges'],
    probe: selectsRow('SELECT email FROM customers.customers'),
    fixByProvision: true,
    cleanup: ['DROP ROLE IF EXISTS pub_outer', 'DROP ROLE IF EXISTS pub_inner'],
  },
  {
    name: 'view with DEFINER root@localhost',
    inject: [
      "CREATE DEFINER = 'root'@'localhost' SQL SECURITY DEFINER VIEW orders.v AS SELECT * FROM customers.customers",
    ],
    expected: [
      {
        rule: 'definer-rights-access',
        account: "'orders_app'@'%'",
        targetService: 'customers',
        object: 'VIEW `orders`.`v`',
        privilege: 'DELETE, INSERT, SELECT, UPDATE',
        via: 'view orders.v (DEFINER root@localhost) → DELETE, INSERT, SELECT, UPDATE on customers.customers',
      },
    ],
    probe: selectsRow('SELECT email FROM orders.v'),
    cleanup: ['DROP VIEW IF EXISTS orders.v'],
  },
  {
    name: 'read-only view with DEFINER root@localhost reports SELECT only',
    inject: [
      "CREATE DEFINER = 'root'@'localhost' VIEW orders.v_emails AS SELECT DISTINCT email FROM customers.customers",
    ],
    expected: [
      {
        rule: 'definer-rights-access',
        account: "'orders_app'@'%'",
        object: 'VIEW `orders`.`v_emails`',
        privilege: 'SELECT',
        via: 'view orders.v_emails (DEFINER root@localhost) → SELECT on customers.customers',
      },
    ],
    probe: selectsRow('SELECT email FROM orders.v_emails'),
    cleanup: ['DROP VIEW IF EXISTS orders.v_emails'],
  },
  {
    name: 'procedure with DEFINER root@localhost',
    inject: [
      "CREATE DEFINER = 'root'@'localhost' PROCEDURE orders.p() SQL SECURITY DEFINER SELECT email FROM customers.customers",
    ],
    expected: [
      {
        rule: 'definer-rights-access',
        account: "'orders_app'@'%'",
        object: 'PROCEDURE `orders`.`p`',
        via: 'procedure orders.p (DEFINER root@localhost) → DELETE, INSERT, SELECT, UPDATE on customers.customers',
        fix: 'ALTER PROCEDURE `orders`.`p` SQL SECURITY INVOKER;',
      },
    ],
    probe: selectsRow('CALL orders.p()'),
    cleanup: ['DROP PROCEDURE IF EXISTS orders.p'],
  },
  {
    name: 'function with DEFINER root@localhost',
    inject: [
      "CREATE DEFINER = 'root'@'localhost' FUNCTION orders.f() RETURNS VARCHAR(100) READS SQL DATA SQL SECURITY DEFINER RETURN (SELECT email FROM customers.customers LIMIT 1)",
    ],
    expected: [
      {
        rule: 'definer-rights-access',
        account: "'orders_app'@'%'",
        object: 'FUNCTION `orders`.`f`',
        via: 'function orders.f (DEFINER root@localhost) → DELETE, INSERT, SELECT, UPDATE on customers.customers',
        fix: 'ALTER FUNCTION `orders`.`f` SQL SECURITY INVOKER;',
      },
    ],
    probe: selectsRow('SELECT orders.f() AS e'),
    cleanup: ['DROP FUNCTION IF EXISTS orders.f'],
  },
  {
    name: 'trigger with DEFINER root@localhost',
    inject: [
      'CREATE TABLE orders.t (cid INT)',
      'CREATE TABLE orders.copy (email VARCHAR(100))',
      "CREATE DEFINER = 'root'@'localhost' TRIGGER orders.trg AFTER INSERT ON orders.t FOR EACH ROW INSERT INTO orders.copy SELECT email FROM customers.customers WHERE id = NEW.cid",
    ],
    expected: [
      {
        rule: 'definer-rights-access',
        account: "'orders_app'@'%'",
        object: 'TRIGGER `orders`.`trg`',
        via: 'trigger orders.trg (DEFINER root@localhost) → DELETE, INSERT, SELECT, UPDATE on customers.customers',
      },
    ],
    probe: async (c) => {
      await c.query('DELETE FROM orders.copy');
      await c.query('INSERT INTO orders.t VALUES (1)');
      return text(await c.query('SELECT email FROM orders.copy')).includes(ROW);
    },
    cleanup: ['DROP TABLE IF EXISTS orders.t', 'DROP TABLE IF EXISTS orders.copy'],
  },
  {
    name: 'event with DEFINER root@localhost',
    inject: [
      'CREATE TABLE orders.copy (email VARCHAR(100))',
      "CREATE DEFINER = 'root'@'localhost' EVENT orders.e ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 DAY ON COMPLETION PRESERVE DISABLE DO INSERT INTO orders.copy SELECT email FROM customers.customers",
    ],
    expected: [
      {
        rule: 'definer-rights-access',
        account: "'orders_app'@'%'",
        object: 'EVENT `orders`.`e`',
        via: 'event orders.e (DEFINER root@localhost) → DELETE, INSERT, SELECT, UPDATE on customers.customers',
        fix: "ALTER DEFINER = 'orders_migrator'@'%' EVENT `orders`.`e` COMMENT '';",
      },
    ],
    // Run the event now (as admin, keeping its definer), wait until the scheduler ran it, then read.
    probe: async (c) => {
      await sql(['DELETE FROM orders.copy']);
      const [row] = (await admin.query(
        "SELECT DEFINER AS d FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'orders' AND EVENT_NAME = 'e'",
      )) as { d: string }[];
      const d = row!.d;
      const at = d.lastIndexOf('@');
      await admin.query(
        `ALTER DEFINER = '${d.slice(0, at)}'@'${d.slice(at + 1)}' EVENT orders.e ON SCHEDULE AT CURRENT_TIMESTAMP ON COMPLETION PRESERVE ENABLE`,
      );
      await eventRan('orders', 'e');
      // DISABLED is set when the scheduler hands the event to its worker thread, before the body has
      // run: on a busy machine the row comes a moment later. Denied (after the fix), it never comes.
      for (let i = 0; i < 50; i++) {
        if (text(await c.query('SELECT email FROM orders.copy')).includes(ROW)) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    },
    cleanup: ['DROP EVENT IF EXISTS orders.e', 'DROP TABLE IF EXISTS orders.copy'],
  },
  {
    name: 'view of orders defined by an account of customers',
    inject: ["CREATE DEFINER = 'customers_app'@'%' VIEW orders.peek AS SELECT DISTINCT email FROM customers.customers"],
    expected: [
      {
        rule: 'definer-rights-access',
        account: "'orders_app'@'%'",
        object: 'VIEW `orders`.`peek`',
        via: 'view orders.peek (DEFINER customers_app@%) → SELECT on customers.customers',
      },
      {
        rule: 'definer-account',
        account: "'customers_app'@'%'",
        targetService: 'customers',
        object: 'VIEW `orders`.`peek`',
        via: 'view orders.peek (DEFINER customers_app@%) → account of customers',
      },
    ],
    probe: selectsRow('SELECT email FROM orders.peek'),
    cleanup: ['DROP VIEW IF EXISTS orders.peek'],
  },
  {
    // The server runs a routine only when its definer holds EXECUTE on it: customers_app does not, so the
    // procedure is dormant (1370 for orders_app) and only its foreign definer is reported.
    name: 'dormant procedure of orders defined by an account of customers',
    inject: [
      "CREATE DEFINER = 'customers_app'@'%' PROCEDURE orders.peek_p() SQL SECURITY DEFINER SELECT email FROM customers.customers",
    ],
    expected: [
      {
        rule: 'definer-account',
        account: "'customers_app'@'%'",
        targetService: 'customers',
        object: 'PROCEDURE `orders`.`peek_p`',
        via: 'procedure orders.peek_p (DEFINER customers_app@%) → account of customers',
        fix: 'ALTER PROCEDURE `orders`.`peek_p` SQL SECURITY INVOKER;',
      },
    ],
    reachesBefore: false,
    probe: selectsRow('CALL orders.peek_p()'),
    cleanup: ['DROP PROCEDURE IF EXISTS orders.peek_p'],
  },
  {
    name: 'view whose definer no longer exists (re-creating the account revives it)',
    inject: [
      "CREATE USER 'old_dba'@'%' IDENTIFIED BY 'Old-dba-pw1'",
      "CREATE DEFINER = 'old_dba'@'%' VIEW orders.legacy AS SELECT DISTINCT email FROM customers.customers",
      "DROP USER 'old_dba'@'%'",
    ],
    expected: [
      {
        rule: 'definer-account',
        account: "'old_dba'@'%'",
        object: 'VIEW `orders`.`legacy`',
        via: 'view orders.legacy (DEFINER old_dba@%) → no such account',
      },
    ],
    // Whoever creates old_dba@% again with a read on customers hands it to orders_app.
    probe: async (c) => {
      await admin.query("CREATE USER IF NOT EXISTS 'old_dba'@'%' IDENTIFIED BY 'Old-dba-pw1'");
      await admin.query("GRANT SELECT ON customers.* TO 'old_dba'@'%'");
      try {
        return text(await c.query('SELECT email FROM orders.legacy')).includes(ROW);
      } finally {
        await admin.query("DROP USER 'old_dba'@'%'");
      }
    },
    cleanup: ['DROP VIEW IF EXISTS orders.legacy', "DROP USER IF EXISTS 'old_dba'@'%'"],
  },
  {
    name: 'CONNECT table to another service, password in its definition',
    inject: [
      `CREATE USER 'report_user'@'%' IDENTIFIED BY '${REPORT_PWD}'`,
      "GRANT SELECT ON customers.* TO 'report_user'@'%'",
      // CONNECT TABLE_TYPE=MYSQL needs FILE of whoever reads it.
      "GRANT FILE ON *.* TO 'orders_app'@'%'",
      `CREATE TABLE orders.remote_customers ENGINE=CONNECT TABLE_TYPE=MYSQL CONNECTION='mysql://report_user:${REPORT_PWD}@127.0.0.1:PORT/customers/customers'`,
    ],
    expected: [
      {
        rule: 'remote-table-access',
        account: "'orders_app'@'%'",
        targetService: 'customers',
        object: '`orders`.`remote_customers`',
        via: 'connect MYSQL table orders.remote_customers → mysql://report_user:<redacted>@127.0.0.1:PORT/customers/customers',
        fix: 'DROP TABLE IF EXISTS `orders`.`remote_customers`;',
      },
      {
        rule: 'remote-table-secret',
        account: "'orders_app'@'%'",
        object: '`orders`.`remote_customers`',
        via: 'connect table orders.remote_customers → password in its definition (mysql://report_user:<redacted>@127.0.0.1:PORT/customers/customers)',
      },
      { rule: 'global-data-privileges', account: "'orders_app'@'%'", object: '*.*', via: 'direct grant → FILE on *.*' },
      { rule: 'orphan-account', account: "'report_user'@'%'", object: "'report_user'@'%'", via: 'account' },
    ],
    probe: selectsRow('SELECT email FROM orders.remote_customers'),
    cleanup: ['DROP TABLE IF EXISTS orders.remote_customers', "DROP USER IF EXISTS 'report_user'@'%'"],
  },
  {
    // FederatedX needs no FILE: the app account reads the other service's rows with its own privileges.
    name: 'FEDERATED table to another service, password in its definition',
    inject: [
      `CREATE USER 'report_user'@'%' IDENTIFIED BY '${REPORT_PWD}'`,
      "GRANT SELECT ON customers.* TO 'report_user'@'%'",
      `CREATE TABLE orders.fed_customers (id INT, email VARCHAR(100)) ENGINE=FEDERATED CONNECTION='mysql://report_user:${REPORT_PWD}@127.0.0.1:PORT/customers/customers'`,
    ],
    expected: [
      {
        rule: 'remote-table-access',
        account: "'orders_app'@'%'",
        targetService: 'customers',
        object: '`orders`.`fed_customers`',
        via: 'federated table orders.fed_customers → mysql://report_user:<redacted>@127.0.0.1:PORT/customers/customers',
      },
      {
        rule: 'remote-table-secret',
        account: "'orders_app'@'%'",
        object: '`orders`.`fed_customers`',
        via: 'federated table orders.fed_customers → password in its definition (mysql://report_user:<redacted>@127.0.0.1:PORT/customers/customers)',
      },
      { rule: 'orphan-account', account: "'report_user'@'%'", object: "'report_user'@'%'", via: 'account' },
    ],
    probe: selectsRow('SELECT email FROM orders.fed_customers'),
    cleanup: ['DROP TABLE IF EXISTS orders.fed_customers', "DROP USER IF EXISTS 'report_user'@'%'"],
  },
  {
    name: 'foreign key from orders to customers',
    inject: [
      'CREATE TABLE orders.o (id INT PRIMARY KEY, customer_id INT, CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customers.customers (id)) ENGINE=InnoDB',
    ],
    expected: [
      {
        rule: 'cross-service-foreign-key',
        severity: 'warning',
        account: "'orders_app'@'%'",
        targetService: 'customers',
        object: 'CONSTRAINT `fk_customer` ON `orders`.`o`',
        via: 'foreign key orders.o.fk_customer → customers.customers',
        fix: 'ALTER TABLE `orders`.`o` DROP FOREIGN KEY `fk_customer`;',
      },
    ],
    // The probe learns which customer ids exist: 1 is accepted, 999 refused (1452), with no grant on customers.
    probe: async (c) => {
      await c.query('DELETE FROM orders.o');
      await c.query('INSERT INTO orders.o VALUES (1, 1)');
      try {
        await c.query('INSERT INTO orders.o VALUES (2, 999)');
        return false;
      } catch (e) {
        if ((e as { errno?: number }).errno === 1452) return true;
        throw e;
      }
    },
    cleanup: ['DROP TABLE IF EXISTS orders.o'],
  },
];

describe('each path is reported with rule, account, object and via; behaviour agrees before and after the fix', () => {
  it('every expectation names rule, account, object and via', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(13);
    for (const c of CASES)
      for (const e of c.expected) {
        for (const k of ['rule', 'account', 'object', 'via'] as const) expect(e[k], `${c.name}: ${k}`).toBeDefined();
      }
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const port = String(server.port);
      const expected = c.expected.map((e) => ({ ...e, ...(e.via ? { via: e.via.replaceAll('PORT', port) } : {}) }));
      try {
        await sql(c.inject.map((q) => q.replaceAll('PORT', port)));
        const findings = failing(await audit());
        for (const e of expected)
          expect(findings, JSON.stringify(findings, null, 1)).toContainEqual(expect.objectContaining(e));
        const rules = new Set([...expected.map((e) => e.rule), ...(c.alsoRules ?? [])]);
        expect(
          findings.filter((f) => !rules.has(f.rule)),
          JSON.stringify(findings, null, 1),
        ).toEqual([]);
        expect(JSON.stringify(findings)).not.toContain(REPORT_PWD);

        expect(await reaches(c.probe), 'orders_app reaches the row before the fix').toBe(c.reachesBefore ?? true);
        if (c.name.startsWith('CONNECT')) await checkConnectSecretAndDump();

        if (c.fixByProvision) {
          const plan = await cli(['plan']);
          expect(plan.stdout).toMatch(/REVOKE `pub_outer` FROM PUBLIC/);
          const p = await cli(['provision']);
          expect(p.code, p.stderr).toBe(0);
        } else {
          for (const fix of new Set(findings.map((f) => f.fix))) if (fix) await applyFix(fix);
        }
        expect(failing(await audit())).toEqual([]);
        expect(await reaches(c.probe), 'orders_app is denied after the fix').toBe(false);
      } finally {
        await sql(c.cleanup);
        await cli(['provision']);
      }
      expect(failing(await audit())).toEqual([]);
    });
  }
});

// While the CONNECT table exists: orders_app reads the password with SHOW CREATE TABLE; the dump carries the
// table with the marker instead; --from-dump reports the same findings offline.
async function checkConnectSecretAndDump(): Promise<void> {
  const c = await login('orders_app');
  try {
    const [row] = (await c.query('SHOW CREATE TABLE orders.remote_customers')) as Record<string, string>[];
    expect(row!['Create Table']).toContain(REPORT_PWD);
  } finally {
    await c.end();
  }
  const dumpFile = path.join(dir, 'catalog.json');
  const dumped = await cli(['audit-grants', '--dump', dumpFile, '--json']);
  expect(dumped.code).toBe(1);
  const text = await readFile(dumpFile, 'utf8');
  expect(text).not.toContain(REPORT_PWD);
  const catalog = JSON.parse(text).servers[0].catalog;
  expect(catalog.remoteTables).toMatchObject([
    {
      db: 'orders',
      table: 'remote_customers',
      engine: 'CONNECT',
      tableType: 'MYSQL',
      connection: `mysql://report_user:<redacted>@127.0.0.1:${server.port}/customers/customers`,
      hasPassword: true,
    },
  ]);
  expect(catalog.definerObjects).toEqual(
    expect.arrayContaining([expect.objectContaining({ kind: 'VIEW', db: 'orders', name: 'own_items' })]),
  );
  const offline = await cli(['audit-grants', '--from-dump', dumpFile, '--json']);
  expect(offline.code).toBe(1);
  const strip = (fs: Finding[]) => fs.map((f) => `${f.rule} ${f.account} ${f.via}`).sort();
  expect(strip(JSON.parse(offline.stdout).findings)).toEqual(strip(JSON.parse(dumped.stdout).findings));
}

describe('procs_priv rows are matched as the server matches them: account host or client IP, not host name', () => {
  it("a ('localhost', …) routine row gives orders_app@'%' nothing (1370 over socket and TCP) and is not reported; a ('127.0.0.1', …) row works over TCP and is", async () => {
    const pw = (await readSecrets(path.join(dir, '.dbps'))).get(secretKey('shared', 'orders_app'))!;
    const overSocket = () => mariadb.createConnection({ socketPath: server.socket, user: 'orders_app', password: pw });
    const overTcp = () => login('orders_app');
    const calls = async (open: () => Promise<Connection>, q: string): Promise<boolean> => {
      const c = await open();
      try {
        return text(await c.query(q)).includes(ROW);
      } catch (e) {
        if (/denied/i.test(String((e as Error).message))) return false;
        throw e;
      } finally {
        await c.end();
      }
    };
    const row = (host: string) =>
      `INSERT INTO mysql.procs_priv (Host, Db, User, Routine_name, Routine_type, Proc_priv) VALUES ('${host}', 'customers', 'orders_app', 'emails', 'PROCEDURE', 'Execute')`;
    try {
      await sql([
        'CREATE PROCEDURE customers.emails() SQL SECURITY DEFINER SELECT email FROM customers.customers',
        row('localhost'),
        // The same host name in tables_priv does apply over the socket (tables_priv matches host names).
        "INSERT INTO mysql.tables_priv (Host, Db, User, Table_name, Table_priv) VALUES ('localhost', 'customers', 'orders_app', 'customers', 'Select')",
        'FLUSH PRIVILEGES',
      ]);
      expect(await calls(overSocket, 'CALL customers.emails()')).toBe(false);
      expect(await calls(overTcp, 'CALL customers.emails()')).toBe(false);
      expect(await calls(overSocket, 'SELECT email FROM customers.customers')).toBe(true);
      const named = failing(await audit());
      expect(named, JSON.stringify(named, null, 1)).toEqual([
        expect.objectContaining({
          rule: 'cross-service-access',
          account: "'orders_app'@'%'",
          object: '`customers`.`customers`',
          via: "grant row of 'orders_app'@'localhost' (no such account; matched by user name and client host) → SELECT on `customers`.`customers`",
        }),
      ]);
      await sql([
        "DELETE FROM mysql.tables_priv WHERE User = 'orders_app' AND Db = 'customers'",
        "UPDATE mysql.procs_priv SET Host = '127.0.0.1' WHERE User = 'orders_app' AND Db = 'customers'",
        'FLUSH PRIVILEGES',
      ]);
      expect(await calls(overTcp, 'CALL customers.emails()')).toBe(true);
      expect(await calls(overSocket, 'CALL customers.emails()')).toBe(false);
      const byIp = failing(await audit());
      expect(byIp, JSON.stringify(byIp, null, 1)).toEqual([
        expect.objectContaining({
          rule: 'cross-service-access',
          account: "'orders_app'@'%'",
          object: 'PROCEDURE `customers`.`emails`',
          via: "grant row of 'orders_app'@'127.0.0.1' (no such account; matched by user name and client host) → EXECUTE on PROCEDURE `customers`.`emails`",
        }),
      ]);
      await applyFix(byIp[0]!.fix);
      expect(await calls(overTcp, 'CALL customers.emails()')).toBe(false);
    } finally {
      await sql([
        "DELETE FROM mysql.procs_priv WHERE User = 'orders_app' AND Db = 'customers'",
        "DELETE FROM mysql.tables_priv WHERE User = 'orders_app' AND Db = 'customers'",
        'FLUSH PRIVILEGES',
        'DROP PROCEDURE IF EXISTS customers.emails',
      ]);
    }
    expect(failing(await audit())).toEqual([]);
  });
});
