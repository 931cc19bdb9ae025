// audit-grants on a real fleet provisioned by `dbps provision`: the clean fleet reports nothing but its
// declared read; each violation injected by SQL (one at a time, reverted with the finding's own fix) is
// reported with the right rule, account and path; unreachable servers, dumps and report formats.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import mariadb, { type Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditGrantsResult, run as auditRun } from '../../src/commands/audit-grants.js';
import type { Finding } from '../../src/grants/audit.js';
import { ruleCatalog } from '../../src/grants/audit.js';
import { readSecrets, secretKey } from '../../src/runtime/secrets.js';
import { type CliRun, dbps } from '../helpers/dbps-cli.js';
import { vendoredSchemas } from '../helpers/fleets.js';
import { freePort, startTestServer, stopAllTestServers, type TestServer } from '../helpers/mariadb-server.js';

const ROOT_PWD = 'Audit-R00t-pw!';
let server: TestServer;
let admin: Connection;
let dir: string;

function fleetYaml(extra = ''): string {
  return `version: 1
fleet: audit-it
defaults: { accountHost: "%" }
servers:
  shared: { driver: external, host: 127.0.0.1, port: ${server.port}, admin: { user: root, passwordEnv: AUDIT_ROOT_PWD } }
${extra}services:
  orders:      { server: shared, outbox: true }
  customers:   { server: shared }
  inventory:   { server: shared }
  order_items: { server: shared }
  analytics:   { server: shared, reads: [ { service: inventory, tables: [stock_levels] } ] }
`;
}

const cli = (args: string[]): Promise<CliRun> => dbps(args, { cwd: dir, env: { AUDIT_ROOT_PWD: ROOT_PWD } });

async function audit(): Promise<AuditGrantsResult> {
  process.env.AUDIT_ROOT_PWD = ROOT_PWD;
  return auditRun({
    file: path.join(dir, 'services.yaml'),
    stateDir: path.join(dir, '.dbps'),
    services: [],
    failOn: 'warning',
    severity: {},
  });
}

const failing = (r: AuditGrantsResult): Finding[] => r.findings.filter((f) => f.severity !== 'allowed');

// fast-xml-parser gives one element as an object, several as an array.
// biome-ignore lint/suspicious/noExplicitAny: parsed XML
const list = (x: any): any[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

/**
 * JUnit as CI systems read it: one testsuite per service (plus server accounts), one testcase per rule in each,
 * a <failure> exactly where the JSON report has failing findings, allowed reads in system-out, and counts on
 * every testsuite and on testsuites that add up.
 */
function checkJunitStructure(xmlText: string, findings: Finding[], services: string[]): void {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xmlText);
  const root = doc.testsuites;
  expect(root.name).toBe('dbps audit-grants');
  const rules = ruleCatalog().map((r) => r.id);
  const groupOf = (f: Finding) => f.service ?? '(server accounts)';
  const suites = list(root.testsuite);
  const expectedSuites = [...services];
  if (findings.some((f) => f.service === undefined)) expectedSuites.push('(server accounts)');
  expect(suites.map((x) => x.name)).toEqual(expectedSuites);
  let tests = 0;
  let failures = 0;
  for (const suite of suites) {
    const cases = list(suite.testcase);
    expect(cases.map((c) => c.name)).toEqual(rules);
    for (const c of cases) expect(c.classname).toBe(`dbps.audit-grants.${suite.name}`);
    const failed = cases.filter((c) => c.failure !== undefined);
    const expectedFailed = rules.filter((rule) =>
      findings.some((f) => f.rule === rule && groupOf(f) === suite.name && f.severity !== 'allowed'),
    );
    expect(
      failed.map((c) => c.name),
      suite.name,
    ).toEqual(expectedFailed);
    for (const c of failed) {
      const own = findings.filter((f) => f.rule === c.name && groupOf(f) === suite.name && f.severity !== 'allowed');
      expect(c.failure.type).toBe(own.some((f) => f.severity === 'error') ? 'error' : 'warning');
      expect(c.failure.message).toMatch(new RegExp(`^${own.length} findings?: `));
      for (const f of own) expect(c.failure['#text']).toContain(`via ${f.via}`);
    }
    const allowed = cases.filter((c) => c['system-out'] !== undefined).map((c) => c.name);
    expect(allowed).toEqual(
      rules.filter((rule) =>
        findings.some((f) => f.rule === rule && groupOf(f) === suite.name && f.severity === 'allowed'),
      ),
    );
    expect(suite).toMatchObject({
      tests: String(rules.length),
      failures: String(failed.length),
      errors: '0',
      skipped: '0',
    });
    tests += cases.length;
    failures += failed.length;
  }
  expect(root).toMatchObject({ tests: String(tests), failures: String(failures), errors: '0' });
  expect(failures).toBeGreaterThan(0);
}

