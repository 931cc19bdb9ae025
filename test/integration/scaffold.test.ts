// dbps scaffold on a real dbps-provisioned fleet: every pattern applied as the migrator (twice, the
// second run changing nothing), then exercised as the app account with many connections at once.
// Each bug of the seed (fixtures/seed-patterns/, applied to the `seed` service) is shown failing its
// property, and the scaffolded version passing it. One fleet for the whole file.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import mariadb, { type Connection } from 'mariadb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readSecrets, secretKey } from '../../src/runtime/secrets.js';
import { repoRoot } from '../helpers/fleets.js';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort } from '../helpers/local-fleet.js';

const PATTERNS = ['outbox', 'reservation', 'projection', 'change-capture', 'read-model'] as const;
const SEED_DIR = path.join(repoRoot, 'fixtures', 'seed-patterns');
const SERVER = 'shared';
const OUTBOX = 'shop_events_outbox';

let fleet: LocalFleet;
const open: Connection[] = [];

// 512M gives max_connections 75 (oltp): room for 50 app connections plus the test's own.
const cli = (args: string[]) => fleet.run(args, { DBPS_MEMORY_SCALE: '1' });

interface ServerState {
  port: number;
  socket: string;
  adminUser: string;
}
const serverState = () => (fleet.state().servers as unknown as Record<string, ServerState>)[SERVER]!;

const driverOpts = {
  connectTimeout: 10_000,
  bigIntAsNumber: true,
  insertIdAsNumber: true,
  decimalAsNumber: false,
} as const;

/** A connection as one of the fleet's accounts, over TCP like a service would connect. */
async function login(user: string, database: string): Promise<Connection> {
  const password = (await readSecrets(fleet.stateDir)).get(secretKey(SERVER, user));
  if (!password) throw new Error(`no password for ${user}`);
  const c = await mariadb.createConnection({
    host: '127.0.0.1',
    port: serverState().port,
    user,
    password,
    database,
    ...driverOpts,
  });
  open.push(c);
  return c;
}

/** The server's admin over its socket: only for observing lock waits and holding test locks. */
async function admin(): Promise<Connection> {
  const s = serverState();
  const c = await mariadb.createConnection({ socketPath: s.socket, user: s.adminUser, ...driverOpts });
  open.push(c);
  return c;
}

/**
 * Opens `n` sessions at once. A session the client has ended frees its server slot only when the
 * server's thread finishes, a moment later, so this first waits (bounded) until `n` fit under
 * max_connections: a loaded machine would otherwise see "Too many connections" from the test itself.
 */
async function many(n: number, user: string, database: string): Promise<Connection[]> {
  const s = serverState();
  const watcher = await mariadb.createConnection({ socketPath: s.socket, user: s.adminUser, ...driverOpts });
  try {
    await until(
      `room for ${n} sessions`,
      async () => {
        const [row] = await watcher.query(
          "SELECT @@max_connections - (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED') AS free",
        );
        return Number(row.free) > n + 2;
      },
      30_000,
    );
  } finally {
    await watcher.end();
  }
  return Promise.all(Array.from({ length: n }, () => login(user, database)));
}

async function closeAll(conns: Connection[]): Promise<void> {
  await Promise.all(conns.map((c) => c.end().catch(() => undefined)));
  for (const c of conns) {
    const i = open.indexOf(c);
    if (i >= 0) open.splice(i, 1);
  }
}

/** Polls until `check` holds; bounded, fails with `what` when it never does. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Sessions of `db` waiting for a row lock or a metadata lock. */
async function waiters(adm: Connection, db: string): Promise<number> {
  const [row] = await adm.query(
    `SELECT (SELECT COUNT(*) FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
              WHERE t.trx_state = 'LOCK WAIT' AND p.DB = ?)
          + (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ? AND STATE = 'Waiting for table metadata lock') AS n`,
    [db, db],
  );
  return Number(row.n);
}

/** Runs a seed fixture as the seed service's migrator through `dbps connect` (the mariadb client reads DELIMITER). */
async function applySeed(name: string): Promise<void> {
  const r = await cli(['connect', 'seed', '--user', 'seed_migrator', '-e', `source ${path.join(SEED_DIR, name)}`]);
  if (r.code !== 0) throw new Error(`seed ${name}: ${r.stderr}`);
}

