import { describe, expect, it } from 'vitest';
import { fleetFromText } from '../../../src/config/from-text.js';
import { auditCatalog, findingsForServices, summarize } from '../../../src/grants/audit.js';
import { AUDIT_RULES } from '../../../src/grants/audit-rules/index.js';
import { loadCatalogFixture } from './catalog-fixtures.js';

const audit = (fixture: string) => {
  const f = loadCatalogFixture(fixture);
  return auditCatalog(f.fleet, f.fleet.servers[0]!, f.catalog, {
    adminUsers: f.adminUsers,
    adminAccounts: f.adminAccounts,
    severity: f.severity,
    rotations: f.rotations,
    now: f.now,
  });
};
const failing = (fixture: string) => audit(fixture).filter((f) => f.severity !== 'allowed');

describe('every rule has a fixture that triggers it and one that does not', () => {
  for (const rule of AUDIT_RULES) {
    it(`${rule.id} fires on ${rule.id}.trigger.json`, () => {
      const found = failing(`${rule.id}.trigger`).filter((f) => f.rule === rule.id);
      expect(found.length).toBeGreaterThan(0);
      for (const f of found) {
        expect(f.severity).toBe(rule.defaultSeverity);
        expect(f.fix).not.toBe('');
      }
    });
    it(`${rule.id} stays quiet on ${rule.id}.pass.json`, () => {
      expect(failing(`${rule.id}.pass`).filter((f) => f.rule === rule.id)).toEqual([]);
    });
  }
});

describe('the clean provisioned catalog', () => {
  it('reports nothing but the declared read, as allowed', () => {
    const all = audit('base');
    expect(all).toStrictEqual([
      {
        rule: 'cross-service-access',
        severity: 'allowed',
        server: 'shared',
        account: "'analytics_app'@'%'",
        service: 'analytics',
        targetService: 'inventory',
        object: '`inventory`.`stock_levels`',
        privilege: 'SELECT',
        via: 'direct grant → SELECT on `inventory`.`stock_levels`',
        message: 'declared read: services.analytics.reads allows SELECT on inventory.stock_levels',
        fix: '',
      },
      // The migrator reads the same table, to create views over it (README: SQL SECURITY INVOKER).
      expect.objectContaining({ severity: 'allowed', account: "'analytics_migrator'@'%'", privilege: 'SELECT' }),
    ]);
    expect(summarize(all, 'warning', 1, 0)).toMatchObject({ errors: 0, warnings: 0, allowed: 2, failing: 0 });
  });
});