async function sql(statements: string[]): Promise<void> {
  for (const s of statements) await admin.query(s);
}

// MariaDB's "there is no such grant" errors (global/db, table/column, routine): what undoing a grant
// the test never got to make, or a fix already removed, answers.
const NO_SUCH_GRANT = new Set([1141, 1147, 1403]);

/** Cleanup for finally blocks: every statement runs, a grant already gone is fine, anything else fails. */
async function undo(statements: string[]): Promise<void> {
  let first: unknown;
  for (const s of statements)
    await admin.query(s).catch((e: { errno?: number }) => {
      if (!NO_SUCH_GRANT.has(e.errno ?? 0)) first ??= e;
    });
  if (first) throw first;
}

// Fix SQL may hold several statements (SET DEFAULT ROLE …; REVOKE …;) and a `--` comment.
async function applyFix(fix: string): Promise<void> {
  const statements = fix
    .split(/;\s*/)
    .map((s) => s.trim())
    .filter((s) => s && !s.startsWith('--'));
  await sql(statements);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-audit-'));
  server = await startTestServer({ name: 'audit' });
  // Harden the throwaway server as a real one is: root@localhost by socket only, the admin login
  // with a password, no passwordless root on other hosts. Done on one root connection over TCP.
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
  await writeFile(path.join(dir, 'services.yaml'), fleetYaml());

  // Provision, create the objects that table/column/routine grants need, provision again for the declared read.
  const first = await cli(['provision']);
  expect(first.stderr).not.toMatch(/error:/);
  await sql([
    'CREATE TABLE IF NOT EXISTS inventory.stock_levels (sku INT PRIMARY KEY, qty INT)',
    'CREATE TABLE customers.accounts (id INT PRIMARY KEY, email VARCHAR(100))',
    'INSERT INTO customers.accounts VALUES (1, "a@example.com")',
    'CREATE PROCEDURE customers.merge_accounts() SELECT 1',
    // Packages exist only in Oracle mode (procs_priv Routine_type PACKAGE / PACKAGE BODY).
    "SET SESSION sql_mode = 'ORACLE'",
    'CREATE PACKAGE customers.billing_pkg AS FUNCTION total RETURN INT; END;',
    'CREATE PACKAGE BODY customers.billing_pkg AS FUNCTION total RETURN INT AS BEGIN RETURN 1; END; END;',
    'SET SESSION sql_mode = DEFAULT',
  ]);
  const second = await cli(['provision']);
  expect(second.code, second.stderr).toBe(0);
});

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await stopAllTestServers();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the provisioned fleet', () => {
  it('reports no violation, only the declared read as allowed (CLI, exit 0)', async () => {
    const r = await cli(['audit-grants', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.findings.filter((f: Finding) => f.severity !== 'allowed')).toEqual([]);
    expect(doc.findings).toMatchObject([
      {
        rule: 'cross-service-access',
        severity: 'allowed',
        account: "'analytics_app'@'%'",
        object: '`inventory`.`stock_levels`',
        via: 'direct grant → SELECT on `inventory`.`stock_levels`',
      },
      {
        rule: 'cross-service-access',
        severity: 'allowed',
        account: "'analytics_migrator'@'%'",
        object: '`inventory`.`stock_levels`',
        via: 'direct grant → SELECT on `inventory`.`stock_levels`',
      },
    ]);
    expect(doc.summary).toMatchObject({ errors: 0, warnings: 0, allowed: 2, serversAudited: 1, serversUnreachable: 0 });
  });
});

interface Injection {
  name: string;
  inject: string[];
  expected: Partial<Finding>[];
  /** Cleanup after the fix (roles, accounts the fix leaves behind). */
  cleanup?: string[];
  /** When the fix is not how to revert (e.g. a fix that locks rather than drops). */
  revert?: string[];
}

