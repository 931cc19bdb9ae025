// Declared CONNECT links (services.<reader>.links), pure parts: validation with its place, the desired
// state on both servers, the diff's link changes (made in the link pass, dropped when undeclared), their
// SQL without the password, the audit of a catalog holding a link (allowed) and wider ones (errors), and
// the my.cnf line that loads the engine.

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError } from '../../../src/errors.js';
import { desiredServer } from '../../../src/fleet/desired.js';
import type { Fleet } from '../../../src/fleet/model.js';
import { auditCatalog } from '../../../src/grants/audit.js';
import { type Change, diffServer, type ObservedLinks, type ServerObservation } from '../../../src/grants/diff.js';
import { displaySql, statementFor } from '../../../src/grants/sql.js';
import type { Catalog, CatalogAccount } from '../../../src/grants/types.js';
import { renderMyCnf } from '../../../src/mycnf/render.js';
import { renderCompose } from '../../../src/render/compose.js';
import { serverResources } from '../../../src/render/k8s/manifests.js';
import { parseVersion } from '../../../src/util/version.js';
import { fleetOf } from '../../helpers/fleets.js';
import { schemaErrors, vendoredSchema } from '../../helpers/schemas.js';

const LINK = 'dbps_link_orders__customers';
const linked = (links = '[ { service: customers, tables: [customers, addresses], via: connect } ]') =>
  `version: 1\nfleet: t\nservices:\n  customers: {}\n  orders: { links: ${links} }\n`;