async function applyAll(): Promise<void> {
  for (const p of PATTERNS) {
    const r = await cli(['scaffold', p, 'shop', '--apply']);
    if (r.code !== 0) throw new Error(`scaffold ${p}: ${r.stderr}`);
  }
}

/** What the patterns define in a database, without timestamps: equal before and after a re-run. */
async function definitions(adm: Connection, db: string) {
  const q = (sql: string) => adm.query(sql, [db]) as Promise<unknown[]>;
  return {
    tables: await q(
      'SELECT TABLE_NAME, ENGINE, TABLE_COLLATION, CREATE_OPTIONS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1',
    ),
    columns: await q(
      'SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY 1, 3',
    ),
    indexes: await q(
      'SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY 1, 2, 3',
    ),
    checks: await q(
      'SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? ORDER BY 1, 2',
    ),
    routines: await q(
      'SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION, SECURITY_TYPE, DEFINER, SQL_DATA_ACCESS, ROUTINE_COMMENT, SQL_MODE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1',
    ),
    parameters: await q(
      'SELECT SPECIFIC_NAME, ORDINAL_POSITION, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = ? ORDER BY 1, 2',
    ),
    triggers: await q(
      'SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_STATEMENT, DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1',
    ),
    events: await q(
      'SELECT EVENT_NAME, EVENT_DEFINITION, INTERVAL_VALUE, INTERVAL_FIELD, STATUS, ON_COMPLETION, DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY 1',
    ),
  };
}

/** A small deterministic PRNG (mulberry32): shuffles that are random but the same on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rnd: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Runs every job on one of `conns`, all connections busy at once. */
async function fanOut<T>(conns: Connection[], jobs: ((c: Connection) => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    conns.map(async (c) => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!(c);
      }
    }),
  );
  return results;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; errno: number; message: string };
async function attempt<T>(f: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    const err = e as { errno?: number; message?: string };
    return { ok: false, errno: err.errno ?? -1, message: err.message ?? String(e) };
  }
}

beforeAll(async () => {
  fleet = await createFleet(`version: 1
fleet: scf
defaults: { basePort: ${randomBasePort()} }
servers:
  ${SERVER}: { driver: local, profile: oltp, memory: 512M }
services:
  shop: { server: ${SERVER}, outbox: true }
  seed: { server: ${SERVER} }
`);
  const up = await cli(['up']);
  if (up.code !== 0) throw new Error(`dbps up: ${up.stderr}`);
  const prov = await cli(['provision']);
  if (prov.code !== 0) throw new Error(`dbps provision: ${prov.stderr}`);
  await applyAll();
  for (const f of ['outbox.sql', 'reservation.sql', 'projection.sql', 'change-capture.sql', 'read-model.sql'])
    await applySeed(f);
  // The seed's cleanup event runs only when a test schedules it.
  const mig = await login('seed_migrator', 'seed');
  await mig.query('ALTER EVENT release_expired DISABLE');
}, 240_000);

// Every session a test opened is closed after it, so none holds a server slot into the next test.
afterEach(async () => {
  await closeAll([...open]);
});

afterAll(async () => {
  await closeAll([...open]);
  await destroyAllFleets();
}, 120_000);

describe('dbps scaffold --apply: re-runnable migrations as the migrator', () => {
  it('writes numbered files; a second apply of every pattern changes nothing in information_schema', async () => {
    const files = readdirSync(path.join(fleet.dir, 'migrations', 'shop')).sort();
    expect(files[0]).toBe('0001_outbox-table.sql');
    expect(files.every((f) => /^\d{4}_[a-z-]+\.sql$/.test(f))).toBe(true);
    const adm = await admin();
    const before = await definitions(adm, 'shop');
    expect(before.routines.length).toBeGreaterThanOrEqual(9);
    expect(before.triggers).toHaveLength(1);
    expect(before.events).toHaveLength(1);
    await applyAll();
    expect(await definitions(adm, 'shop')).toStrictEqual(before);
  });

  it('keeps definer-rights objects inside the service: triggers and events belong to shop_migrator, procedures run as invoker', async () => {
    const adm = await admin();
    const d = await definitions(adm, 'shop');
    for (const t of d.triggers as { DEFINER: string }[]) expect(t.DEFINER).toBe('shop_migrator@%');
    for (const e of d.events as { DEFINER: string; STATUS: string }[]) {
      expect(e.DEFINER).toBe('shop_migrator@%');
      expect(e.STATUS).toBe('ENABLED');
    }
    for (const r of d.routines as { SECURITY_TYPE: string }[]) expect(r.SECURITY_TYPE).toBe('INVOKER');
  });

  it('leaves dbps audit-grants clean after every pattern is applied', async () => {
    const r = await cli(['audit-grants']);
    expect(r.stdout + r.stderr).not.toMatch(/violation/i);
    expect(r.code).toBe(0);
  });

  it('grants nothing new: the outbox relay still reads only the outbox', async () => {
    const relay = await login('shop_outbox', 'shop');
    await expect(relay.query('SELECT COUNT(*) FROM shop_events_outbox')).resolves.toBeDefined();
    await expect(relay.query('SELECT COUNT(*) FROM orders')).rejects.toMatchObject({ errno: 1142 });
    await expect(relay.query('CALL create_order(?, 1, 1, @o)', ['relay'])).rejects.toMatchObject({ errno: 1370 });
  });
});