describe('findings carry the rule, account, path and fix', () => {
  it('direct cross-service grant', () => {
    expect(failing('cross-service-access.trigger')).toStrictEqual([
      {
        rule: 'cross-service-access',
        severity: 'error',
        server: 'shared',
        account: "'orders_app'@'%'",
        service: 'orders',
        targetService: 'customers',
        object: '`customers`.*',
        privilege: 'SELECT',
        via: 'direct grant → SELECT on `customers`.*',
        message: "orders's account can SELECT customers's data in database customers",
        fix: "REVOKE SELECT ON `customers`.* FROM 'orders_app'@'%';",
      },
    ]);
  });

  it('through a role that can be SET', () => {
    const [f] = failing('role-direct');
    expect(f).toMatchObject({
      rule: 'cross-service-access',
      account: "'orders_app'@'%'",
      via: 'role reporting_r → SELECT on `customers`.*',
      fix: "REVOKE `reporting_r` FROM 'orders_app'@'%';",
    });
  });

  it('through a default role, at table level', () => {
    const [f] = failing('role-default');
    expect(f).toMatchObject({
      rule: 'cross-service-access',
      object: '`customers`.`accounts`',
      via: 'default role reporting_r → SELECT on `customers`.`accounts`',
      fix: "SET DEFAULT ROLE NONE FOR 'orders_app'@'%'; REVOKE `reporting_r` FROM 'orders_app'@'%';",
    });
  });

  it('through nested roles, at routine level', () => {
    const found = failing('role-nested');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      rule: 'cross-service-access',
      via: 'default role outer_r → role inner_r → EXECUTE on PROCEDURE `customers`.`merge_accounts`',
    });
  });

  it('at column level', () => {
    expect(failing('column-grant')).toMatchObject([
      {
        rule: 'cross-service-access',
        account: "'inventory_app'@'%'",
        targetService: 'orders',
        object: '`orders`.`orders` (`status`)',
        fix: "REVOKE UPDATE (`status`) ON `orders`.`orders` FROM 'inventory_app'@'%';",
      },
    ]);
  });

  it('through PUBLIC, for every service account but the owner', () => {
    const found = failing('public-role');
    const accounts = found.filter((f) => f.rule === 'cross-service-access').map((f) => f.account);
    expect(accounts).toContain("'orders_app'@'%'");
    expect(accounts).not.toContain("'customers_app'@'%'");
    expect(
      found.every((f) => f.via.startsWith('PUBLIC → ') && f.fix === 'REVOKE SELECT ON `customers`.* FROM PUBLIC;'),
    ).toBe(true);
  });

  it('a % pattern is both wide and cross-service', () => {
    const found = failing('wide-db-pattern.trigger');
    expect(found.map((f) => f.rule).sort()).toEqual(['wide-db-pattern']);
    expect(found[0]!.message).toContain('`%`');
  });

  it('an unescaped _ matching another service database', () => {
    const found = failing('wide-db-pattern.underscore');
    expect(found.map((f) => f.rule).sort()).toEqual(['wide-db-pattern']);
    expect(found[0]!.message).toMatch(/unescaped `_`/);
  });

  it('drift is reported once, and not for privileges another rule explains', () => {
    const found = failing('managed-drift.trigger');
    // dbps_monitor's extra global privileges (PROCESS and BINLOG MONITOR, its privileges before, expose data
    // too) are an error of server-account-privileges, so drift does not repeat them.
    expect(found.map((f) => [f.rule, f.account, f.privilege]).sort()).toEqual([
      ['managed-drift', "'orders_app'@'%'", 'CREATE'],
      ['server-account-privileges', "'dbps_monitor'@'%'", 'BINLOG MONITOR, PROCESS, SUPER'],
    ]);
    expect(failing('global-data-privileges.trigger').map((f) => f.rule)).toEqual(['global-data-privileges']);
  });

  it('orphans: severity can be raised or turned off', () => {
    const f = loadCatalogFixture('orphan-account.trigger');
    const server = f.fleet.servers[0]!;
    expect(
      auditCatalog(f.fleet, server, f.catalog, { severity: { 'orphan-account': 'error' } }).find(
        (x) => x.rule === 'orphan-account',
      )?.severity,
    ).toBe('error');
    expect(
      auditCatalog(f.fleet, server, f.catalog, { severity: { 'orphan-account': 'off' } }).filter(
        (x) => x.rule === 'orphan-account',
      ),
    ).toEqual([]);
  });

  it('keeps only the selected services', () => {
    const all = audit('role-direct');
    expect(findingsForServices(all, ['customers'])).toHaveLength(1); // customers' data reached by orders
    expect(findingsForServices(all, ['inventory']).map((f) => f.severity)).toEqual(['allowed', 'allowed']); // analytics' declared read (app, migrator)
  });
});

