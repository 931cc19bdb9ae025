// The desired state is the one source of truth for provision, audit and Kubernetes output, so its

// privileges are pinned exactly, role by role, as DESIGN.md states them.
import { describe, expect, it } from 'vitest';
import { fleetFromText } from '../../../src/config/from-text.js';
import {
  type DesiredAccount,
  type DesiredServer,
  desiredFleet,
  desiredServer,
  OUTBOX_PUBLISHED_COLUMN,
} from '../../../src/fleet/desired.js';
import { MONITOR_TABLES } from '../../../src/fleet/monitor.js';
import { fixtureFleet, fleetOf } from '../../helpers/fleets.js';

const APP = ['CREATE TEMPORARY TABLES', 'DELETE', 'EXECUTE', 'INSERT', 'SELECT', 'UPDATE'];
const MIGRATOR = [
  ...APP,
  'ALTER',
  'ALTER ROUTINE',
  'CREATE',
  'CREATE ROUTINE',
  'CREATE VIEW',
  'DROP',
  'EVENT',
  'INDEX',
  'LOCK TABLES',
  'REFERENCES',
  'SHOW VIEW',
  'TRIGGER',
].sort();

const fleet = fixtureFleet('fleets/mixed-isolation.yaml');
const byServer = new Map(desiredFleet(fleet).map((d) => [d.server, d]));
const account = (d: DesiredServer, user: string): DesiredAccount => {
  const a = d.accounts.find((x) => x.user === user);
  if (!a) throw new Error(`no account ${user} on ${d.server}`);
  return a;
};

describe('service roles', () => {
  const payments = byServer.get('payments')!;

  it('app: SELECT, INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY TABLES on its own database only', () => {
    expect(account(payments, 'payments_app')).toEqual({
      user: 'payments_app',
      host: '%',
      kind: 'app',
      service: 'payments',
      passwordEnv: 'PAYMENTS_APP_PASSWORD',
      maxUserConnections: 50,
      requireSsl: false,
      grants: [
        {
          scope: { level: 'database', database: 'payments' },
          privileges: APP,
          reason: "role app on payments's own database",
        },
      ],
    });
  });

  it('migrator: app plus the schema-changing privileges, on its own database only', () => {
    expect(account(payments, 'payments_migrator').grants).toEqual([
      {
        scope: { level: 'database', database: 'payments' },
        privileges: MIGRATOR,
        reason: "role migrator on payments's own database",
      },
    ]);
  });

  it('readonly: SELECT and SHOW VIEW', () => {
    expect(account(payments, 'payments_report')).toMatchObject({ host: '10.0.%', kind: 'readonly' });
    expect(account(payments, 'payments_report').grants).toEqual([
      {
        scope: { level: 'database', database: 'payments' },
        privileges: ['SELECT', 'SHOW VIEW'],
        reason: "role readonly on payments's own database",
      },
    ]);
  });

  it('never grants ALL PRIVILEGES, GRANT OPTION or a global privilege to a service account', () => {
    for (const d of byServer.values()) {
      for (const a of d.accounts) {
        for (const g of a.grants) {
          expect(g.privileges).not.toContain('ALL PRIVILEGES');
          expect(g.privileges).not.toContain('ALL');
          expect(g.privileges).not.toContain('GRANT OPTION');
          expect(g.privileges).toEqual([...g.privileges].sort());
          if (a.service) expect(g.scope.level).not.toBe('global');
        }
      }
    }
  });

  it('keeps every service account on its own database, apart from declared reads', () => {
    for (const d of byServer.values()) {
      for (const a of d.accounts.filter((x) => x.service)) {
        const own = fleet.services.find((s) => s.name === a.service)!;
        const readable = new Set(own.reads.filter((r) => r.granted).map((r) => r.database));
        for (const g of a.grants) {
          const db = (g.scope as { database: string }).database;
          expect(
            db === own.database || (readable.has(db) && g.scope.level === 'table' && g.privileges.join() === 'SELECT'),
          ).toBe(true);
        }
      }
    }
  });
});