describe('outbox', () => {
  const createOrder = (proc: string) => async (c: Connection, key: string) => {
    await c.query(`CALL ${proc}(?, 7, 19.99, @order_id)`, [key]);
    const [row] = await c.query('SELECT @order_id AS id');
    return Number(row.id);
  };

  it('50 concurrent create_order calls with 10 keys create exactly 10 orders, each call returning its key', async () => {
    const conns = await many(50, 'shop_app', 'shop');
    const keys = Array.from({ length: 50 }, (_, i) => `k50-${i % 10}`);
    const ids = await Promise.all(conns.map((c, i) => createOrder('create_order')(c, keys[i]!)));
    const app = conns[0]!;
    const orders = (await app.query(
      "SELECT idempotency_key AS k, order_id AS id FROM orders WHERE idempotency_key LIKE 'k50-%'",
    )) as { k: string; id: number }[];
    expect(orders).toHaveLength(10);
    const byKey = new Map(orders.map((o) => [o.k, o.id]));
    expect(ids).toStrictEqual(keys.map((k) => byKey.get(k)));
    const [events] = await app.query(
      `SELECT COUNT(*) AS n FROM ${OUTBOX} WHERE event_type = 'OrderCreated' AND JSON_VALUE(payload, '$.idempotency_key') LIKE 'k50-%'`,
    );
    expect(Number(events.n)).toBe(10);
    await closeAll(conns);
  });

  // The race made certain: the first call of each key holds its order row while it waits for the outbox
  // (locked by the test); the other calls of that key are then all past the seed's check.
  async function gatedRun(db: string, proc: string, outbox: string, prefix: string) {
    const [adm, gate] = [await admin(), await admin()];
    const conns = await many(20, `${db}_app`, db);
    await gate.query(`LOCK TABLES ${db}.${outbox} WRITE`);
    const keys = conns.map((_, i) => `${prefix}-${i % 4}`);
    // A client rolls back after an error: the seed's failed calls would otherwise keep their
    // transaction open, and its gap locks would hold up another key's first insert for 50 s.
    const runs = conns.map((c, i) =>
      attempt(() =>
        createOrder(proc)(c, keys[i]!).catch(async (e: unknown) => {
          await c.query('ROLLBACK');
          throw e;
        }),
      ),
    );
    await until(
      'every call to wait on the outbox lock or on the first order',
      async () => (await waiters(adm, db)) >= 20,
    );
    await gate.query('UNLOCK TABLES');
    const outcomes = await Promise.all(runs);
    const orders = (await adm.query(
      `SELECT idempotency_key AS k, order_id AS id FROM ${db}.orders WHERE idempotency_key LIKE ?`,
      [`${prefix}-%`],
    )) as { k: string; id: number }[];
    await closeAll(conns);
    return { outcomes, keys, byKey: new Map(orders.map((o) => [o.k, o.id])) };
  }

  it('seed bug: the key checked outside the transaction ends concurrent calls in a duplicate-key error', async () => {
    const { outcomes } = await gatedRun('seed', 'create_order', 'outbox', 'gs');
    const dup = outcomes.filter((o) => !o.ok && o.errno === 1062);
    expect(dup.length).toBeGreaterThan(0);
  });

  it('scaffolded: the same race returns the first order to every call of a key', async () => {
    const { outcomes, keys, byKey } = await gatedRun('shop', 'create_order', OUTBOX, 'gf');
    expect(byKey.size).toBe(4);
    expect(outcomes).toStrictEqual(keys.map((k) => ({ ok: true, value: byKey.get(k) })));
  });
});