const INJECTIONS: Injection[] = [
  {
    name: 'direct cross-service grant',
    inject: ["GRANT SELECT ON customers.* TO 'orders_app'@'%'"],
    expected: [
      {
        rule: 'cross-service-access',
        account: "'orders_app'@'%'",
        targetService: 'customers',
        object: '`customers`.*',
        privilege: 'SELECT',
        via: 'direct grant → SELECT on `customers`.*',
      },
    ],
  },
  {
    name: 'through a role (SET ROLE)',
    inject: [
      'CREATE ROLE reporting_r',
      'GRANT SELECT ON customers.* TO reporting_r',
      "GRANT reporting_r TO 'orders_app'@'%'",
    ],
    expected: [
      {
        rule: 'cross-service-access',
        account: "'orders_app'@'%'",
        object: '`customers`.*',
        privilege: 'SELECT',
        via: 'role reporting_r → SELECT on `customers`.*',
      },
    ],
    cleanup: ['DROP ROLE reporting_r'],
  },
  {
    name: 'through a default role',
    inject: [
      'CREATE ROLE reporting_r',
      'GRANT SELECT ON customers.* TO reporting_r',
      "GRANT reporting_r TO 'inventory_app'@'%'",
      "SET DEFAULT ROLE reporting_r FOR 'inventory_app'@'%'",
    ],
    expected: [
      {
        rule: 'cross-service-access',
        account: "'inventory_app'@'%'",
        object: '`customers`.*',
        privilege: 'SELECT',
        via: 'default role reporting_r → SELECT on `customers`.*',
      },
    ],
    cleanup: ['DROP ROLE reporting_r'],
  },
  {
    name: 'through a nested role',
    inject: [
      'CREATE ROLE outer_r',
      'CREATE ROLE inner_r',
      'GRANT INSERT ON customers.* TO inner_r',
      'GRANT inner_r TO outer_r',
      "GRANT outer_r TO 'analytics_app'@'%'",
    ],
    expected: [
      {
        rule: 'cross-service-access',
        account: "'analytics_app'@'%'",
        object: '`customers`.*',
        privilege: 'INSERT',
        via: 'role outer_r → role inner_r → INSERT on `customers`.*',
      },
    ],
    cleanup: ['DROP ROLE outer_r', 'DROP ROLE inner_r'],
  },
  {
    name: 'table-level',
    inject: ["GRANT SELECT ON customers.accounts TO 'inventory_app'@'%'"],
    expected: [
      {
        rule: 'cross-service-access',
        account: "'inventory_app'@'%'",
        object: '`customers`.`accounts`',
        privilege: 'SELECT',
        via: 'direct grant → SELECT on `customers`.`accounts`',
      },
    ],
  },
  {
    name: 'column-level',
    inject: ["GRANT UPDATE (email) ON customers.accounts TO 'orders_app'@'%'"],
    expected: [
      {
        rule: 'cross-service-access',
        account: "'orders_app'@'%'",
        object: '`customers`.`accounts` (`email`)',
        privilege: 'UPDATE',
        via: 'direct grant → UPDATE on `customers`.`accounts` (`email`)',
      },
    ],
  },
  {
    name: 'routine-level',
    inject: ["GRANT EXECUTE ON PROCEDURE customers.merge_accounts TO 'orders_app'@'%'"],
    expected: [
      {
        rule: 'cross-service-access',
        account: "'orders_app'@'%'",
        targetService: 'customers',
        object: 'PROCEDURE `customers`.`merge_accounts`',
        privilege: 'EXECUTE',
        via: 'direct grant → EXECUTE on PROCEDURE `customers`.`merge_accounts`',
        fix: "REVOKE EXECUTE ON PROCEDURE `customers`.`merge_accounts` FROM 'orders_app'@'%';",
      },
    ],
  },
  {
    name: 'global SELECT',
    inject: ["GRANT SELECT ON *.* TO 'customers_app'@'%'"],
    expected: [
      {
        rule: 'global-data-privileges',
        account: "'customers_app'@'%'",
        object: '*.*',
        privilege: 'SELECT',
        via: 'direct grant → SELECT on *.*',
      },
    ],
  },
  {
    name: 'global ALL',
    inject: ["GRANT ALL ON *.* TO 'customers_migrator'@'%'"],
    expected: [
      {
        rule: 'global-data-privileges',
        account: "'customers_migrator'@'%'",
        object: '*.*',
        // The catalog stores ALL as every bit the version knows: the finding names it ALL PRIVILEGES.
        privilege: 'ALL PRIVILEGES',
        via: 'direct grant → ALL PRIVILEGES on *.*',
        fix: "REVOKE ALL PRIVILEGES ON *.* FROM 'customers_migrator'@'%';",
      },
    ],
  },
  {
    name: 'unescaped _ pattern',
    inject: [
      "REVOKE ALL PRIVILEGES ON `order\\_items`.* FROM 'order_items_app'@'%'",
      "GRANT SELECT, INSERT ON `order_items`.* TO 'order_items_app'@'%'",
    ],
    expected: [
      {
        rule: 'wide-db-pattern',
        account: "'order_items_app'@'%'",
        object: '`order_items`.*',
        privilege: 'INSERT, SELECT',
        via: 'direct grant → INSERT, SELECT on `order_items`.*',
      },
    ],
    revert: ["REVOKE ALL PRIVILEGES ON `order_items`.* FROM 'order_items_app'@'%'"],
  },
  {
    name: '% pattern reaching another service',
    inject: ["GRANT SELECT ON `cust%`.* TO 'orders_app'@'%'"],
    expected: [
      {
        rule: 'cross-service-access',
        account: "'orders_app'@'%'",
        targetService: 'customers',
        object: '`cust%`.*',
        privilege: 'SELECT',
        via: 'direct grant → SELECT on `cust%`.*',
      },
      {
        rule: 'wide-db-pattern',
        account: "'orders_app'@'%'",
        object: '`cust%`.*',
        privilege: 'SELECT',
        via: 'direct grant → SELECT on `cust%`.*',
      },
    ],
  },
  {
    name: 'GRANT OPTION',
    inject: ["GRANT SELECT ON orders.* TO 'orders_app'@'%' WITH GRANT OPTION"],
    expected: [
      {
        rule: 'grant-option',
        account: "'orders_app'@'%'",
        object: '`orders`.*',
        privilege: 'GRANT OPTION',
        via: 'direct grant → GRANT OPTION on `orders`.*',
      },
    ],
  },
  {
    name: 'PROXY',
    inject: ["GRANT PROXY ON 'customers_app'@'%' TO 'orders_app'@'%'"],
    expected: [
      {
        rule: 'proxy-privilege',
        account: "'orders_app'@'%'",
        object: "'customers_app'@'%'",
        privilege: 'PROXY',
        via: "direct grant → PROXY on 'customers_app'@'%'",
      },
    ],
  },
  {
    name: 'anonymous account',
    inject: ["CREATE USER ''@'localhost'"],
    expected: [{ rule: 'anonymous-account', account: "''@'localhost'", object: "''@'localhost'", via: 'account' }],
  },
  {
    name: 'account without password',
    inject: ["CREATE USER 'payments_app'@'%'"],
    expected: [
      { rule: 'no-password', account: "'payments_app'@'%'", object: "'payments_app'@'%'", via: 'account' },
      { rule: 'orphan-account', account: "'payments_app'@'%'", object: "'payments_app'@'%'", via: 'account' },
    ],
    revert: ["DROP USER 'payments_app'@'%'"],
  },
  {
    name: 'reach into mysql.*',
    inject: ["GRANT SELECT ON mysql.global_priv TO 'inventory_migrator'@'%'"],
    expected: [
      {
        rule: 'mysql-schema-access',
        account: "'inventory_migrator'@'%'",
        object: '`mysql`.`global_priv`',
        privilege: 'SELECT',
        via: 'direct grant → SELECT on `mysql`.`global_priv`',
      },
    ],
  },
  {
    name: 'managed account drift',
    inject: ["GRANT DROP ON orders.* TO 'orders_app'@'%'"],
    expected: [
      {
        rule: 'managed-drift',
        account: "'orders_app'@'%'",
        object: '`orders`.*',
        privilege: 'DROP',
        via: 'direct grant → DROP on `orders`.*',
      },
    ],
  },
  {
    name: 'orphan account',
    inject: ["CREATE USER 'legacy_app'@'%' IDENTIFIED BY 'Legacy-pw-1'"],
    expected: [{ rule: 'orphan-account', account: "'legacy_app'@'%'", object: "'legacy_app'@'%'", via: 'account' }],
  },
  {
    name: 'PUBLIC',
    inject: ['GRANT SELECT ON customers.* TO PUBLIC'],
    expected: [
      {
        rule: 'cross-service-access',
        account: "'orders_app'@'%'",
        object: '`customers`.*',
        privilege: 'SELECT',
        via: 'PUBLIC → SELECT on `customers`.*',
      },
      {
        rule: 'cross-service-access',
        account: "'analytics_app'@'%'",
        object: '`customers`.*',
        privilege: 'SELECT',
        via: 'PUBLIC → SELECT on `customers`.*',
      },
      // dbps's own accounts reach it too: a server account with data access is an error of its own rule.
      // (dbps_backup holds SELECT on every service database for logical dumps, so PUBLIC adds nothing to it.)
      {
        rule: 'server-account-privileges',
        account: "'dbps_monitor'@'%'",
        object: '`customers`.*',
        privilege: 'SELECT',
        via: 'PUBLIC → SELECT on `customers`.*',
      },
    ],
  },
  {
    name: 'backup account with a data privilege',
    // An external server's dbps_backup is for the host dbps connects from (backupHost, else accountHost "%").
    inject: ["GRANT SELECT ON *.* TO 'dbps_backup'@'%'", "GRANT INSERT ON customers.* TO 'dbps_backup'@'%'"],
    expected: [
      {
        rule: 'server-account-privileges',
        account: "'dbps_backup'@'%'",
        object: '`customers`.*',
        privilege: 'INSERT',
        via: 'direct grant → INSERT on `customers`.*',
      },
      {
        rule: 'server-account-privileges',
        account: "'dbps_backup'@'%'",
        object: '*.*',
        privilege: 'SELECT',
        via: 'direct grant → SELECT on *.*',
      },
    ],
  },
  {
    // Run as OS root or not: root@'%' is not the server's root@localhost, and not the admin dbps logs in as.
    name: "root@'%' with ALL",
    inject: [
      "CREATE USER 'root'@'%' IDENTIFIED BY 'Other-r00t-pw'",
      "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION",
    ],
    expected: [
      { rule: 'orphan-account', account: "'root'@'%'", object: "'root'@'%'", via: 'account' },
      {
        rule: 'global-data-privileges',
        severity: 'error',
        account: "'root'@'%'",
        object: '*.*',
        privilege: 'ALL PRIVILEGES, GRANT OPTION',
        via: 'direct grant → ALL PRIVILEGES, GRANT OPTION on *.*',
      },
    ],
    revert: ["DROP USER 'root'@'%'"],
  },
  {
    // MariaDB matches mysql.db rows against the client's user and host, not the account row: orders_app@'%'
    // connecting from 127.0.0.1 gets this row (see the behaviour test below).
    name: 'grant row of a host with no account',
    inject: [
      "INSERT INTO mysql.db (Host, Db, User, Select_priv) VALUES ('127.0.0.1', 'customers', 'orders_app', 'Y')",
      'FLUSH PRIVILEGES',
    ],
    expected: [
      {
        rule: 'cross-service-access',
        account: "'orders_app'@'%'",
        targetService: 'customers',
        object: '`customers`.*',
        privilege: 'SELECT',
        via: "grant row of 'orders_app'@'127.0.0.1' (no such account; matched by user name and client host) → SELECT on `customers`.*",
        fix: "DELETE FROM mysql.db WHERE Host = '127.0.0.1' AND User = 'orders_app' AND Db = 'customers'; FLUSH PRIVILEGES;",
      },
    ],
  },
  ...(
    [
      ['PROCESS', 'orders_app'],
      ['BINLOG MONITOR', 'customers_app'],
      ['REPLICATION SLAVE', 'inventory_app'],
      ['REPLICATION SLAVE ADMIN', 'analytics_app'],
      ['SLAVE MONITOR', 'orders_migrator'],
    ] as const
  ).map(
    ([privilege, user]): Injection => ({
      name: `global ${privilege}`,
      inject: [`GRANT ${privilege} ON *.* TO '${user}'@'%'`],
      expected: [
        {
          rule: 'global-data-privileges',
          severity: 'error',
          account: `'${user}'@'%'`,
          object: '*.*',
          privilege,
          via: `direct grant → ${privilege} on *.*`,
          fix: `REVOKE ALL PRIVILEGES ON *.* FROM '${user}'@'%';`,
        },
      ],
    }),
  ),
  {
    name: 'routine-level on a PACKAGE BODY (sql_mode=ORACLE)',
    inject: [
      "SET SESSION sql_mode = 'ORACLE'",
      "GRANT EXECUTE ON PACKAGE BODY customers.billing_pkg TO 'orders_app'@'%'",
      'SET SESSION sql_mode = DEFAULT',
    ],
    expected: [
      {
        rule: 'cross-service-access',
        account: "'orders_app'@'%'",
        targetService: 'customers',
        object: 'PACKAGE BODY `customers`.`billing_pkg`',
        privilege: 'EXECUTE',
        via: 'direct grant → EXECUTE on PACKAGE BODY `customers`.`billing_pkg`',
        fix: "SET @dbps_sql_mode = @@SESSION.sql_mode; SET SESSION sql_mode = 'ORACLE'; REVOKE EXECUTE ON PACKAGE BODY `customers`.`billing_pkg` FROM 'orders_app'@'%'; SET SESSION sql_mode = @dbps_sql_mode;",
      },
    ],
  },
];

