// resolveFleet through the real parser: defaults, implicit servers and accounts, naming, outbox,
// reads (granted only on a shared server) and server ids that stay put when the fleet changes.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, nameServerId, SERVER_ID_SPAN } from '../../../src/config/resolve.js';
import type { Fleet, FleetServer } from '../../../src/fleet/model.js';
import { fixtureFleet, fleetOf } from '../../helpers/fleets.js';

const server = (fleet: Fleet, name: string): FleetServer => {
  const s = fleet.servers.find((x) => x.name === name);
  if (!s) throw new Error(`no server ${name}`);
  return s;
};
const service = (fleet: Fleet, name: string) => {
  const s = fleet.services.find((x) => x.name === name);
  if (!s) throw new Error(`no service ${name}`);
  return s;
};

describe('defaults', () => {
  const fleet = fleetOf('version: 1\nfleet: t\nservices:\n  orders: {}\n');

  it('fills fleet-wide defaults when defaults: is absent', () => {
    expect(fleet).toMatchObject({
      name: 't',
      file: 'services.yaml',
      mariadb: '11.8',
      charset: 'utf8mb4',
      collation: 'utf8mb4_uca1400_ai_ci',
      accountHost: '%',
      basePort: 3307,
      warnings: [],
    });
    expect(DEFAULTS).toMatchObject({ profile: 'oltp', memory: '1G', storage: '10Gi' });
  });

  it('gives a service without server: its own local instance with default profile, memory and storage', () => {
    expect(fleet.servers).toHaveLength(1);
    expect(server(fleet, 'orders')).toMatchObject({
      name: 'orders',
      driver: 'local',
      isolation: 'instance',
      profile: 'oltp',
      memoryBytes: 1024 ** 3,
      storage: '10Gi',
      mariadb: '11.8',
      services: ['orders'],
    });
    expect(server(fleet, 'orders').port).toBeUndefined();
    expect(server(fleet, 'orders').host).toBeUndefined();
  });

  it('names the database after the service and inherits charset and collation', () => {
    expect(service(fleet, 'orders')).toMatchObject({
      server: 'orders',
      database: 'orders',
      charset: 'utf8mb4',
      collation: 'utf8mb4_uca1400_ai_ci',
      isolation: 'instance',
      outbox: false,
      reads: [],
    });
    expect(service(fleet, 'orders').outboxTable).toBeUndefined();
  });

  it('applies defaults: profile, memory, storage, mariadb and accountHost to every server and account', () => {
    const f = fleetOf(
      'version: 1\nfleet: t\ndefaults: { profile: olap, memory: 3G, storage: 50Gi, mariadb: "10.11", accountHost: "10.%" }\nservers:\n  shared: {}\nservices:\n  a: {}\n  b: { server: shared }\n',
    );
    for (const s of f.servers)
      expect(s).toMatchObject({ profile: 'olap', memoryBytes: 3 * 1024 ** 3, storage: '50Gi', mariadb: '10.11' });
    for (const svc of f.services) for (const a of svc.accounts) expect(a.host).toBe('10.%');
  });

  it('lets a server override the version, and a service its charset (collation follows the charset)', () => {
    const f = fleetOf(
      'version: 1\nfleet: t\nservers:\n  old: { mariadb: "10.6" }\nservices:\n  a: { server: old, charset: latin1 }\n  b: { charset: utf8mb4 }\n',
    );
    expect(server(f, 'old').mariadb).toBe('10.6');
    expect(service(f, 'a')).toMatchObject({ charset: 'latin1', collation: 'latin1_general_ci' });
    expect(service(f, 'b')).toMatchObject({ charset: 'utf8mb4', collation: 'utf8mb4_uca1400_ai_ci' });
  });

  it('gives an external server port 3306 unless told otherwise', () => {
    const f = fixtureFleet('fleets/external.yaml');
    expect(server(f, 'legacy')).toMatchObject({
      driver: 'external',
      isolation: 'schema',
      host: 'db.internal',
      port: 3306,
    });
    expect(server(f, 'legacy').admin).toEqual({ user: 'dbps_admin_user', passwordEnv: 'LEGACY_ADMIN_PASSWORD' });
  });
});