describe('reservation (saga step)', () => {
  const reserve = (proc: string, c: Connection, order: number, product: number, qty: number, hold = 600) =>
    c.query(`CALL ${proc}(?, ?, ?, ?, @status)`, [order, product, qty, hold]).then(async () => {
      const [row] = await c.query('SELECT @status AS s');
      return String(row.s);
    });

  async function reserve50(db: string, proc: string, product: number, orderBase: number) {
    const adm = await admin();
    await adm.query(`INSERT INTO ${db}.stock (product_id, available_quantity) VALUES (?, 20)`, [product]);
    const conns = await many(50, `${db}_app`, db);
    // The seed's failed UPDATE leaves its transaction open, holding the row: others would wait 50 s.
    await Promise.all(conns.map((c) => c.query('SET SESSION innodb_lock_wait_timeout = 3')));
    const outcomes = await Promise.all(conns.map((c, i) => attempt(() => reserve(proc, c, orderBase + i, product, 1))));
    const [stock] = await adm.query(`SELECT available_quantity AS a FROM ${db}.stock WHERE product_id = ?`, [product]);
    const [held] = await adm.query(
      `SELECT COUNT(*) AS n FROM ${db}.reservations WHERE product_id = ? AND status = 'held'`,
      [product],
    );
    await closeAll(conns);
    return { outcomes, available: Number(stock.a), held: Number(held.n) };
  }

  it('50 concurrent reservations of 20 units: 20 held, 30 refused, nothing else', async () => {
    const r = await reserve50('shop', 'reserve_stock', 1, 1000);
    const statuses = r.outcomes.map((o) => (o.ok ? o.value : `error ${o.errno}`));
    expect(statuses.filter((s) => s === 'held')).toHaveLength(20);
    expect(statuses.filter((s) => s === 'refused')).toHaveLength(30);
    expect(r).toMatchObject({ available: 0, held: 20 });
  });

  it('seed bug: FOR UPDATE before START TRANSACTION locks nothing, so concurrent reservations are neither held nor refused', async () => {
    let broken = false;
    for (let round = 0; round < 5 && !broken; round++) {
      const r = await reserve50('seed', 'reserve', 100 + round, 10_000 + round * 100);
      const good = r.outcomes.every((o) => o.ok && (o.value === 'held' || o.value === 'refused'));
      broken = !good || r.held > 20;
    }
    expect(broken).toBe(true);
  });

  it('seed bug: the CHECK on an UNSIGNED column never fires (out of range first); the scaffolded CHECK does', async () => {
    const adm = await admin();
    await adm.query('INSERT INTO seed.stock (product_id, available_quantity) VALUES (900, 3)');
    await adm.query('INSERT INTO shop.stock (product_id, available_quantity) VALUES (900, 3)');
    const seedApp = await login('seed_app', 'seed');
    const shopApp = await login('shop_app', 'shop');
    const take = 'UPDATE stock SET available_quantity = available_quantity - 5 WHERE product_id = 900';
    await expect(seedApp.query(take)).rejects.toMatchObject({ errno: 1690 }); // ER_DATA_OUT_OF_RANGE
    await expect(shopApp.query(take)).rejects.toMatchObject({ errno: 4025 }); // ER_CONSTRAINT_FAILED
  });

  async function releaseRace(db: string, proc: string, product: number, order: number) {
    const adm = await admin();
    await adm.query(`INSERT INTO ${db}.stock (product_id, available_quantity) VALUES (?, 10)`, [product]);
    const conns = await many(20, `${db}_app`, db);
    const reserveProc = db === 'shop' ? 'reserve_stock' : 'reserve';
    expect(await reserve(reserveProc, conns[0]!, order, product, 4)).toBe('held');
    const call = async (c: Connection) => {
      if (db === 'seed') {
        await c.query(`CALL ${proc}(?)`, [order]);
        return null;
      }
      await c.query(`CALL ${proc}(?, @released)`, [order]);
      const [row] = await c.query('SELECT @released AS r');
      return Number(row.r);
    };
    const concurrent = await Promise.all(conns.map((c) => call(c)));
    const repeated = [await call(conns[0]!), await call(conns[1]!)];
    const [stock] = await adm.query(`SELECT available_quantity AS a FROM ${db}.stock WHERE product_id = ?`, [product]);
    await closeAll(conns);
    return { concurrent, repeated, available: Number(stock.a) };
  }

  it('concurrent and repeated release of one order restores the stock once', async () => {
    const r = await releaseRace('shop', 'release_stock', 2, 2000);
    expect(r.available).toBe(10);
    expect(r.concurrent.filter((x) => x === 1)).toHaveLength(1);
    expect(r.repeated).toStrictEqual([0, 0]);
  });

  it('seed bug: two concurrent release calls of one order both restore the stock', async () => {
    let restoredTwice = false;
    for (let round = 0; round < 5 && !restoredTwice; round++) {
      const r = await releaseRace('seed', '`release`', 200 + round, 20_000 + round);
      restoredTwice = r.available > 10;
    }
    expect(restoredTwice).toBe(true);
  });

  it('expired reservations are released by the event, each with exactly one ReservationExpired', async () => {
    const adm = await admin();
    await adm.query('INSERT INTO shop.stock (product_id, available_quantity) VALUES (3, 30)');
    const conns = await many(20, 'shop_app', 'shop');
    const orders = Array.from({ length: 20 }, (_, i) => 3000 + i);
    const held = await Promise.all(conns.map((c, i) => reserve('reserve_stock', c, orders[i]!, 3, 1, 1)));
    expect(held.every((s) => s === 'held')).toBe(true);
    // Customers cancel half of them while the event may be expiring the same rows.
    await new Promise((r) => setTimeout(r, 1000));
    await Promise.all(conns.slice(0, 10).map((c, i) => c.query('CALL release_stock(?, @r)', [orders[i]])));
    await until('every hold to be released or expired', async () => {
      const [row] = await adm.query(
        "SELECT COUNT(*) AS n FROM shop.reservations WHERE product_id = 3 AND status = 'held'",
      );
      return Number(row.n) === 0;
    });
    const rows = (await adm.query(
      `SELECT r.order_id AS o, r.status AS s,
              (SELECT COUNT(*) FROM shop.${OUTBOX} e WHERE e.event_type = 'ReservationExpired' AND e.aggregate_id = r.order_id) AS events
         FROM shop.reservations r WHERE r.product_id = 3`,
    )) as { o: number; s: string; events: number }[];
    expect(rows).toHaveLength(20);
    for (const row of rows) expect(Number(row.events)).toBe(row.s === 'expired' ? 1 : 0);
    expect(rows.filter((r) => r.s === 'expired').length).toBeGreaterThanOrEqual(10);
    const [stock] = await adm.query('SELECT available_quantity AS a FROM shop.stock WHERE product_id = 3');
    expect(Number(stock.a)).toBe(30);
    await closeAll(conns);
  });

  // Deterministic: the event's release of order A waits on A's stock row (locked by the test) while
  // the customer releases order B; the event then reaches B, whose release now does nothing.
  it('seed bug: the cleanup event writes ReservationExpired for a reservation the customer already released', async () => {
    const adm = await admin();
    await adm.query('INSERT INTO seed.stock (product_id, available_quantity) VALUES (310, 5), (311, 5)');
    const app = await login('seed_app', 'seed');
    expect(await reserve('reserve', app, 31_001, 310, 1, 0)).toBe('held');
    expect(await reserve('reserve', app, 31_002, 311, 1, 0)).toBe('held');
    await adm.query('START TRANSACTION');
    await adm.query('SELECT * FROM seed.stock WHERE product_id = 310 FOR UPDATE');
    const mig = await login('seed_migrator', 'seed');
    await mig.query('ALTER EVENT release_expired ON SCHEDULE EVERY 1 SECOND ENABLE');
    await until('the event to wait on order A', async () => (await waiters(adm, 'seed')) >= 1);
    await app.query('CALL `release`(31002)');
    await adm.query('ROLLBACK');
    await until('the event to reach order B', async () => {
      const [row] = await adm.query(
        "SELECT COUNT(*) AS n FROM seed.outbox WHERE event_type = 'ReservationExpired' AND aggregate_id = '31002'",
      );
      return Number(row.n) > 0;
    });
    const [b] = await adm.query('SELECT status FROM seed.reservations WHERE order_id = 31002');
    expect(b.status).toBe('released'); // released by the customer, yet announced as expired
    await mig.query('ALTER EVENT release_expired DISABLE');
  });

  it('scaffolded: the same interleaving announces only the release the event made', async () => {
    const adm = await admin();
    await adm.query('INSERT INTO shop.stock (product_id, available_quantity) VALUES (320, 5), (321, 5)');
    const app = await login('shop_app', 'shop');
    // Holds of 2 s: the test locks A's stock row before they expire, so the event meets the lock at A.
    expect(await reserve('reserve_stock', app, 32_001, 320, 1, 2)).toBe('held');
    expect(await reserve('reserve_stock', app, 32_002, 321, 1, 2)).toBe('held');
    await adm.query('START TRANSACTION');
    await adm.query('SELECT * FROM shop.stock WHERE product_id = 320 FOR UPDATE');
    await until('the event to wait on order A', async () => (await waiters(adm, 'shop')) >= 1);
    await app.query('CALL release_stock(32002, @r)');
    const [released] = await app.query('SELECT @r AS r');
    expect(Number(released.r)).toBe(1);
    await adm.query('ROLLBACK');
    const ungated = new Date();
    await until('order A to expire', async () => {
      const [row] = await adm.query('SELECT status FROM shop.reservations WHERE order_id = 32001');
      return row.status === 'expired';
    });
    // A run of the event that started after the release has seen B as it is now.
    await until('a later run of the event', async () => {
      const [row] = await adm.query(
        "SELECT LAST_EXECUTED AS t FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'shop' AND EVENT_NAME = 'expire_reservations'",
      );
      return row.t !== null && new Date(row.t).getTime() > ungated.getTime() + 1000;
    });
    const events = (await adm.query(
      `SELECT aggregate_id AS o FROM shop.${OUTBOX} WHERE event_type = 'ReservationExpired' AND aggregate_id IN ('32001', '32002')`,
    )) as { o: string }[];
    expect(events).toStrictEqual([{ o: '32001' }]);
    const [stock] = await adm.query(
      'SELECT SUM(available_quantity) AS a FROM shop.stock WHERE product_id IN (320, 321)',
    );
    expect(Number(stock.a)).toBe(10);
  });
});