describe('server-internal accounts do not depend on who runs dbps', () => {
  const byRule = (fixture: string, rule: string) =>
    failing(fixture)
      .filter((f) => f.rule === rule)
      .map((f) => f.account);

  it("root@'%' with ALL is an unknown account holding global privileges, not the server's root", () => {
    const found = failing('internal-accounts');
    expect(found).toContainEqual(
      expect.objectContaining({
        rule: 'global-data-privileges',
        severity: 'error',
        account: "'root'@'%'",
        object: '*.*',
        privilege: 'ALL PRIVILEGES, GRANT OPTION',
        via: 'direct grant → ALL PRIVILEGES, GRANT OPTION on *.*',
        fix: "REVOKE ALL PRIVILEGES ON *.* FROM 'root'@'%'; REVOKE GRANT OPTION ON *.* FROM 'root'@'%';",
      }),
    );
    expect(found.find((f) => f.rule === 'global-data-privileges' && f.account === "'root'@'%'")?.service).toBe(
      undefined,
    );
  });

  it('knows root/mysql@localhost only through unix_socket, and the admin account only at its own host', () => {
    expect(byRule('internal-accounts', 'orphan-account').sort()).toEqual([
      "'dbadmin'@'%'",
      "'root'@'%'",
      "'root'@'127.0.0.1'",
    ]);
    expect(byRule('internal-accounts', 'global-data-privileges').sort()).toEqual(["'dbadmin'@'%'", "'root'@'%'"]);
  });

  it('names of the older dump format stand for user@localhost via unix_socket only', () => {
    const f = loadCatalogFixture('internal-accounts');
    const findings = auditCatalog(f.fleet, f.fleet.servers[0]!, f.catalog, { adminUsers: ['root', 'dbadmin'] });
    const orphans = findings.filter((x) => x.rule === 'orphan-account').map((x) => x.account);
    expect(orphans).toContain("'root'@'%'");
    expect(orphans).toContain("'dbadmin'@'10.0.0.5'");
  });
});

describe('grant rows of another host (matched by user name and client host, not by account)', () => {
  it('a mysql.db row with no account gives orders_app@% access to customers, with a DELETE fix', () => {
    const found = failing('host-match');
    expect(found.filter((f) => f.account === "'orders_app'@'%'")).toStrictEqual([
      {
        rule: 'cross-service-access',
        severity: 'error',
        server: 'shared',
        account: "'orders_app'@'%'",
        service: 'orders',
        targetService: 'customers',
        object: '`customers`.*',
        privilege: 'SELECT',
        via: "grant row of 'orders_app'@'127.0.0.1' (no such account; matched by user name and client host) → SELECT on `customers`.*",
        message: "orders's account can SELECT customers's data in database customers",
        fix: "DELETE FROM mysql.db WHERE Host = '127.0.0.1' AND User = 'orders_app' AND Db = 'customers'; FLUSH PRIVILEGES;",
      },
    ]);
  });

  it('a tables_priv row on a host pattern reaches the same user on every host', () => {
    expect(failing('host-match').filter((f) => f.account === "'analytics_app'@'%'")).toMatchObject([
      {
        rule: 'cross-service-access',
        targetService: 'orders',
        object: '`orders`.`orders`',
        via: "grant row of 'analytics_app'@'10.%' (no such account; matched by user name and client host) → SELECT on `orders`.`orders`",
        fix: "DELETE FROM mysql.tables_priv WHERE Host = '10.%' AND User = 'analytics_app' AND Db = 'orders' AND Table_name = 'orders'; FLUSH PRIVILEGES;",
      },
    ]);
  });

  it('a mysql.db row with an empty user reaches every user', () => {
    const found = failing('host-match-any-user').filter((f) => f.rule === 'cross-service-access');
    expect(found.map((f) => f.account).sort()).toEqual([
      "'analytics_app'@'%'",
      "'analytics_migrator'@'%'",
      "'customers_app'@'%'",
      "'customers_migrator'@'%'",
      "'orders_app'@'%'",
      "'orders_migrator'@'%'",
    ]);
    expect(found[0]!.via).toBe(
      "mysql.db row for any user ''@'%' (matched by client host alone) → SELECT on `inventory`.*",
    );
    expect(found[0]!.fix).toBe(
      "DELETE FROM mysql.db WHERE Host = '%' AND User = '' AND Db = 'inventory'; FLUSH PRIVILEGES;",
    );
  });
});

