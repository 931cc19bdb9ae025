// outbox: { retention: 1m } on real mariadbd: provision creates the purge event in the service's own
// database, defined by its migrator; the event deletes a published row older than the retention and
// keeps an unpublished row and a recently published one; plan is in sync after provision, a hand-made
// change to the event is drift, audit-grants is clean, and removing the retention drops the event.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

let fleet: LocalFleet;
let port: number;

const servicesYaml = (outbox: string) => `version: 1
fleet: outboxret
servers:
  shared: { driver: local, profile: oltp, memory: 128M, port: ${port} }
services:
  orders: { server: shared, outbox: ${outbox} }
  pay: { server: shared }
`;

/** A root session over the server's socket (dbps's local servers let root in through unix_socket). */
async function admin() {
  const socket = fleet.state().servers.shared!.socket;
  return mariadb.createConnection({ socketPath: socket, user: 'root', connectTimeout: 3000 });
}

async function waitFor(probe: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return probe();
}

beforeAll(async () => {
  port = await freePort();
  fleet = await createFleet(servicesYaml('{ retention: 1m }'));
  const up = await fleet.run(['up']);
  if (up.code !== 0) throw new Error(`dbps up failed: ${up.stderr}`);
  const prov = await fleet.run(['provision']);
  if (prov.code !== 0) throw new Error(`dbps provision failed: ${prov.stdout}\n${prov.stderr}`);
}, 120_000);

afterAll(async () => {
  await destroyAllFleets();
});

describe('outbox retention', () => {
  it('creates the purge event as the migrator; plan is in sync and audit-grants is clean', async () => {
    const c = await admin();
    try {
      const rows = await c.query(
        `SELECT EVENT_SCHEMA AS db, EVENT_NAME AS name, DEFINER AS definer, STATUS AS status,
                INTERVAL_VALUE AS iv, INTERVAL_FIELD AS f FROM information_schema.EVENTS`,
      );
      expect(rows.map((r: Record<string, unknown>) => ({ ...r, iv: String(r.iv).trim() }))).toStrictEqual([
        {
          db: 'orders',
          name: 'orders_outbox_purge',
          definer: 'orders_migrator@%',
          status: 'ENABLED',
          iv: '10',
          f: 'SECOND',
        },
      ]);
      const [sched] = await c.query('SELECT @@GLOBAL.event_scheduler AS s');
      expect(sched.s).toBe('ON');
    } finally {
      await c.end();
    }
    const plan = await fleet.run(['plan']);
    expect(plan.stdout).toMatch(/In sync: no changes/);
    expect(plan.code).toBe(0);
    const audit = await fleet.run(['audit-grants']);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
  }, 60_000);

  it('purges a published row older than the retention, keeps unpublished and recent published rows', async () => {
    const c = await admin();
    try {
      await c.query(
        `INSERT INTO orders.orders_events_outbox (aggregate_type, aggregate_id, event_type, payload, created_at, published_at)
         VALUES ('order', '1', 'old-published', '{}', NOW(6) - INTERVAL 1 HOUR, NOW(6) - INTERVAL 50 MINUTE),
                ('order', '2', 'unpublished', '{}', NOW(6) - INTERVAL 1 HOUR, NULL),
                ('order', '3', 'recent-published', '{}', NOW(6), NOW(6))`,
      );
      const left = async () =>
        (await c.query('SELECT event_type AS t FROM orders.orders_events_outbox ORDER BY event_id')).map(
          (r: { t: string }) => r.t,
        );
      // The event runs every 10 s for a 1m retention: the old row is gone well within 30 s.
      expect(await waitFor(async () => !(await left()).includes('old-published'), 30_000)).toBe(true);
      expect(await left()).toStrictEqual(['unpublished', 'recent-published']);
    } finally {
      await c.end();
    }
  }, 60_000);

  it('reports a changed event as drift and repairs it; removing the retention drops the event', async () => {
    const c = await admin();
    try {
      await c.query('ALTER EVENT orders.orders_outbox_purge DISABLE');
      const plan = await fleet.run(['plan']);
      expect(plan.code).toBe(1);
      expect(plan.stdout).toMatch(/orders_outbox_purge/);
      expect(plan.stdout).toMatch(/DISABLED/);
      expect((await fleet.run(['provision'])).code).toBe(0);
      const [ev] = await c.query(
        "SELECT STATUS AS s FROM information_schema.EVENTS WHERE EVENT_NAME = 'orders_outbox_purge'",
      );
      expect(ev.s).toBe('ENABLED');
      expect((await fleet.run(['plan'])).code).toBe(0);

      // With the scheduler off the event never runs: plan says so and is not in sync.
      await c.query('SET GLOBAL event_scheduler = OFF');
      const off = await fleet.run(['plan']);
      await c.query('SET GLOBAL event_scheduler = ON');
      expect(off.code).toBe(1);
      expect(off.stdout).toMatch(/broken event orders\.orders_outbox_purge: event_scheduler is OFF/);
      expect((await fleet.run(['plan'])).code).toBe(0);

      await writeFile(path.join(fleet.dir, 'services.yaml'), servicesYaml('true'));
      const plain = await fleet.run(['plan']);
      expect(plain.code).toBe(1);
      expect(plain.stdout).toMatch(/DROP EVENT IF EXISTS `orders`\.`orders_outbox_purge`/);
      expect((await fleet.run(['provision'])).code).toBe(0);
      const events = await c.query('SELECT EVENT_NAME FROM information_schema.EVENTS');
      expect(events).toStrictEqual([]);
      expect((await fleet.run(['plan'])).code).toBe(0);
    } finally {
      await c.end();
    }
  }, 90_000);
});