describe('projection (idempotent consumer)', () => {
  interface Ev {
    id: number;
    customer: number;
    type: 'CustomerCreated' | 'CustomerUpdated' | 'AddressChanged';
    payload: Record<string, string | null>;
  }

  /** 200 events over 10 customers; each customer's first event (by id) is its creation. */
  function events(base: number): Ev[] {
    const rnd = prng(17);
    const created = new Set<number>();
    return Array.from({ length: 200 }, (_, i): Ev => {
      const customer = base + Math.floor(rnd() * 10);
      const id = base * 1000 + i + 1;
      if (!created.has(customer)) {
        created.add(customer);
        return { id, customer, type: 'CustomerCreated', payload: { name: `n${i}`, email: `e${i}@x` } };
      }
      return rnd() < 0.5
        ? { id, customer, type: 'CustomerUpdated', payload: { name: `n${i}`, email: rnd() < 0.2 ? null : `e${i}@x` } }
        : { id, customer, type: 'AddressChanged', payload: { address: `street ${i}` } };
    });
  }

  const applyScaffolded = (c: Connection, e: Ev) =>
    c.query('CALL apply_customer_event(?, ?, ?)', [e.id, e.customer, JSON.stringify(e.payload)]);
  const applySeedVersion = (c: Connection, e: Ev) =>
    c.query('CALL handle_customer_event(?, ?, ?, ?)', [e.id, e.customer, e.type, JSON.stringify(e.payload)]);

  async function state(c: Connection, table: string, base: number) {
    return c.query(
      `SELECT customer_id, name, email, address, last_event_id FROM ${table} WHERE customer_id BETWEEN ? AND ? ORDER BY customer_id`,
      [base, base + 9],
    );
  }

  async function feedBoth(db: string, apply: (c: Connection, e: Ev) => Promise<unknown>, base: number) {
    const list = events(base);
    const conns = await many(10, `${db}_app`, db);
    const one = conns[0]!;
    const inOrder: Outcome<unknown>[] = [];
    for (const e of list) inOrder.push(await attempt(() => apply(one, e)));
    const expected = await state(one, 'customers_projection', base);
    await one.query('DELETE FROM customers_projection WHERE customer_id BETWEEN ? AND ?', [base, base + 9]);
    const rnd = prng(4242);
    const redelivered = shuffle(
      list.flatMap((e) => Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => e)),
      rnd,
    );
    const outcomes = await fanOut(
      conns,
      redelivered.map((e) => (c: Connection) => attempt(() => apply(c, e))),
    );
    const actual = await state(one, 'customers_projection', base);
    await closeAll(conns);
    return { inOrder, outcomes, expected, actual, deliveries: redelivered.length };
  }

  it('fed 200 events shuffled and redelivered by 10 concurrent consumers, ends equal to one fed them once in order', async () => {
    const r = await feedBoth('shop', applyScaffolded, 100);
    expect(r.deliveries).toBeGreaterThan(300);
    expect(r.inOrder.every((o) => o.ok)).toBe(true);
    expect(r.outcomes.every((o) => o.ok)).toBe(true);
    expect(r.expected).toHaveLength(10);
    expect(r.actual).toStrictEqual(r.expected);
  });

  it('seed bug: without an event-id check the delivery order decides the result', async () => {
    const r = await feedBoth('seed', applySeedVersion, 100);
    expect(r.inOrder.every((o) => o.ok)).toBe(true);
    expect(r.expected).toHaveLength(10);
    expect(r.actual).not.toStrictEqual(r.expected);
  });

  it('a first event carrying only an address is kept (seed: NULL into the NOT NULL name)', async () => {
    const seedApp = await login('seed_app', 'seed');
    const shopApp = await login('shop_app', 'shop');
    const addressFirst: Ev = {
      id: 9_000_002,
      customer: 900,
      type: 'AddressChanged',
      payload: { address: 'Main St 1' },
    };
    const creation: Ev = {
      id: 9_000_001,
      customer: 900,
      type: 'CustomerCreated',
      payload: { name: 'Ada', email: 'a@x' },
    };
    await expect(applySeedVersion(seedApp, addressFirst)).rejects.toMatchObject({ errno: 1048 }); // ER_BAD_NULL_ERROR
    await applyScaffolded(shopApp, addressFirst);
    await applyScaffolded(shopApp, creation); // older, but the first to set name and email
    await applyScaffolded(shopApp, addressFirst); // redelivered: no change
    expect(
      await shopApp.query(
        'SELECT name, email, address, last_event_id FROM customers_projection WHERE customer_id = 900',
      ),
    ).toStrictEqual([{ name: 'Ada', email: 'a@x', address: 'Main St 1', last_event_id: 9_000_002 }]);
  });
});