function issues(text: string): string[] {
  try {
    fleetOf(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.line}:${i.column} ${i.message}`);
    throw e;
  }
  return [];
}

describe('links: validation', () => {
  it('resolves a link to another server: account, server entry, host where the reader connects from', () => {
    const fleet = fleetOf(linked());
    expect(fleet.services.find((s) => s.name === 'orders')!.links).toStrictEqual([
      {
        service: 'customers',
        server: 'customers',
        database: 'customers',
        tables: ['customers', 'addresses'],
        via: 'connect',
        user: LINK,
        host: '127.0.0.1',
        imageHost: '%',
        serverName: LINK,
      },
    ]);
  });

  it('refuses unknown services, itself, duplicates, bad tables and a link within one server, each at its place', () => {
    expect(issues(linked('[ { service: custmers, tables: [customers], via: connect } ]'))).toStrictEqual([
      '5:33 service "orders" links to "custmers", which is not a service; did you mean "customers"?',
    ]);
    expect(issues(linked('[ { service: orders, tables: [customers], via: connect } ]'))).toStrictEqual([
      '5:33 service "orders" links to itself; a service reads its own data directly, remove this entry',
    ]);
    expect(
      issues(
        linked(
          '[ { service: customers, tables: [a], via: connect }, { service: customers, tables: [b], via: connect } ]',
        ),
      ),
    ).toStrictEqual(['5:84 service "orders" declares two links to "customers"; list every table in one entry']);
    expect(issues(linked('[ { service: customers, tables: [ok, "bad name", ok], via: connect } ]'))).toStrictEqual([
      '5:57 table name "bad name" may hold only letters, digits, "_" and "$"; try "bad_name"',
      '5:69 table "ok" is listed twice in this link; remove one',
    ]);
    expect(issues(linked(`[ { service: customers, tables: [${'x'.repeat(50)}], via: connect } ]`))).toStrictEqual([
      `5:53 the CONNECT table name dbps derives, "customers__${'x'.repeat(50)}__remote" is 69 characters long; MariaDB allows at most 64, so choose a shorter one`,
    ]);
    expect(
      issues(
        'version: 1\nfleet: t\nservers:\n  s: {}\nservices:\n  customers: { server: s }\n  orders: { server: s, links: [ { service: customers, tables: [c], via: connect } ] }\n',
      ),
    ).toStrictEqual([
      '7:44 service "orders" links to "customers" on its own server ("s"); a link reaches another server, declare this under reads: instead',
    ]);
    expect(issues(linked('[ { service: customers, tables: [c], via: federated } ]'))).toStrictEqual([
      '5:62 services.orders.links[0].via is "federated", which is not one of connect',
    ]);
  });

  it('refuses derived names longer than MariaDB allows', () => {
    const a = `a${'b'.repeat(40)}`;
    const c = `c${'d'.repeat(40)}`;
    const out = issues(
      `version: 1\nfleet: t\nservices:\n  ${c}: {}\n  ${a}: { links: [ { service: ${c}, tables: [t], via: connect } ] }\n`,
    );
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(
      /link name dbps derives, "dbps_link_a\w+", is 94 characters long; MariaDB allows at most 64 for a CREATE SERVER name/,
    );
  });

  it('takes the declared host, and defaults to the reader server host for external servers', () => {
    const fleet = fleetOf(
      'version: 1\nfleet: t\nservers:\n  a: { driver: external, host: a.internal, admin: { user: root } }\n  b: { driver: external, host: b.internal, admin: { user: root } }\nservices:\n  customers: { server: b }\n  orders: { server: a, links: [ { service: customers, tables: [c], via: connect } ] }\n  pay: { links: [ { service: customers, tables: [c], via: connect, host: "10.0.0.%" } ] }\n',
    );
    expect(fleet.services.find((s) => s.name === 'orders')!.links![0]!.host).toBe('a.internal');
    expect(fleet.services.find((s) => s.name === 'pay')!.links![0]!.host).toBe('10.0.0.%');
  });
});

describe('links: desired state', () => {
  const fleet = fleetOf(linked());
  const server = (name: string) => fleet.servers.find((s) => s.name === name)!;

  it('gives the target a read-only account with SELECT on exactly the declared tables', () => {
    const d = desiredServer(fleet, server('customers'));
    expect(d.links).toStrictEqual([]);
    const link = d.accounts.find((a) => a.user === LINK)!;
    expect(link).toMatchObject({ host: '127.0.0.1', kind: 'link', service: 'orders' });
    expect(link.grants.map((g) => [g.scope, g.privileges])).toStrictEqual([
      [{ level: 'table', database: 'customers', table: 'customers' }, ['SELECT']],
      [{ level: 'table', database: 'customers', table: 'addresses' }, ['SELECT']],
    ]);
  });

  it("gives the reader the server entry, CONNECT tables, views and the views' locked definer with FILE", () => {
    const d = desiredServer(fleet, server('orders'));
    expect(d.links).toStrictEqual([
      {
        service: 'orders',
        database: 'orders',
        serverName: LINK,
        user: LINK,
        target: { service: 'customers', server: 'customers', database: 'customers' },
        definer: { user: LINK, host: 'localhost' },
        tables: [
          { remote: 'customers', connectTable: 'customers__customers__remote', view: 'customers__customers' },
          { remote: 'addresses', connectTable: 'customers__addresses__remote', view: 'customers__addresses' },
        ],
      },
    ]);
    const definer = d.accounts.find((a) => a.user === LINK)!;
    expect(definer).toMatchObject({ host: 'localhost', kind: 'link-definer', locked: true });
    expect(definer.grants.map((g) => [g.scope, g.privileges])).toStrictEqual([
      [{ level: 'global' }, ['FILE']],
      [{ level: 'table', database: 'orders', table: 'customers__customers__remote' }, ['SELECT']],
      [{ level: 'table', database: 'orders', table: 'customers__addresses__remote' }, ['SELECT']],
    ]);
    // The reader's own accounts get nothing new: they read the views on their own database.
    const app = d.accounts.find((a) => a.user === 'orders_app')!;
    expect(app.grants.map((g) => g.scope)).toStrictEqual([{ level: 'database', database: 'orders' }]);
  });
});

function observation(fleet: Fleet, links: ObservedLinks, existing: string[] = []): ServerObservation {
  void fleet;
  return {
    catalog: {
      server: 'orders',
      version: '10.11.9-MariaDB',
      accounts: [],
      databases: ['orders'],
      dbGrants: [],
      tableGrants: [],
      columnGrants: [],
      routineGrants: [],
      proxyGrants: [],
      roleGrants: [],
    },
    passwordMismatch: new Set(),
    existingTables: new Set(existing),
    tableCounts: new Map(),
    protectedAccounts: new Set(),
    links,
  };
}
const nothing: ObservedLinks = { connectEngine: false, servers: new Map(), tables: new Map(), views: new Map() };
const linkKinds = (changes: Change[]) =>
  changes.filter((c) => c.kind.includes('link') || c.kind === 'install-connect').map((c) => `${c.kind} ${c.object}`);

describe('links: diff', () => {
  const fleet = fleetOf(linked('[ { service: customers, tables: [customers], via: connect } ]'));
  const desired = desiredServer(fleet, fleet.servers.find((s) => s.name === 'orders')!);
  const base = { prune: false, forceDropData: false, passwordOf: () => ({ source: 'generated' as const, name: 'x' }) };
  const pass = {
    addressOf: () => ({ host: '127.0.0.1', port: 3400 }),
    targetTables: new Set(['customers\u0000customers.customers']),
    passwordOf: () => ({ source: 'generated' as const, name: `customers.${LINK}` }),
  };

  it('makes nothing before the link pass, then the engine, server entry, table, grant and view in order', () => {
    expect(linkKinds(diffServer(desired, observation(fleet, nothing), base).changes)).toStrictEqual([]);
    const d = diffServer(desired, observation(fleet, nothing), { ...base, links: pass });
    expect(linkKinds(d.changes)).toStrictEqual([
      'install-connect plugin ha_connect',
      `create-link-server server ${LINK}`,
      'create-link-table table orders.customers__customers__remote',
      'create-link-view view orders.customers__customers',
    ]);
    const kinds = d.changes.map((c) => c.kind);
    expect(kinds.indexOf('create-link-table')).toBeLessThan(
      d.changes.findIndex((c) => c.kind === 'grant' && c.object.includes('__remote')),
    );
    expect(kinds.indexOf('create-link-view')).toBeGreaterThan(
      d.changes.findIndex((c) => c.kind === 'grant' && c.object.includes('__remote')),
    );
    expect(d.changes.find((c) => c.kind === 'create-user' && c.user === LINK)).toMatchObject({ locked: true });
  });

  it('defers the link while the target table does not exist', () => {
    const d = diffServer(desired, observation(fleet, nothing), {
      ...base,
      links: { ...pass, targetTables: new Set() },
    });
    expect(linkKinds(d.changes)).not.toContain('create-link-table table orders.customers__customers__remote');
    expect(d.deferred.map((x) => x.reason)).toContainEqual(
      expect.stringContaining('table customers.customers does not exist on server customers yet'),
    );
  });

  it("never replaces a service's own table that has the CONNECT table's name", () => {
    const d = diffServer(desired, observation(fleet, nothing, ['orders.customers__customers__remote']), {
      ...base,
      links: pass,
    });
    expect(linkKinds(d.changes)).not.toContain('create-link-table table orders.customers__customers__remote');
    expect(d.deferred).toContainEqual(
      expect.objectContaining({
        blocking: true,
        reason: expect.stringContaining("exists and is not this link's CONNECT table"),
      }),
    );
  });

  it('waits, blocking, while the target server cannot be reached', () => {
    const d = diffServer(desired, observation(fleet, nothing), {
      ...base,
      links: { ...pass, unreachable: new Set(['customers']) },
    });
    expect(linkKinds(d.changes)).toStrictEqual(['install-connect plugin ha_connect']);
    expect(d.deferred).toContainEqual(
      expect.objectContaining({
        object: 'link orders → customers',
        blocking: true,
        reason: expect.stringContaining('server customers could not be reached'),
      }),
    );
  });

  it('is a no-op when everything matches, and repairs drift', () => {
    const made: ObservedLinks = {
      connectEngine: true,
      servers: new Map([
        [LINK, { host: '127.0.0.1', port: 3400, database: 'customers', user: LINK, passwordOk: true }],
      ]),
      tables: new Map([['orders.customers__customers__remote', { connection: `${LINK}/customers` }]]),
      views: new Map([
        [
          'orders.customers__customers',
          {
            definer: `${LINK}@localhost`,
            security: 'DEFINER',
            definition:
              'select `orders`.`customers__customers__remote`.`id` AS `id` from `orders`.`customers__customers__remote`',
          },
        ],
      ]),
    };
    const existing = ['orders.customers__customers__remote'];
    expect(
      linkKinds(diffServer(desired, observation(fleet, made, existing), { ...base, links: pass }).changes),
    ).toStrictEqual([]);
    const moved = { ...pass, addressOf: () => ({ host: '127.0.0.1', port: 3401 }) };
    const d = diffServer(desired, observation(fleet, made, existing), { ...base, links: moved });
    expect(d.changes.find((c) => c.kind === 'create-link-server')).toMatchObject({
      replace: true,
      reason: 'points at 127.0.0.1:3400, want 127.0.0.1:3401 (drift)',
    });
    // The table reads its columns when created: re-created with its server entry, and the view with it.
    expect(linkKinds(d.changes)).toContain('create-link-table table orders.customers__customers__remote');
    const invoker: ObservedLinks = {
      ...made,
      views: new Map([
        ['orders.customers__customers', { ...made.views.get('orders.customers__customers')!, security: 'INVOKER' }],
      ]),
    };
    expect(
      diffServer(desired, observation(fleet, invoker, existing), { ...base, links: pass }).changes.find(
        (c) => c.kind === 'create-link-view',
      )?.reason,
    ).toBe('SQL SECURITY is INVOKER, want DEFINER (drift)');
  });

  it('drops the objects dbps made for a link no longer declared, and nothing else', () => {
    const plain = fleetOf('version: 1\nfleet: t\nservices:\n  customers: {}\n  orders: {}\n');
    const d0 = desiredServer(plain, plain.servers.find((s) => s.name === 'orders')!);
    const left: ObservedLinks = {
      connectEngine: true,
      servers: new Map([[LINK, { host: '127.0.0.1', port: 1, database: 'customers', user: LINK, passwordOk: false }]]),
      tables: new Map([['orders.customers__customers__remote', { connection: `${LINK}/customers` }]]),
      views: new Map([
        [
          'orders.customers__customers',
          {
            definer: `${LINK}@localhost`,
            security: 'DEFINER',
            definition: 'select * from `orders`.`customers__customers__remote`',
          },
        ],
        ['orders.own_view', { definer: 'x@y', security: 'INVOKER', definition: 'select 1 from `orders`.`t`' }],
        [
          'orders.migrations_view',
          {
            definer: 'orders_migrator@%',
            security: 'INVOKER',
            definition: 'select * from `orders`.`customers__customers__remote`',
          },
        ],
      ]),
    };
    expect(linkKinds(diffServer(d0, observation(plain, left), base).changes)).toStrictEqual([
      'drop-link-view view orders.customers__customers',
      'drop-link-table table orders.customers__customers__remote',
      `drop-link-server server ${LINK}`,
    ]);
    // With only some services in view, nothing is dropped.
    expect(
      linkKinds(diffServer(d0, observation(plain, left), { ...base, services: new Set(['orders']) }).changes),
    ).toStrictEqual([]);
  });

  it('keeps the password out of plans and in the parameters only', () => {
    const d = diffServer(desired, observation(fleet, nothing), { ...base, links: pass });
    const server = d.changes.find((c) => c.kind === 'create-link-server')!;
    const s = statementFor(server, () => 'S3cret-link-pw');
    expect(s.params).toStrictEqual(['S3cret-link-pw']);
    expect(s.sql).not.toContain('S3cret');
    expect(s.display).toBe(
      `CREATE SERVER \`${LINK}\` FOREIGN DATA WRAPPER mysql OPTIONS (HOST '127.0.0.1', PORT 3400, DATABASE 'customers', USER '${LINK}', PASSWORD '********')`,
    );
    expect(displaySql(d.changes.find((c) => c.kind === 'create-link-table')!)).toBe(
      `CREATE OR REPLACE TABLE \`orders\`.\`customers__customers__remote\` ENGINE=CONNECT TABLE_TYPE=MYSQL CONNECTION='${LINK}/customers'`,
    );
    expect(displaySql(d.changes.find((c) => c.kind === 'create-link-view')!)).toBe(
      `CREATE OR REPLACE DEFINER='${LINK}'@'localhost' SQL SECURITY DEFINER VIEW \`orders\`.\`customers__customers\` AS SELECT * FROM \`orders\`.\`customers__customers__remote\``,
    );
  });
});

