import { describe, expect, it } from 'vitest';
import { fleetFromText } from '../../../src/config/from-text.js';
import { desiredServer } from '../../../src/fleet/desired.js';
import { MONITOR_TABLES } from '../../../src/fleet/monitor.js';
import {
  type Change,
  type DiffOptions,
  diffServer,
  type ServerObservation,
  tableKey,
} from '../../../src/grants/diff.js';
import { displaySql } from '../../../src/grants/sql.js';
import type { Catalog, CatalogAccount } from '../../../src/grants/types.js';
import { loadCatalogFixture } from './catalog-fixtures.js';

const FLEET = fleetFromText(
  `version: 1
fleet: t
servers:
  shared: { driver: local }
services:
  orders_db: { server: shared, outbox: true }
  inventory: { server: shared }
  analytics: { server: shared, reads: [ { service: inventory, tables: [stock_levels] } ] }
`,
  'services.yaml',
);
const DESIRED = desiredServer(FLEET, FLEET.servers[0]!);

function emptyCatalog(): Catalog {
  return {
    server: 'shared',
    version: '10.11.19-MariaDB',
    accounts: [account('root', 'localhost', { globalPrivileges: ['SELECT'] })],
    databases: ['mysql', 'information_schema', 'performance_schema'],
    dbGrants: [],
    tableGrants: [],
    columnGrants: [],
    routineGrants: [],
    proxyGrants: [],
    roleGrants: [],
  };
}

function account(user: string, host: string, extra: Partial<CatalogAccount> = {}): CatalogAccount {
  return {
    user,
    host,
    isRole: false,
    plugin: 'mysql_native_password',
    hasPassword: true,
    locked: false,
    maxUserConnections: 0,
    sslType: '',
    defaultRole: '',
    globalPrivileges: [],
    globalGrantOption: false,
    ...extra,
  };
}

function observe(catalog: Catalog, extra: Partial<ServerObservation> = {}): ServerObservation {
  return {
    catalog,
    passwordMismatch: new Set(),
    existingTables: new Set(),
    tableCounts: new Map(),
    protectedAccounts: new Set(),
    ...extra,
  };
}

const OPTS: DiffOptions = {
  prune: false,
  forceDropData: false,
  passwordOf: (a) => ({ source: 'generated', name: `PW_${a.user}` }),
};

/** A catalog as if every change had been applied (what a clean provision leaves behind). */
function applied(catalog: Catalog, changes: Change[]): Catalog {
  const c = structuredClone(catalog);
  for (const ch of changes) {
    if (ch.kind === 'create-database') c.databases.push(ch.database);
    if (ch.kind === 'create-user')
      c.accounts.push(account(ch.user, ch.host, { maxUserConnections: ch.maxUserConnections }));
    if (ch.kind === 'grant') {
      const t = ch.target;
      if (t.level === 'global') c.accounts.find((a) => a.user === ch.user)!.globalPrivileges = ch.privileges;
      if (t.level === 'database')
        c.dbGrants.push({ user: ch.user, host: ch.host, db: t.pattern, privileges: ch.privileges, grantOption: false });
      if (t.level === 'table')
        c.tableGrants.push({
          user: ch.user,
          host: ch.host,
          db: t.database,
          table: t.table,
          privileges: ch.privileges,
          grantOption: false,
        });
      if (t.level === 'column')
        c.columnGrants.push({
          user: ch.user,
          host: ch.host,
          db: t.database,
          table: t.table,
          column: t.column,
          privileges: ch.privileges,
        });
    }
  }
  return c;
}

const ALL_TABLES = new Set([
  tableKey('orders_db', 'orders_db_events_outbox'),
  tableKey('inventory', 'stock_levels'),
  // performance_schema tables always exist on a real server (the monitor account's table grants).
  ...MONITOR_TABLES.map((t) => tableKey('performance_schema', t.table)),
]);