describe('change-capture', () => {
  async function changes(c: Connection, table: string, id: number): Promise<number> {
    const [row] = await c.query(
      `SELECT COUNT(*) AS n FROM ${table} WHERE aggregate_type = 'customer' AND aggregate_id = ?`,
      [String(id)],
    );
    return Number(row.n);
  }

  it('a NULL -> value change (and back) emits an event; an update that changes nothing emits none', async () => {
    const app = await login('shop_app', 'shop');
    const { insertId } = await app.query("INSERT INTO customers (name) VALUES ('Grace')");
    await app.query('UPDATE customers SET email = ? WHERE customer_id = ?', ['g@x', insertId]);
    expect(await changes(app, OUTBOX, insertId)).toBe(1);
    const [event] = await app.query(
      `SELECT JSON_VALUE(payload, '$.after.email') AS email, JSON_TYPE(JSON_EXTRACT(payload, '$.before.email')) AS was FROM ${OUTBOX} WHERE aggregate_type = 'customer' AND aggregate_id = ?`,
      [String(insertId)],
    );
    expect(event).toStrictEqual({ email: 'g@x', was: 'NULL' });
    await app.query('UPDATE customers SET email = NULL WHERE customer_id = ?', [insertId]);
    expect(await changes(app, OUTBOX, insertId)).toBe(2);
    await app.query("UPDATE customers SET name = 'Grace' WHERE customer_id = ?", [insertId]);
    expect(await changes(app, OUTBOX, insertId)).toBe(2);
  });

  it('seed bug: with != a NULL -> value change emits nothing', async () => {
    const app = await login('seed_app', 'seed');
    const { insertId } = await app.query("INSERT INTO customers (name) VALUES ('Grace')");
    await app.query('UPDATE customers SET email = ? WHERE customer_id = ?', ['g@x', insertId]);
    expect(await changes(app, 'outbox', insertId)).toBe(0);
  });
});