describe('each injected violation is reported with its rule, account and path, and its fix removes it', () => {
  it('every expectation names the object and the path (via), not only the rule and account', () => {
    expect(INJECTIONS.length).toBeGreaterThanOrEqual(25);
    for (const inj of INJECTIONS)
      for (const e of inj.expected) {
        expect(e.via, `${inj.name}: ${e.rule}`).toBeDefined();
        expect(e.object, `${inj.name}: ${e.rule}`).toBeDefined();
      }
  });

  for (const inj of INJECTIONS) {
    it(inj.name, async () => {
      let findings: Finding[] = [];
      try {
        await sql(inj.inject);
        findings = failing(await audit());
        for (const e of inj.expected)
          expect(findings, JSON.stringify(findings, null, 1)).toContainEqual(expect.objectContaining(e));
        // Nothing unrelated is reported alongside.
        const rules = new Set(inj.expected.map((e) => e.rule));
        expect(
          findings.filter((f) => !rules.has(f.rule)),
          JSON.stringify(findings, null, 1),
        ).toEqual([]);
      } finally {
        if (inj.revert) await sql(inj.revert);
        else
          for (const fix of new Set(findings.map((f) => f.fix))) if (fix && !fix.startsWith('--')) await applyFix(fix);
        if (inj.cleanup) await sql(inj.cleanup);
      }
      if (inj.name === 'unescaped _ pattern') await cli(['provision']);
      expect(failing(await audit())).toEqual([]);
    });
  }
});