describe('accounts dbps manages on every server', () => {
  it('a backup account: mariadb-backup and archiving globals on local servers, the dump grants on each service database, mysql.proc', () => {
    for (const d of byServer.values()) {
      const server = fleet.servers.find((s) => s.name === d.server)!;
      const dbs = fleet.services.filter((s) => s.server === server.name).map((s) => s.database);
      expect(account(d, 'dbps_backup')).toEqual({
        user: 'dbps_backup',
        host: 'localhost',
        kind: 'backup',
        requireSsl: false,
        grants: [
          {
            scope: { level: 'global' },
            privileges: ['BINLOG MONITOR', 'LOCK TABLES', 'PROCESS', 'RELOAD', 'REPLICATION SLAVE'],
            reason: expect.any(String),
          },
          ...dbs.map((database) => ({
            scope: { level: 'database', database },
            privileges: ['EVENT', 'SELECT', 'SHOW VIEW', 'TRIGGER'],
            reason: expect.any(String),
          })),
          {
            scope: { level: 'table', database: 'mysql', table: 'proc' },
            privileges: ['SELECT'],
            reason: expect.any(String),
          },
        ],
      });
    }
  });

  it("an external server's backup account is for the host dbps connects from (backupHost, else accountHost), with archiving's globals only", () => {
    const ext = fleetFromText(
      `version: 1
fleet: t
defaults: { accountHost: "10.1.%" }
servers:
  a: { driver: external, host: db1, admin: { user: root }, backupHost: 10.9.0.1 }
  b: { driver: external, host: db2, admin: { user: root } }
services:
  x: { server: a }
  y: { server: b }
`,
      'services.yaml',
    );
    const [a, b] = ext.servers.map((s) => desiredServer(ext, s));
    expect(account(a!, 'dbps_backup').host).toBe('10.9.0.1');
    expect(account(b!, 'dbps_backup').host).toBe('10.1.%');
    for (const d of [a!, b!]) {
      // The binlog list and stream for `dbps binlogs pull/follow`; none of mariadb-backup's file-copy globals.
      const global = account(d, 'dbps_backup').grants.filter((g) => g.scope.level === 'global');
      expect(global.map((g) => g.privileges)).toEqual([['BINLOG MONITOR', 'REPLICATION SLAVE']]);
      expect(account(d, 'dbps_backup').grants.map((g) => g.scope.level)).toEqual(['global', 'database', 'table']);
    }
  });

  it('a monitor account with no global privilege and SELECT on performance_schema counter tables only', () => {
    for (const d of byServer.values()) {
      const monitor = account(d, 'dbps_monitor');
      expect(monitor).toMatchObject({ kind: 'monitor', host: '%', maxUserConnections: 3 });
      expect(monitor.grants.map((g) => [g.scope, g.privileges])).toEqual(
        MONITOR_TABLES.map((t) => [{ level: 'table', database: 'performance_schema', table: t.table }, ['SELECT']]),
      );
      // Tables whose rows carry statement text are never among them.
      expect(MONITOR_TABLES.map((t) => t.table).filter((t) => /threads|statements|history|current/.test(t))).toEqual(
        [],
      );
    }
  });

  it('defaults.monitor.host restricts the monitor account to that host', () => {
    const f = fleetOf('version: 1\nfleet: t\ndefaults: { monitor: { host: "10.0.%" } }\nservices:\n  a: {}\n');
    expect(account(desiredServer(f, f.servers[0]!), 'dbps_monitor').host).toBe('10.0.%');
    expect(account(desiredServer(f, f.servers[0]!), 'a_app').host).toBe('%');
    expect(() => fleetOf('version: 1\nfleet: t\ndefaults: { monitor: { host: "a b" } }\nservices:\n  a: {}\n')).toThrow(
      /services\.yaml:3:30: account host "a b"/,
    );
  });

  it("lists a server's databases with their charset and collation, and no database of another server", () => {
    expect(byServer.get('catalog-db')!.databases).toEqual([
      { name: 'inventory', service: 'inventory', charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' },
      { name: 'catalog', service: 'product-catalog', charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' },
      { name: 'search', service: 'search', charset: 'latin1', collation: 'latin1_general_ci' },
    ]);
    expect(byServer.get('orders')!.databases.map((d) => d.name)).toEqual(['orders']);
  });
});

describe('reads and the outbox', () => {
  it('grants a declared read as SELECT on each named table, to app, readonly and migrator accounts only', () => {
    const d = byServer.get('catalog-db')!;
    const app = account(d, 'product_catalog_app');
    expect(app.grants.filter((g) => g.scope.level === 'table')).toEqual([
      {
        scope: { level: 'table', database: 'inventory', table: 'stock_levels' },
        privileges: ['SELECT'],
        reason: 'declared in services.product-catalog.reads',
      },
      {
        scope: { level: 'table', database: 'inventory', table: 'warehouses' },
        privileges: ['SELECT'],
        reason: 'declared in services.product-catalog.reads',
      },
    ]);
    // The migrator reads exactly the same tables (to create views over them), and nothing else there.
    expect(account(d, 'product_catalog_migrator').grants.filter((g) => g.scope.level === 'table')).toEqual(
      app.grants.filter((g) => g.scope.level === 'table'),
    );
    // The read target's own accounts get nothing extra.
    expect(account(d, 'inventory_app').grants).toHaveLength(1);
  });

  it('does not grant a read that crosses servers', () => {
    const f = fleetOf(
      'version: 1\nfleet: t\nservices:\n  inventory: {}\n  analytics:\n    reads: [ { service: inventory, tables: [stock_levels] } ]\n',
    );
    for (const d of desiredFleet(f))
      for (const a of d.accounts)
        for (const g of a.grants) expect(g.scope).not.toMatchObject({ database: 'inventory', level: 'table' });
  });

  it('gives the outbox relay SELECT on the outbox table and UPDATE(published_at), nothing else', () => {
    const d = byServer.get('orders')!;
    expect(d.outboxes).toEqual([{ service: 'orders', database: 'orders', table: 'orders_events_outbox' }]);
    const relay = account(d, 'orders_outbox');
    expect(relay.kind).toBe('outbox-relay');
    expect(relay.grants).toEqual([
      {
        scope: { level: 'table', database: 'orders', table: 'orders_events_outbox' },
        privileges: ['SELECT'],
        reason: 'outbox relay reads unpublished events',
      },
      {
        scope: { level: 'column', database: 'orders', table: 'orders_events_outbox', column: OUTBOX_PUBLISHED_COLUMN },
        privileges: ['UPDATE'],
        reason: 'outbox relay marks events published',
      },
    ]);
    expect(OUTBOX_PUBLISHED_COLUMN).toBe('published_at');
  });

  it('is one DesiredServer per server, in fleet order', () => {
    expect(desiredFleet(fleet).map((d) => d.server)).toEqual(fleet.servers.map((s) => s.name));
    expect(desiredServer(fleet, fleet.servers[0]!)).toEqual(byServer.get('catalog-db'));
  });
});