describe('implicit servers and accounts', () => {
  const fleet = fixtureFleet('fleets/mixed-isolation.yaml');

  it('creates one instance server per service without server:, after the declared servers, in file order', () => {
    expect(fleet.servers.map((s) => [s.name, s.isolation])).toEqual([
      ['catalog-db', 'schema'],
      ['orders', 'instance'],
      ['payments', 'instance'],
    ]);
    expect(server(fleet, 'catalog-db').services).toEqual(['inventory', 'product-catalog', 'search']);
    expect(server(fleet, 'catalog-db').port).toBe(3320);
  });

  it('gives a service without users: <service>_app (app) and <service>_migrator (migrator)', () => {
    expect(service(fleet, 'inventory').accounts).toEqual([
      { user: 'inventory_app', host: '%', role: 'app', service: 'inventory', requireSsl: false },
      { user: 'inventory_migrator', host: '%', role: 'migrator', service: 'inventory', requireSsl: false },
    ]);
  });

  it('keeps users: exactly as listed, with their options', () => {
    expect(service(fleet, 'payments').accounts).toEqual([
      {
        user: 'payments_app',
        host: '%',
        role: 'app',
        service: 'payments',
        passwordEnv: 'PAYMENTS_APP_PASSWORD',
        maxUserConnections: 50,
        requireSsl: false,
      },
      { user: 'payments_migrator', host: '%', role: 'migrator', service: 'payments', requireSsl: false },
      { user: 'payments_report', host: '10.0.%', role: 'readonly', service: 'payments', requireSsl: false },
    ]);
  });

  it('turns "-" in a service name into "_" in its database and account names, and honours database:', () => {
    const f = fleetOf(
      'version: 1\nfleet: t\nservices:\n  order-history: {}\n  product-catalog: { database: catalog }\n',
    );
    expect(service(f, 'order-history').database).toBe('order_history');
    expect(service(f, 'order-history').accounts.map((a) => a.user)).toEqual([
      'order_history_app',
      'order_history_migrator',
    ]);
    expect(service(f, 'product-catalog').database).toBe('catalog');
    expect(service(f, 'product-catalog').accounts.map((a) => a.user)).toEqual([
      'product_catalog_app',
      'product_catalog_migrator',
    ]);
    // The server keeps the service's own name: only SQL names change.
    expect(f.servers.map((s) => s.name)).toEqual(['order-history', 'product-catalog']);
  });

  it('adds an outbox table and an outbox-relay account for outbox: true', () => {
    const orders = service(fleet, 'orders');
    expect(orders.outbox).toBe(true);
    expect(orders.outboxTable).toBe('orders_events_outbox');
    expect(orders.accounts.map((a) => [a.user, a.role])).toEqual([
      ['orders_app', 'app'],
      ['orders_migrator', 'migrator'],
      ['orders_outbox', 'outbox-relay'],
    ]);
    const f = fleetOf('version: 1\nfleet: t\nservices:\n  order-events: { outbox: true }\n');
    expect(service(f, 'order-events').outboxTable).toBe('order_events_events_outbox');
    expect(service(f, 'order-events').accounts.at(-1)).toMatchObject({
      user: 'order_events_outbox',
      role: 'outbox-relay',
    });
  });
});