describe('read-model', () => {
  async function concurrentItems(db: string, orderBase: number) {
    const conns = await many(50, `${db}_app`, db);
    const rnd = prng(orderBase);
    const items = conns.map((_, i) => ({
      order: orderBase + (i % 5),
      qty: 1 + Math.floor(rnd() * 5),
      price: (1 + Math.floor(rnd() * 9999)) / 100,
    }));
    const outcomes = await Promise.all(
      conns.map((c, i) =>
        attempt(() =>
          c.query('CALL add_order_item(?, 1, ?, ?, @item)', [
            items[i]!.order,
            items[i]!.qty,
            items[i]!.price.toFixed(2),
          ]),
        ),
      ),
    );
    const app = conns[0]!;
    const range = [orderBase, orderBase + 4];
    const read = await app.query(
      'SELECT order_id, item_count, total_quantity, CAST(total_amount AS CHAR) AS total FROM orders_read WHERE order_id BETWEEN ? AND ? ORDER BY order_id',
      range,
    );
    const truth = await app.query(
      'SELECT order_id, COUNT(*) AS item_count, CAST(SUM(quantity) AS SIGNED) AS total_quantity, CAST(CAST(SUM(quantity * unit_price) AS DECIMAL(14,2)) AS CHAR) AS total FROM order_items WHERE order_id BETWEEN ? AND ? GROUP BY order_id ORDER BY order_id',
      range,
    );
    await closeAll(conns);
    return { outcomes, read, truth };
  }

  it("after 50 concurrent writes the read model's counts and totals equal a query over the write table", async () => {
    const r = await concurrentItems('shop', 500);
    expect(r.outcomes.every((o) => o.ok)).toBe(true);
    expect(r.truth).toHaveLength(5);
    expect(r.read).toStrictEqual(r.truth);
    // Removing an item takes it off the totals once, even when asked twice at the same time.
    const conns = await many(2, 'shop_app', 'shop');
    const [item] = await conns[0]!.query('SELECT item_id FROM order_items WHERE order_id = 500 LIMIT 1');
    await Promise.all(conns.map((c) => c.query('CALL remove_order_item(?, @removed)', [item.item_id])));
    const [read] = await conns[0]!.query(
      'SELECT item_count, CAST(total_amount AS CHAR) AS t FROM orders_read WHERE order_id = 500',
    );
    const [truth] = await conns[0]!.query(
      'SELECT COUNT(*) AS item_count, CAST(CAST(SUM(quantity * unit_price) AS DECIMAL(14,2)) AS CHAR) AS t FROM order_items WHERE order_id = 500',
    );
    expect(read).toStrictEqual(truth);
    await closeAll(conns);
  });

  it('seed bug: read-then-write in the procedure loses concurrent updates', async () => {
    let broken = false;
    for (let round = 0; round < 5 && !broken; round++) {
      const r = await concurrentItems('seed', 600 + round * 10);
      broken = r.outcomes.some((o) => !o.ok) || JSON.stringify(r.read) !== JSON.stringify(r.truth);
    }
    expect(broken).toBe(true);
  });
});