describe('diffServer', () => {
  it('plans an empty server in order: databases, outbox table, users, grants; database grants escaped', () => {
    const d = diffServer(DESIRED, observe(emptyCatalog()), OPTS);
    const kinds = d.changes.map((c) => c.kind);
    expect(kinds.indexOf('create-outbox-table')).toBeGreaterThan(kinds.lastIndexOf('create-database'));
    expect(kinds.indexOf('create-user')).toBeGreaterThan(kinds.indexOf('create-outbox-table'));
    expect(kinds.indexOf('grant')).toBeGreaterThan(kinds.lastIndexOf('create-user'));
    expect(d.changes.map(displaySql)).toContain(
      "GRANT CREATE TEMPORARY TABLES, DELETE, EXECUTE, INSERT, SELECT, UPDATE ON `orders\\_db`.* TO 'orders_db_app'@'%'",
    );
    // The read target does not exist yet: deferred, not a failing GRANT.
    expect(d.deferred.filter((x) => !x.object.includes(' on performance_schema.'))).toEqual([
      expect.objectContaining({ object: "'analytics_app'@'%' on inventory.stock_levels" }),
      expect.objectContaining({ object: "'analytics_migrator'@'%' on inventory.stock_levels" }),
    ]);
    expect(d.changes.every((c) => !c.destructive)).toBe(true);
  });

  it('finds nothing to do on a server that holds exactly the desired state', () => {
    const first = diffServer(DESIRED, observe(emptyCatalog(), { existingTables: ALL_TABLES }), OPTS);
    const after = applied(emptyCatalog(), first.changes);
    const d = diffServer(DESIRED, observe(after, { existingTables: ALL_TABLES }), OPTS);
    expect(d).toStrictEqual({ server: 'shared', changes: [], orphans: [], deferred: [] });
  });

  it('agrees with the audit fixture of a cleanly provisioned server', () => {
    const { fleet, catalog } = loadCatalogFixture('base');
    const desired = desiredServer(fleet, fleet.servers[0]!);
    const tables = new Set(
      desired.accounts.flatMap((a) =>
        a.grants.flatMap((g) => ('table' in g.scope ? [tableKey(g.scope.database, g.scope.table)] : [])),
      ),
    );
    const d = diffServer(desired, observe(catalog, { existingTables: tables }), OPTS);
    expect(d.changes.map(displaySql)).toEqual([]);
  });

  it('revokes drift on managed accounts: extra privileges, unescaped patterns, grant option, roles, proxies', () => {
    const first = diffServer(DESIRED, observe(emptyCatalog(), { existingTables: ALL_TABLES }), OPTS);
    const c = applied(emptyCatalog(), first.changes);
    c.dbGrants.find((g) => g.user === 'inventory_app')!.privileges.push('DROP');
    c.dbGrants.push({ user: 'inventory_app', host: '%', db: 'orders_db', privileges: ['SELECT'], grantOption: true });
    c.accounts.find((a) => a.user === 'analytics_migrator')!.globalPrivileges = ['SUPER'];
    c.roleGrants.push({ user: 'orders_db_app', host: '%', role: 'admin_role', withAdmin: false });
    c.proxyGrants.push({
      user: 'orders_db_app',
      host: '%',
      proxiedUser: 'root',
      proxiedHost: 'localhost',
      withGrant: false,
    });
    const d = diffServer(DESIRED, observe(c, { existingTables: ALL_TABLES }), OPTS);
    expect(d.changes.map(displaySql)).toEqual([
      "REVOKE DROP ON `inventory`.* FROM 'inventory_app'@'%'",
      "REVOKE GRANT OPTION, SELECT ON `orders_db`.* FROM 'inventory_app'@'%'",
      "REVOKE SUPER ON *.* FROM 'analytics_migrator'@'%'",
      "REVOKE `admin_role` FROM 'orders_db_app'@'%'",
      "REVOKE PROXY ON 'root'@'localhost' FROM 'orders_db_app'@'%'",
    ]);
    expect(d.changes.every((x) => x.reason.includes('drift'))).toBe(true);
  });

  it('revokes whatever PUBLIC holds, privileges and roles, as drift of the server (10.11+ only)', () => {
    const first = diffServer(DESIRED, observe(emptyCatalog(), { existingTables: ALL_TABLES }), OPTS);
    const c = applied(emptyCatalog(), first.changes);
    c.version = '10.11.14-MariaDB';
    c.dbGrants.push({ user: 'PUBLIC', host: '', db: 'inventory', privileges: ['SELECT'], grantOption: false });
    c.roleGrants.push({ user: 'PUBLIC', host: '', role: 'reporting_r', withAdmin: false });
    const d = diffServer(DESIRED, observe(c, { existingTables: ALL_TABLES }), OPTS);
    expect(d.changes.map(displaySql)).toEqual([
      'REVOKE SELECT ON `inventory`.* FROM PUBLIC',
      'REVOKE `reporting_r` FROM PUBLIC',
    ]);
    expect(d.changes.every((x) => x.reason.includes('drift') && x.reason.includes('PUBLIC'))).toBe(true);
    // Also when provision is limited to some services: PUBLIC reaches all of them.
    const some = diffServer(DESIRED, observe(c, { existingTables: ALL_TABLES }), {
      ...OPTS,
      services: new Set(['inventory']),
    });
    expect(some.changes.map((x) => x.kind)).toEqual(['revoke-public', 'revoke-public-role']);
    expect(
      diffServer(DESIRED, observe({ ...c, version: '10.6.20-MariaDB' }, { existingTables: ALL_TABLES }), OPTS).changes,
    ).toEqual([]);
  });

  it('alters an account whose password, limits, SSL or lock differ', () => {
    const first = diffServer(DESIRED, observe(emptyCatalog(), { existingTables: ALL_TABLES }), OPTS);
    const c = applied(emptyCatalog(), first.changes);
    Object.assign(c.accounts.find((a) => a.user === 'dbps_monitor')!, {
      maxUserConnections: 0,
      locked: true,
      sslType: 'X509',
    });
    const d = diffServer(
      DESIRED,
      observe(c, { existingTables: ALL_TABLES, passwordMismatch: new Set(["'inventory_app'@'%'"]) }),
      OPTS,
    );
    expect(d.changes.map(displaySql)).toEqual([
      "ALTER USER 'inventory_app'@'%' IDENTIFIED BY PASSWORD '********'",
      "ALTER USER 'dbps_monitor'@'%' REQUIRE NONE WITH MAX_USER_CONNECTIONS 3 ACCOUNT UNLOCK",
    ]);
  });

  it('reports orphans, drops them only with prune, and keeps databases holding tables without forceDropData', () => {
    const c = emptyCatalog();
    c.accounts.push(account('stray', '%'), account('admin', 'localhost'), account('PUBLIC', '', { isRole: true }));
    c.databases.push('old_db', 'full_db');
    const obs = observe(c, {
      tableCounts: new Map([['full_db', 3]]),
      protectedAccounts: new Set(["'admin'@'localhost'"]),
    });
    const plain = diffServer(DESIRED, obs, OPTS);
    expect(plain.orphans.map((o) => o.object)).toEqual(["'stray'@'%'", 'database old_db', 'database full_db']);
    expect(plain.changes.some((x) => x.destructive)).toBe(false);
    const pruned = diffServer(DESIRED, obs, { ...OPTS, prune: true });
    expect(pruned.changes.filter((x) => x.destructive).map(displaySql)).toEqual([
      "DROP USER IF EXISTS 'stray'@'%'",
      'DROP DATABASE IF EXISTS `old_db`',
    ]);
    expect(pruned.orphans.find((o) => o.object === 'database full_db')?.kept).toMatch(/--force-drop-data/);
    const forced = diffServer(DESIRED, obs, { ...OPTS, prune: true, forceDropData: true });
    expect(forced.changes.map(displaySql)).toContain('DROP DATABASE IF EXISTS `full_db`');
  });

  it('drops a shadow account (a managed user name on an undeclared host) as drift, not as an orphan', () => {
    const first = diffServer(DESIRED, observe(emptyCatalog(), { existingTables: ALL_TABLES }), OPTS);
    const clean = applied(emptyCatalog(), first.changes);
    const c = structuredClone(clean);
    c.accounts.push(account('inventory_app', 'localhost', { globalPrivileges: ['SELECT', 'SUPER'] }));
    c.accounts.push(account('inventory_app2', 'localhost'));
    const d = diffServer(DESIRED, observe(c, { existingTables: ALL_TABLES }), OPTS);
    expect(d.changes).toStrictEqual([
      {
        server: 'shared',
        service: 'inventory',
        kind: 'drop-user',
        object: "'inventory_app'@'localhost'",
        user: 'inventory_app',
        host: 'localhost',
        destructive: false,
        reason:
          "shadows the managed account 'inventory_app'@'%': same user name on a host services.yaml does not declare (drift)",
      },
    ]);
    expect(d.orphans.map((o) => o.object)).toEqual(["'inventory_app2'@'localhost'"]);
    // Also with a service filter that selects its service, and never for another service.
    const only = diffServer(DESIRED, observe(c, { existingTables: ALL_TABLES }), {
      ...OPTS,
      services: new Set(['inventory']),
    });
    expect(only.changes.map((x) => x.kind)).toEqual(['drop-user']);
    expect(
      diffServer(DESIRED, observe(c, { existingTables: ALL_TABLES }), { ...OPTS, services: new Set(['analytics']) })
        .changes,
    ).toEqual([]);
  });

  it('with a service filter, touches only those services (and the server accounts) and reports no orphans', () => {
    const c = emptyCatalog();
    c.accounts.push(account('stray', '%'));
    const d = diffServer(DESIRED, observe(c), { ...OPTS, services: new Set(['inventory']) });
    expect(new Set(d.changes.map((x) => x.service ?? '-'))).toEqual(new Set(['inventory', '-']));
    expect(d.orphans).toEqual([]);
  });
});