describe('reads', () => {
  it('grants a read when both services share a server, without a warning', () => {
    const f = fixtureFleet('fleets/mixed-isolation.yaml');
    expect(service(f, 'product-catalog').reads).toEqual([
      { service: 'inventory', database: 'inventory', tables: ['stock_levels', 'warehouses'], granted: true },
    ]);
    expect(f.warnings).toEqual([]);
  });

  it('documents but does not grant a read across servers, and warns at the reads entry', () => {
    const text =
      'version: 1\nfleet: t\nservices:\n  inventory: {}\n  analytics:\n    reads:\n      - { service: inventory, tables: [stock_levels, stock_levels] }\n';
    const f = fleetOf(text);
    expect(service(f, 'analytics').reads).toEqual([
      { service: 'inventory', database: 'inventory', tables: ['stock_levels'], granted: false },
    ]);
    expect(f.warnings).toHaveLength(1);
    expect(f.warnings[0]).toMatchObject({ path: 'services.analytics.reads[0].service', line: 7, column: 20 });
    expect(f.warnings[0]!.message).toContain('reads from "inventory" on another server');
  });

  it('warns about a declared server that holds no service', () => {
    const f = fleetOf('version: 1\nfleet: t\nservers:\n  spare: {}\nservices:\n  a: {}\n');
    expect(f.warnings.map((w) => [w.path, w.line, w.column])).toEqual([['servers.spare', 4, 3]]);
  });
});

describe('server ids and GTID domains', () => {
  const ids = (f: Fleet) => Object.fromEntries(f.servers.map((s) => [s.name, s.serverId]));
  const base =
    'version: 1\nfleet: t\nservers:\n  shared: {}\nservices:\n  orders: {}\n  customers: {}\n  inventory: { server: shared }\n';

  it('are unique, in range, and equal to the GTID domain', () => {
    const f = fixtureFleet('fleets/fifty-services.yaml');
    const all = f.servers.map((s) => s.serverId);
    expect(new Set(all).size).toBe(f.servers.length);
    for (const s of f.servers) {
      expect(s.serverId).toBeGreaterThanOrEqual(1);
      expect(s.serverId).toBeLessThanOrEqual(SERVER_ID_SPAN);
      expect(s.gtidDomainId).toBe(s.serverId);
    }
  });

  it('are derived from the server name, so they are the same on every run and machine', () => {
    expect(ids(fleetOf(base))).toEqual({
      shared: nameServerId('shared'),
      orders: nameServerId('orders'),
      customers: nameServerId('customers'),
    });
    expect(nameServerId('orders')).toBe(nameServerId('orders'));
    expect(nameServerId('orders')).not.toBe(nameServerId('orderz'));
  });

  it('do not change when services are added, removed or reordered', () => {
    const before = ids(fleetOf(base));
    const added = ids(fleetOf(base.replace('services:\n', 'services:\n  payments: {}\n  aaa: {}\n')));
    const reordered = ids(
      fleetOf(
        'version: 1\nfleet: t\nservers:\n  shared: {}\nservices:\n  inventory: { server: shared }\n  customers: {}\n  orders: {}\n',
      ),
    );
    const removed = ids(fleetOf(base.replace('  customers: {}\n', '')));
    for (const [name, id] of Object.entries(before)) {
      expect(added[name]).toBe(id);
      expect(reordered[name]).toBe(id);
      if (name !== 'customers') expect(removed[name]).toBe(id);
    }
  });

  it('keep an explicit serverId and never hand it to another server', () => {
    const taken = nameServerId('orders');
    const f = fleetOf(`version: 1\nfleet: t\nservices:\n  orders: {}\n  customers: { serverId: ${taken} }\n`);
    expect(server(f, 'customers')).toMatchObject({ serverId: taken, gtidDomainId: taken });
    expect(server(f, 'orders').serverId).not.toBe(taken);
    expect(server(f, 'orders').serverId).toBe(taken + 1);
  });

  it('settle a hash collision by name order, whatever the file order', () => {
    // Find two names that collide, then declare them in both orders.
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const name = `s${i}`;
      const id = nameServerId(name);
      const other = seen.get(id);
      if (other) pair = [other, name];
      seen.set(id, name);
    }
    const [first, second] = [...pair].sort() as [string, string];
    const one = ids(fleetOf(`version: 1\nfleet: t\nservices:\n  ${first}: {}\n  ${second}: {}\n`));
    const other = ids(fleetOf(`version: 1\nfleet: t\nservices:\n  ${second}: {}\n  ${first}: {}\n`));
    expect(one).toEqual(other);
    expect(one[first]).toBe(nameServerId(first));
    expect(one[second]).not.toBe(one[first]);
  });
});