describe('isolation by behaviour agrees with the audit', () => {
  it('a cross grant the audit reports really lets orders_app read customers; after the fix it is denied', async () => {
    const pw = (await readSecrets(path.join(dir, '.dbps'))).get(secretKey('shared', 'orders_app'))!;
    const login = () =>
      mariadb.createConnection({ host: '127.0.0.1', port: server.port, user: 'orders_app', password: pw });
    try {
      await sql(["GRANT SELECT ON customers.* TO 'orders_app'@'%'"]);
      const [finding] = failing(await audit());
      const c = await login();
      try {
        expect(await c.query('SELECT email FROM customers.accounts')).toEqual([{ email: 'a@example.com' }]);
        await applyFix(finding!.fix);
      } finally {
        await c.end();
      }
      const again = await login();
      try {
        await expect(again.query('SELECT email FROM customers.accounts')).rejects.toThrow(/denied/i);
      } finally {
        await again.end();
      }
    } finally {
      // A failure before the fix must not leave the grant to the next test.
      await undo(["REVOKE SELECT ON customers.* FROM 'orders_app'@'%'"]);
    }
  });
});

describe('a grant row of a host without an account, by behaviour', () => {
  it('orphan mysql.db row lets orders_app@% read customers from 127.0.0.1; the finding and its fix agree', async () => {
    const pw = (await readSecrets(path.join(dir, '.dbps'))).get(secretKey('shared', 'orders_app'))!;
    const login = () =>
      mariadb.createConnection({ host: '127.0.0.1', port: server.port, user: 'orders_app', password: pw });
    try {
      await sql([
        "INSERT INTO mysql.db (Host, Db, User, Select_priv) VALUES ('127.0.0.1', 'customers', 'orders_app', 'Y')",
        'FLUSH PRIVILEGES',
      ]);
      const findings = failing(await audit());
      expect(findings).toHaveLength(1);
      const c = await login();
      try {
        // The login matched the '%' account, yet the 127.0.0.1 row applies.
        expect(await c.query('SELECT CURRENT_USER() AS me')).toEqual([{ me: 'orders_app@%' }]);
        expect(await c.query('SELECT email FROM customers.accounts')).toEqual([{ email: 'a@example.com' }]);
      } finally {
        await c.end();
      }
      await applyFix(findings[0]!.fix);
      const again = await login();
      try {
        await expect(again.query('SELECT email FROM customers.accounts')).rejects.toThrow(/denied/i);
      } finally {
        await again.end();
      }
      expect(failing(await audit())).toEqual([]);
    } finally {
      await undo([
        "DELETE FROM mysql.db WHERE Host = '127.0.0.1' AND Db = 'customers' AND User = 'orders_app'",
        'FLUSH PRIVILEGES',
      ]);
    }
  });
});