const account = (user: string, host: string, extra: Partial<CatalogAccount> = {}): CatalogAccount => ({
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
});
const APP = ['CREATE TEMPORARY TABLES', 'DELETE', 'EXECUTE', 'INSERT', 'SELECT', 'UPDATE'];

describe('links: audit', () => {
  const fleet = fleetOf(linked('[ { service: customers, tables: [customers], via: connect } ]'));
  const server = (name: string) => fleet.servers.find((s) => s.name === name)!;
  const remote = (table: string, connection: string) => ({
    db: 'orders',
    table,
    engine: 'CONNECT',
    tableType: 'MYSQL',
    connection,
    hasPassword: false,
  });
  const reader = (extra: Partial<Catalog> = {}, definerLocked = true): Catalog => ({
    server: 'orders',
    version: '10.11.9-MariaDB',
    accounts: [
      account('orders_app', '%'),
      account(LINK, 'localhost', { locked: definerLocked, globalPrivileges: ['FILE'] }),
    ],
    databases: ['orders'],
    dbGrants: [{ user: 'orders_app', host: '%', db: 'orders', privileges: APP, grantOption: false }],
    tableGrants: [
      {
        user: LINK,
        host: 'localhost',
        db: 'orders',
        table: 'customers__customers__remote',
        privileges: ['SELECT'],
        grantOption: false,
      },
    ],
    columnGrants: [],
    routineGrants: [],
    proxyGrants: [],
    roleGrants: [],
    definerObjects: [
      {
        kind: 'VIEW',
        db: 'orders',
        name: 'customers__customers',
        definer: `${LINK}@localhost`,
        body: 'select `orders`.`customers__customers__remote`.`id` AS `id` from `orders`.`customers__customers__remote`',
        updatable: true,
      },
    ],
    foreignKeys: [],
    remoteTables: [
      remote('customers__customers__remote', `mysql://${LINK}:<redacted>@127.0.0.1:3400/customers/customers`),
    ],
    ...extra,
  });
  const errors = (c: Catalog, on = 'orders') =>
    auditCatalog(fleet, server(on), c, { adminUsers: ['root'] }).filter((f) => f.severity === 'error');

  it('reports the declared link as allowed, with its declaration, and nothing failing', () => {
    const all = auditCatalog(fleet, server('orders'), reader(), { adminUsers: ['root'] });
    expect(all.filter((f) => f.severity !== 'allowed')).toStrictEqual([]);
    expect(all.map((f) => `${f.rule} ${f.account}`)).toStrictEqual([
      "remote-table-access 'orders_app'@'%'",
      `remote-table-access '${LINK}'@'localhost'`,
      `global-data-privileges '${LINK}'@'localhost'`,
    ]);
    expect(all[0]!.message).toBe(
      'declared link: services.orders.links reads customers.customers through this CONNECT table (and the view orders.customers__customers over it)',
    );
  });

  it('reports a CONNECT table to another table, another database or with another login as an error', () => {
    for (const wider of [
      remote('customers__customers__remote', `mysql://${LINK}:<redacted>@127.0.0.1:3400/customers/secret`),
      remote('sneaky', `mysql://${LINK}:<redacted>@127.0.0.1:3400/customers/customers`),
      remote('customers__customers__remote', 'mysql://customers_app:<redacted>@127.0.0.1:3400/customers/customers'),
    ]) {
      const found = errors(reader({ remoteTables: [wider] }));
      expect(found.map((f) => f.rule)).toContain('remote-table-access');
    }
  });

  it('reports an unlocked definer holding FILE, and the link account granted more on the target', () => {
    expect(errors(reader({}, false)).map((f) => `${f.rule} ${f.privilege}`)).toContainEqual(
      'global-data-privileges FILE',
    );
    const target: Catalog = {
      ...reader(),
      server: 'customers',
      accounts: [account(LINK, '127.0.0.1')],
      databases: ['customers'],
      dbGrants: [],
      tableGrants: [
        {
          user: LINK,
          host: '127.0.0.1',
          db: 'customers',
          table: 'customers',
          privileges: ['SELECT'],
          grantOption: false,
        },
        { user: LINK, host: '127.0.0.1', db: 'customers', table: 'secret', privileges: ['SELECT'], grantOption: false },
      ],
      definerObjects: [],
      remoteTables: [],
    };
    const all = auditCatalog(fleet, server('customers'), target, { adminUsers: ['root'] });
    expect(all.filter((f) => f.severity === 'allowed').map((f) => f.object)).toStrictEqual(['`customers`.`customers`']);
    expect(all.filter((f) => f.severity === 'error').map((f) => `${f.rule} ${f.object}`)).toStrictEqual([
      'cross-service-access `customers`.`secret`',
    ]);
  });
});

