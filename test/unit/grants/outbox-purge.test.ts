// outbox: { retention }: config validates the duration with file:line:col, the desired state holds one purge
// event defined by the service's migrator, and the diff creates, replaces (drift) and drops it as typed Changes.
import { describe, expect, it } from 'vitest';
import { durationSeconds, purgeEverySeconds } from '../../../src/config/outbox-retention.js';
import { ConfigError } from '../../../src/errors.js';
import { desiredServer, PURGE_EVENT_COMMENT } from '../../../src/fleet/desired.js';
import type { Fleet } from '../../../src/fleet/model.js';
import {
  type Change,
  type Deferred,
  type DiffOptions,
  diffServer,
  type ObservedEvent,
  type ServerObservation,
  tableKey,
} from '../../../src/grants/diff.js';
import { displaySql, purgeEventBody } from '../../../src/grants/sql.js';
import type { Catalog } from '../../../src/grants/types.js';
import { fleetOf } from '../../helpers/fleets.js';

function issues(text: string): string[] {
  try {
    fleetOf(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.line}:${i.column} ${i.message}`);
    throw e;
  }
  return [];
}

const yaml = (outbox: string, extra = '') =>
  `version: 1\nfleet: t\nservers:\n  s: { profile: oltp }\nservices:\n  orders: { server: s, outbox: ${outbox} }\n  pay: { server: s }\n${extra}`;

function desired(fleet: Fleet) {
  return desiredServer(fleet, fleet.servers[0]!);
}

const CATALOG: Catalog = {
  server: 's',
  version: '10.11.19-MariaDB',
  accounts: [],
  databases: ['mysql'],
  dbGrants: [],
  tableGrants: [],
  columnGrants: [],
  routineGrants: [],
  proxyGrants: [],
  roleGrants: [],
};

function observe(events: Map<string, ObservedEvent>): ServerObservation {
  return {
    catalog: CATALOG,
    passwordMismatch: new Set(),
    existingTables: new Set(),
    tableCounts: new Map(),
    protectedAccounts: new Set(),
    purgeEvents: events,
  };
}

const OPTS: DiffOptions = {
  // One service only: the purge changes, without every account and grant of an empty server.
  services: new Set(['orders']),
  prune: false,
  forceDropData: false,
  passwordOf: (a) => ({ source: 'generated', name: `PW_${a.user}` }),
};

/** Deferred items about events (the relay's table grants wait for the outbox table in these catalogs). */
const onEvents = (deferred: Deferred[]) => deferred.filter((d) => d.object.startsWith('event '));

const purgeChanges = (changes: Change[]) =>
  changes.filter((c) => c.kind === 'create-outbox-purge' || c.kind === 'drop-outbox-purge');

/** The event as the server shows it after dbps created it for a 7d retention. */
function inSync(over: Partial<ObservedEvent> = {}): ObservedEvent {
  return {
    definer: 'orders_migrator@%',
    body: purgeEventBody('orders', 'orders_events_outbox', 604_800),
    intervalValue: '3600',
    intervalField: 'SECOND',
    status: 'ENABLED',
    onCompletion: 'PRESERVE',
    comment: PURGE_EVENT_COMMENT,
    ...over,
  };
}

describe('outbox retention in services.yaml', () => {
  it('accepts m, h, d and w; the event runs hourly or every sixth of a shorter retention, at least every 10 s', () => {
    expect(['30m', '12h', '7d', '2w'].map(durationSeconds)).toStrictEqual([1800, 43_200, 604_800, 1_209_600]);
    expect([60, 1800, 21_600, 604_800].map(purgeEverySeconds)).toStrictEqual([10, 300, 3600, 3600]);
    expect(issues(yaml('true'))).toStrictEqual([]);
    expect(issues(yaml('{ retention: 7d }'))).toStrictEqual([]);
    const fleet = fleetOf(yaml('{ retention: 12h }'));
    expect(fleet.services[0]!.outbox).toBe(true);
    expect(fleet.services[0]!.outboxTable).toBe('orders_events_outbox');
    expect(fleet.services[0]!.outboxPurge).toStrictEqual({
      event: 'orders_outbox_purge',
      retention: '12h',
      retentionSeconds: 43_200,
      everySeconds: 3600,
      definer: { user: 'orders_migrator', host: '%' },
    });
    expect(fleetOf(yaml('true')).services[0]!.outboxPurge).toBeUndefined();
  });

  it('refuses a malformed, zero or unbounded retention, unknown keys, and no migrator to own the event, with line:col', () => {
    expect(issues(yaml('{ retention: 7 days }'))).toStrictEqual([
      '6:45 services.orders.outbox.retention is "7 days", which is not a duration such as 30m, 12h or 7d',
    ]);
    expect(issues(yaml('{ retention: 0d }'))).toStrictEqual([
      '6:45 outbox retention "0d" would delete every event as soon as it is published; give at least 1m (e.g. 7d)',
    ]);
    expect(issues(yaml('{ retention: 999w }'))[0]).toMatch(/^6:45 outbox retention "999w" is longer than ten years/);
    expect(issues(yaml('{}'))[0]).toMatch(/^6:32 .*retention/);
    expect(issues(yaml('{ retention: 7d, keep: 1 }'))[0]).toMatch(/^6:\d+ .*keep/);
    expect(issues(yaml('7d'))).toStrictEqual([
      '6:32 services.orders.outbox is "7d"; write true, or a mapping such as { retention: 7d }',
    ]);
    const noMigrator =
      'version: 1\nfleet: t\nservices:\n  orders:\n    outbox: { retention: 7d }\n    users: [ { name: orders_app, role: app } ]\n';
    expect(issues(noMigrator)).toStrictEqual([
      '5:26 service "orders" has no migrator account to own the outbox purge event; add a user with role migrator, or write "outbox: true"',
    ]);
  });

  it('warns in validate when the server profile turns event_scheduler off; not for oltp or external servers', () => {
    const olap = fleetOf('version: 1\nfleet: t\nservices:\n  orders: { profile: olap, outbox: { retention: 1d } }\n');
    expect(olap.warnings.map((w) => `${w.line}:${w.column} ${w.message}`)).toStrictEqual([
      '4:49 service "orders" lives on server "orders" with profile olap, which turns event_scheduler OFF: its outbox purge event will be created but never run; use profile oltp or turn event_scheduler on there',
    ]);
    expect(fleetOf(yaml('{ retention: 1d }')).warnings).toStrictEqual([]);
  });
});

describe('desired purge event', () => {
  it('is one event in the service database, on its outbox table, defined by its migrator', () => {
    const d = desired(fleetOf(yaml('{ retention: 30m }')));
    expect(d.purgeEvents).toStrictEqual([
      {
        service: 'orders',
        database: 'orders',
        event: 'orders_outbox_purge',
        table: 'orders_events_outbox',
        retentionSeconds: 1800,
        everySeconds: 300,
        definer: { user: 'orders_migrator', host: '%' },
      },
    ]);
    expect(d.purgeEventCandidates).toStrictEqual([
      { service: 'orders', database: 'orders', event: 'orders_outbox_purge' },
      { service: 'pay', database: 'pay', event: 'pay_outbox_purge' },
    ]);
    expect(desired(fleetOf(yaml('true'))).purgeEvents).toStrictEqual([]);
  });
});

describe('purge event diff', () => {
  const d7 = desired(fleetOf(yaml('{ retention: 7d }')));
  const createChange = (replace: boolean, reason: string): Change => ({
    server: 's',
    service: 'orders',
    object: 'event orders.orders_outbox_purge',
    destructive: false,
    kind: 'create-outbox-purge',
    database: 'orders',
    event: 'orders_outbox_purge',
    table: 'orders_events_outbox',
    retentionSeconds: 604_800,
    everySeconds: 3600,
    definer: { user: 'orders_migrator', host: '%' },
    replace,
    reason,
  });

  it('creates a missing event, after the grants, with the migrator as DEFINER and only the outbox table in its body', () => {
    const { changes } = diffServer(d7, observe(new Map()), OPTS);
    expect(purgeChanges(changes)).toStrictEqual([
      createChange(false, 'services.orders.outbox.retention purges published events after 604800 s'),
    ]);
    const kinds = changes.map((c) => c.kind);
    expect(kinds.indexOf('create-outbox-purge')).toBeGreaterThan(kinds.lastIndexOf('grant'));
    expect(displaySql(purgeChanges(changes)[0]!)).toBe(
      [
        "CREATE DEFINER='orders_migrator'@'%' EVENT `orders`.`orders_outbox_purge`",
        '  ON SCHEDULE EVERY 3600 SECOND',
        '  ON COMPLETION PRESERVE ENABLE',
        `  COMMENT '${PURGE_EVENT_COMMENT}'`,
        '  DO DELETE FROM `orders`.`orders_events_outbox` WHERE `published_at` < NOW(6) - INTERVAL 604800 SECOND',
      ].join('\n'),
    );
  });

  it('is in sync when the server shows the same event', () => {
    const key = tableKey('orders', 'orders_outbox_purge');
    expect(purgeChanges(diffServer(d7, observe(new Map([[key, inSync()]])), OPTS).changes)).toStrictEqual([]);
  });

  it('replaces an event whose definer, body, schedule or status differs (drift)', () => {
    const key = tableKey('orders', 'orders_outbox_purge');
    const drifted = inSync({
      definer: 'root@localhost',
      body: 'DELETE FROM `orders`.`orders_events_outbox`',
      intervalValue: '1',
      intervalField: 'DAY',
      status: 'DISABLED',
    });
    const { changes } = diffServer(d7, observe(new Map([[key, drifted]])), OPTS);
    expect(purgeChanges(changes)).toStrictEqual([
      createChange(
        true,
        'definer is root@localhost, want orders_migrator@%; its body is not the purge of published events services.yaml asks for; runs every 1 DAY, want every 3600 SECOND; it is DISABLED (drift)',
      ),
    ]);
    expect(displaySql(purgeChanges(changes)[0]!)).toMatch(/^CREATE OR REPLACE DEFINER='orders_migrator'@'%' EVENT /);
    // A changed retention is a different body: replaced too.
    const d1 = desired(fleetOf(yaml('{ retention: 1d }')));
    expect(purgeChanges(diffServer(d1, observe(new Map([[key, inSync()]])), OPTS).changes)).toStrictEqual([
      expect.objectContaining({ kind: 'create-outbox-purge', replace: true, retentionSeconds: 86_400 }),
    ]);
  });

  it('marks the event broken while the server runs with event_scheduler off (plan is not in sync)', () => {
    const key = tableKey('orders', 'orders_outbox_purge');
    const off = { ...observe(new Map([[key, inSync()]])), eventScheduler: 'OFF' };
    const { changes, deferred } = diffServer(d7, off, OPTS);
    expect(purgeChanges(changes)).toStrictEqual([]);
    expect(onEvents(deferred)).toStrictEqual([
      {
        server: 's',
        service: 'orders',
        object: 'event orders.orders_outbox_purge',
        reason:
          'event_scheduler is OFF on this server, so the outbox purge never runs; turn it on (event_scheduler=ON in my.cnf, which the oltp profile sets, and SET GLOBAL event_scheduler = ON)',
        blocking: true,
      },
    ]);
    expect(onEvents(diffServer(d7, { ...off, eventScheduler: 'ON' }, OPTS).deferred)).toStrictEqual([]);
    // Without retention the scheduler is none of dbps's business.
    expect(onEvents(diffServer(desired(fleetOf(yaml('true'))), off, OPTS).deferred)).toStrictEqual([]);
  });

  it("drops dbps's event once the retention is removed, but never a migration's own event of that name", () => {
    const key = tableKey('orders', 'orders_outbox_purge');
    const plain = desired(fleetOf(yaml('true')));
    expect(purgeChanges(diffServer(plain, observe(new Map([[key, inSync()]])), OPTS).changes)).toStrictEqual([
      {
        server: 's',
        service: 'orders',
        object: 'event orders.orders_outbox_purge',
        destructive: false,
        kind: 'drop-outbox-purge',
        database: 'orders',
        event: 'orders_outbox_purge',
        reason: 'services.orders.outbox has no retention: published events are kept',
      },
    ]);
    expect(displaySql(diffServer(plain, observe(new Map([[key, inSync()]])), OPTS).changes.at(-1)!)).toBe(
      'DROP EVENT IF EXISTS `orders`.`orders_outbox_purge`',
    );
    const theirs = inSync({ comment: 'a migration of orders' });
    expect(purgeChanges(diffServer(plain, observe(new Map([[key, theirs]])), OPTS).changes)).toStrictEqual([]);
  });
});