describe('command line', () => {
  it('exit 1 on findings, --fail-on error ignores warnings, formats validate, dump/from-dump audit offline', async () => {
    try {
      await sql([
        "CREATE USER 'legacy_app'@'%' IDENTIFIED BY 'Legacy-pw-1'",
        "GRANT SELECT ON `cust%`.* TO 'orders_app'@'%'",
      ]);
      const text = await cli(['audit-grants']);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^orders\n/m);
      expect(text.stdout).toContain("fix REVOKE SELECT ON `cust%`.* FROM 'orders_app'@'%';");

      const onlyInventory = await cli(['audit-grants', 'inventory', '--json']);
      expect(onlyInventory.code).toBe(0); // the orders and orphan findings are not about inventory

      const dumpFile = path.join(dir, 'catalog.json');
      const dumped = await cli([
        'audit-grants',
        '--dump',
        dumpFile,
        '--format',
        'sarif',
        '--output',
        path.join(dir, 'live.sarif'),
      ]);
      expect(dumped.code).toBe(1);
      const dumpText = await readFile(dumpFile, 'utf8');
      expect(dumpText).not.toMatch(/authentication_string|\*[0-9A-F]{40}|Legacy-pw-1/);
      expect(JSON.parse(dumpText).servers[0].catalog.accounts.length).toBeGreaterThan(10);
      const ajv = new Ajv({ strict: false, allErrors: true });
      (formats as unknown as (a: Ajv) => Ajv)(ajv);
      const validate = ajv.compile(JSON.parse(await readFile(path.join(vendoredSchemas, 'sarif-2.1.0.json'), 'utf8')));
      expect(
        validate(JSON.parse(await readFile(path.join(dir, 'live.sarif'), 'utf8'))),
        JSON.stringify(validate.errors),
      ).toBe(true);
      const junit = await cli(['audit-grants', '--format', 'junit']);
      expect(junit.code).toBe(1);
      expect(XMLValidator.validate(junit.stdout)).toBe(true);
      const json = JSON.parse((await cli(['audit-grants', '--json'])).stdout) as { findings: Finding[] };
      checkJunitStructure(junit.stdout, json.findings, [
        'orders',
        'customers',
        'inventory',
        'order_items',
        'analytics',
      ]);

      await sql(["DROP USER 'legacy_app'@'%'", "REVOKE SELECT ON `cust%`.* FROM 'orders_app'@'%'"]);
      // Offline: same findings as the live run, though the server is now clean.
      const offline = await cli(['audit-grants', '--from-dump', dumpFile, '--format', 'sarif']);
      expect(offline.code).toBe(1);
      expect(JSON.parse(offline.stdout).runs[0].results).toEqual(
        JSON.parse(await readFile(path.join(dir, 'live.sarif'), 'utf8')).runs[0].results,
      );
      const lenient = await cli([
        'audit-grants',
        '--from-dump',
        dumpFile,
        '--fail-on',
        'error',
        '--severity',
        'cross-service-access=warning',
        'wide-db-pattern=warning',
      ]);
      expect(lenient.code).toBe(0);

      expect((await cli(['audit-grants', '--from-dump', path.join(dir, 'services.yaml')])).code).toBe(2);
      expect((await cli(['audit-grants', 'nosuch'])).code).toBe(2);
      expect((await cli(['audit-grants', '--severity', 'nosuch=error'])).code).toBe(2);
    } finally {
      // Before this, a failing assertion left the `cust%` grant behind and the next test failed on it.
      await undo(["DROP USER IF EXISTS 'legacy_app'@'%'", "REVOKE SELECT ON `cust%`.* FROM 'orders_app'@'%'"]);
    }
  });

  it('an admin without SELECT on mysql.* makes its server unreadable (exit 3, the fix named); the other is still audited', async () => {
    try {
      await sql([
        "CREATE USER 'weak_admin'@'127.0.0.1' IDENTIFIED BY 'Weak-adm1n-pw'",
        "GRANT SELECT ON customers.* TO 'weak_admin'@'127.0.0.1'",
        "GRANT SELECT ON customers.* TO 'orders_app'@'%'",
      ]);
      await writeFile(
        path.join(dir, 'services.yaml'),
        fleetYaml(
          // The same server under another name (the config refuses one host:port twice), read by a weaker admin.
          `  weak: { driver: external, host: localhost, port: ${server.port}, admin: { user: weak_admin, passwordEnv: WEAK_PWD } }\n`,
        ).replace('services:\n', 'services:\n  billing: { server: weak }\n'),
      );
      const r = await dbps(['audit-grants', '--json'], {
        cwd: dir,
        env: { AUDIT_ROOT_PWD: ROOT_PWD, WEAK_PWD: 'Weak-adm1n-pw' },
      });
      expect(r.code, r.stderr).toBe(3);
      const doc = JSON.parse(r.stdout);
      expect(doc.servers).toEqual([
        expect.objectContaining({ server: 'shared', status: 'audited' }),
        expect.objectContaining({
          server: 'weak',
          status: 'unreachable',
          reason: 'access',
          error: expect.stringMatching(
            /admin user weak_admin cannot read the privilege tables .*SELECT command denied/,
          ),
          hint: expect.stringContaining("GRANT SELECT ON mysql.* TO 'weak_admin'@'127.0.0.1';"),
        }),
      ]);
      expect(doc.findings.filter((f: Finding) => f.severity !== 'allowed')).toMatchObject([
        { rule: 'cross-service-access', account: "'orders_app'@'%'", via: 'direct grant → SELECT on `customers`.*' },
        // Seen from "shared" (the same mariadbd), the weak admin is just an account no service declares.
        { rule: 'orphan-account', account: "'weak_admin'@'127.0.0.1'", via: 'account' },
      ]);
      expect(r.stderr).toMatch(/server weak was not audited: .*cannot read the privilege tables/);
    } finally {
      await undo([
        "DROP USER IF EXISTS 'weak_admin'@'127.0.0.1'",
        "REVOKE SELECT ON customers.* FROM 'orders_app'@'%'",
      ]);
      await writeFile(path.join(dir, 'services.yaml'), fleetYaml());
    }
  });

  it('a server that accepts the connection and never answers is cut off by --timeout (exit 3)', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((sock) => sockets.push(sock));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    await writeFile(
      path.join(dir, 'services.yaml'),
      fleetYaml(`  hung: { driver: external, host: 127.0.0.1, port: ${port}, admin: { user: root } }\n`).replace(
        'services:\n',
        'services:\n  billing: { server: hung }\n',
      ),
    );
    try {
      const r = await cli(['audit-grants', '--json', '--timeout', '1']);
      expect(r.code, r.stderr).toBe(3);
      const doc = JSON.parse(r.stdout);
      expect(doc.servers).toEqual([
        expect.objectContaining({ server: 'shared', status: 'audited' }),
        expect.objectContaining({
          server: 'hung',
          status: 'unreachable',
          reason: 'timeout',
          error: 'server "hung" did not answer the catalog read within 1 s, so it was not audited',
        }),
      ]);
    } finally {
      for (const sock of sockets) sock.destroy();
      silent.close();
      await writeFile(path.join(dir, 'services.yaml'), fleetYaml());
    }
  });

  it('an unreachable server exits 3 while the reachable one is still audited and reported', async () => {
    const closed = await freePort();
    await writeFile(
      path.join(dir, 'services.yaml'),
      fleetYaml(`  gone: { driver: external, host: 127.0.0.1, port: ${closed}, admin: { user: root } }\n`).replace(
        'services:\n',
        'services:\n  billing: { server: gone }\n',
      ),
    );
    await sql(["GRANT SELECT ON customers.* TO 'orders_app'@'%'"]);
    try {
      const r = await cli(['audit-grants', '--format', 'junit']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/gone/);
      expect(r.stdout).toContain('name="gone reachable"');
      expect(r.stdout).toMatch(
        /<testcase classname="dbps.audit-grants.orders" name="cross-service-access">\s*<failure/,
      );
      const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(r.stdout);
      const servers = list(doc.testsuites.testsuite).find((x: { name: string }) => x.name === 'servers');
      expect(servers).toMatchObject({ tests: '1', failures: '0', errors: '1' });
      expect(list(servers.testcase)).toMatchObject([
        { classname: 'dbps.audit-grants.servers', name: 'gone reachable', error: { type: 'unreachable' } },
      ]);
      expect(doc.testsuites.errors).toBe('1');
    } finally {
      await sql(["REVOKE SELECT ON customers.* FROM 'orders_app'@'%'"]);
      await writeFile(path.join(dir, 'services.yaml'), fleetYaml());
    }
  });
});