describe('links: my.cnf', () => {
  it('loads ha_connect on the reader server only', () => {
    const fleet = fleetOf(linked());
    const cnf = (name: string) =>
      renderMyCnf(fleet, fleet.servers.find((s) => s.name === name)!, { version: parseVersion('11.8') });
    expect(cnf('orders')).toMatch(/^plugin_load_add = ha_connect$/m);
    expect(cnf('customers')).not.toMatch(/plugin_load_add/);
  });
});

describe('links: compose and Kubernetes', () => {
  const fleet = fleetOf(linked());

  it("builds the reader's image with the CONNECT engine (the official image has none), still a valid compose file", () => {
    const doc = parse(renderCompose(fleet)) as { services: Record<string, { image: string; build?: unknown }> };
    const validate = vendoredSchema('compose-spec.json');
    expect(validate(doc), schemaErrors(validate)).toBe(true);
    const reader = Object.values(doc.services).find((s) => s.image.includes('connect'))!;
    expect(reader).toMatchObject({
      image: 't-mariadb-connect:11.8',
      build: { context: '.', dockerfile_inline: expect.stringContaining('FROM mariadb:11.8') },
    });
    expect((reader.build as { dockerfile_inline: string }).dockerfile_inline).toContain(
      'apt-get install -y --no-install-recommends mariadb-plugin-connect',
    );
    expect(Object.values(doc.services).filter((s) => s.build)).toHaveLength(1);
  });

  it('gives the link account the host the reader pod connects from, and the reader a myCnf loading the engine', () => {
    const users = (name: string) =>
      serverResources(fleet, name, {}).filter(
        (r) => (r as { kind?: string }).kind === 'User' && (r as { spec: { name: string } }).spec.name === LINK,
      ) as { spec: { host: string } }[];
    expect(users('customers').map((u) => u.spec.host)).toStrictEqual(['%']);
    expect(users('orders').map((u) => u.spec.host)).toStrictEqual(['localhost']);
    const mariadb = serverResources(fleet, 'orders', {}).find((r) => (r as { kind?: string }).kind === 'MariaDB') as {
      spec: { myCnf: string };
    };
    expect(mariadb.spec.myCnf).toMatch(/^plugin_load_add = ha_connect$/m);
  });

  it("lets the reader's MariaDB pods through the target's NetworkPolicy, and no other server's", () => {
    const from = (name: string) =>
      JSON.stringify(
        (
          serverResources(fleet, name, {}).find((r) => (r as { kind?: string }).kind === 'NetworkPolicy') as {
            spec: { ingress: { from: unknown[] }[] };
          }
        ).spec.ingress[0]!.from,
      );
    expect(from('customers')).toContain('"orders"');
    expect(from('orders')).not.toContain('"customers"');
  });
});