describe('--apply keeps the password off the command line', () => {
  it("passes the migrator's credentials to the mariadb client in a 0600 file that is gone afterwards", async () => {
    const log = path.join(fleet.dir, 'argv.log');
    const r = await fleet.run(['scaffold', 'outbox', 'shop', '--apply'], {
      DBPS_MEMORY_SCALE: '1',
      DBPS_ARGV_LOG: log,
      NODE_OPTIONS: `--import=${path.join(repoRoot, 'test', 'helpers', 'record-argv.mjs')}`,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const password = (await readSecrets(fleet.stateDir)).get(secretKey(SERVER, 'shop_migrator'))!;
    const argv = await readFile(log, 'utf8');
    expect(argv).toMatch(/--defaults-extra-file=/);
    expect(argv).not.toContain(password);
    expect(r.stdout + r.stderr).not.toContain(password);
    for (const m of argv.matchAll(/--defaults-extra-file=([^"]+)/g)) expect(existsSync(m[1]!)).toBe(false);
  });
});

describe('the files are plain .sql for the mariadb client', () => {
  it('applies the scaffolded files with `mariadb < file` as the migrator, exactly like --apply', async () => {
    const dir = path.join(fleet.dir, 'migrations', 'shop');
    const file = path.join(dir, '0003_outbox-create-order.sql');
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^DELIMITER \$\$$/m);
    expect(text).toMatch(/^DELIMITER ;$/m);
    const r = await cli(['connect', 'shop', '--user', 'shop_migrator', '-e', `source ${file}`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