describe('global privileges that expose data without reading a table', () => {
  it('PROCESS, BINLOG MONITOR, REPLICATION SLAVE, REPLICATION SLAVE ADMIN, SLAVE MONITOR, SHOW CREATE ROUTINE are errors', () => {
    const found = failing('global-exposing');
    expect(found.map((f) => [f.rule, f.severity, f.account, f.privilege, f.via])).toEqual([
      ['global-data-privileges', 'error', "'orders_app'@'%'", 'PROCESS', 'direct grant → PROCESS on *.*'],
      [
        'global-data-privileges',
        'error',
        "'orders_migrator'@'%'",
        'REPLICATION SLAVE ADMIN',
        'direct grant → REPLICATION SLAVE ADMIN on *.*',
      ],
      [
        'global-data-privileges',
        'error',
        "'customers_app'@'%'",
        'BINLOG MONITOR',
        'direct grant → BINLOG MONITOR on *.*',
      ],
      [
        'global-data-privileges',
        'error',
        "'customers_migrator'@'%'",
        'SHOW CREATE ROUTINE',
        'direct grant → SHOW CREATE ROUTINE on *.*',
      ],
      [
        'global-data-privileges',
        'error',
        "'inventory_app'@'%'",
        'REPLICATION SLAVE',
        'direct grant → REPLICATION SLAVE on *.*',
      ],
      [
        'global-data-privileges',
        'error',
        "'analytics_app'@'%'",
        'SLAVE MONITOR',
        'direct grant → SLAVE MONITOR on *.*',
      ],
      // SHOW DATABASES shows names only: drift, not a data exposure.
      [
        'managed-drift',
        'warning',
        "'inventory_migrator'@'%'",
        'SHOW DATABASES',
        'direct grant → SHOW DATABASES on *.*',
      ],
    ]);
    expect(found[0]!.message).toMatch(/PROCESS shows every session's SQL text/);
    expect(found[0]!.fix).toBe("REVOKE ALL PRIVILEGES ON *.* FROM 'orders_app'@'%';");
  });

  it('the dbps backup and monitor accounts holding exactly PROCESS and BINLOG MONITOR are not flagged', () => {
    expect(failing('global-exposing').filter((f) => f.account.startsWith("'dbps_"))).toEqual([]);
  });
});

describe('routine grants on Oracle-mode packages', () => {
  it('PACKAGE and PACKAGE BODY grants are cross-service, and their REVOKE runs under sql_mode=ORACLE', () => {
    const found = failing('routine-package');
    expect(found.map((f) => [f.rule, f.object, f.privilege, f.via, f.fix])).toEqual([
      [
        'cross-service-access',
        'PACKAGE `customers`.`billing_pkg`',
        'EXECUTE',
        'direct grant → EXECUTE on PACKAGE `customers`.`billing_pkg`',
        "SET @dbps_sql_mode = @@SESSION.sql_mode; SET SESSION sql_mode = 'ORACLE'; REVOKE EXECUTE ON PACKAGE `customers`.`billing_pkg` FROM 'orders_app'@'%'; SET SESSION sql_mode = @dbps_sql_mode;",
      ],
      [
        'cross-service-access',
        'PACKAGE BODY `customers`.`billing_pkg`',
        'EXECUTE',
        'direct grant → EXECUTE on PACKAGE BODY `customers`.`billing_pkg`',
        "SET @dbps_sql_mode = @@SESSION.sql_mode; SET SESSION sql_mode = 'ORACLE'; REVOKE EXECUTE ON PACKAGE BODY `customers`.`billing_pkg` FROM 'orders_app'@'%'; SET SESSION sql_mode = @dbps_sql_mode;",
      ],
      [
        'grant-option',
        'PACKAGE BODY `customers`.`billing_pkg`',
        'GRANT OPTION',
        'direct grant → GRANT OPTION on PACKAGE BODY `customers`.`billing_pkg`',
        "SET @dbps_sql_mode = @@SESSION.sql_mode; SET SESSION sql_mode = 'ORACLE'; REVOKE GRANT OPTION ON PACKAGE BODY `customers`.`billing_pkg` FROM 'orders_app'@'%'; SET SESSION sql_mode = @dbps_sql_mode;",
      ],
    ]);
  });
});

describe('paths beyond grants', () => {
  it('a root-defined view names the path, the definer and its fix', () => {
    const found = failing('definer-rights-access.trigger').filter((f) => f.rule === 'definer-rights-access');
    expect(found.map((f) => f.account)).toEqual(["'orders_app'@'%'", "'orders_migrator'@'%'"]);
    expect(found[0]).toMatchObject({
      severity: 'error',
      service: 'orders',
      targetService: 'customers',
      object: 'VIEW `orders`.`customer_emails`',
      // The fixture's view is read as updatable (no IS_UPDATABLE recorded): every change passes through it.
      via: 'view orders.customer_emails (DEFINER root@localhost) → DELETE, INSERT, SELECT, UPDATE on customers.accounts',
      fix: 'ALTER SQL SECURITY INVOKER VIEW `orders`.`customer_emails` AS select `customers`.`accounts`.`email` AS `email` from `customers`.`accounts`;',
    });
  });

  it('a definer-rights view over a declared read is allowed, with the declaration; beyond the read it is not', () => {
    const f = loadCatalogFixture('definer-rights-access.trigger');
    f.catalog.definerObjects = [
      {
        kind: 'VIEW',
        db: 'analytics',
        name: 'stock',
        definer: 'root@localhost',
        updatable: false,
        body: 'select `inventory`.`stock_levels`.`qty` AS `qty` from `inventory`.`stock_levels`',
      },
      {
        kind: 'VIEW',
        db: 'analytics',
        name: 'emails',
        definer: 'root@localhost',
        updatable: false,
        body: 'select `customers`.`accounts`.`email` AS `email` from `customers`.`accounts`',
      },
    ];
    const found = auditCatalog(f.fleet, f.fleet.servers[0]!, f.catalog, {}).filter(
      (x) => x.rule === 'definer-rights-access' && x.account === "'analytics_app'@'%'",
    );
    expect(found.map((x) => [x.severity, x.via])).toEqual([
      ['allowed', 'view analytics.stock (DEFINER root@localhost) → SELECT on inventory.stock_levels'],
      ['error', 'view analytics.emails (DEFINER root@localhost) → SELECT on customers.accounts'],
    ]);
  });

  it('PUBLIC roles, nested: every service account but the owner, fix revokes the role from PUBLIC', () => {
    const found = failing('public-role-nested').filter((f) => f.rule === 'cross-service-access');
    expect(found.map((f) => f.account).sort()).toEqual([
      "'analytics_app'@'%'",
      "'analytics_migrator'@'%'",
      "'inventory_app'@'%'",
      "'inventory_migrator'@'%'",
      "'orders_app'@'%'",
      "'orders_migrator'@'%'",
    ]);
    for (const f of found)
      expect(f).toMatchObject({
        via: 'PUBLIC → role outer_r → role inner_r → SELECT on `customers`.`accounts`',
        fix: 'REVOKE `outer_r` FROM PUBLIC;',
      });
  });

  it('a remote table is matched to another service by its server address when the database name says nothing', () => {
    const fleet = fleetFromText(
      `version: 1
fleet: two
servers:
  a: { driver: external, host: 10.1.0.1, port: 3306, admin: { user: root } }
  b: { driver: external, host: customers-db, port: 3307, admin: { user: root } }
services:
  orders: { server: a }
  customers: { server: b }
`,
      'two.yaml',
    );
    const f = loadCatalogFixture('base');
    const catalog = {
      ...f.catalog,
      databases: ['orders'],
      remoteTables: [
        {
          db: 'orders',
          table: 'r',
          engine: 'SPIDER',
          tableType: '',
          connection: 'mysql://spider@customers-db:3307/legacy_name/t',
          hasPassword: false,
        },
      ],
    };
    const found = auditCatalog(fleet, fleet.servers[0]!, catalog, {}).filter((x) => x.rule === 'remote-table-access');
    expect(found.map((x) => x.account)).toEqual(["'orders_app'@'%'", "'orders_migrator'@'%'"]);
    expect(found[0]).toMatchObject({
      service: 'orders',
      targetService: 'customers',
      via: 'spider table orders.r → mysql://spider@customers-db:3307/legacy_name/t',
      message: "orders's SPIDER table orders.r reads customers's server b (customers-db:3307)",
    });
  });
});
