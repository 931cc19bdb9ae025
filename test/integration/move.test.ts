// `dbps move`: a service moved from a shared server to its own instance (and back) while a client writes
// to it every 10 ms loses no committed write, pauses writes briefly, and leaves the old copy read-only
// until --finish; a renamed service keeps its data under its new name.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSecrets, secretKey } from '../../src/runtime/secrets.js';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

let fleet: LocalFleet;
let round = 0;
const port: Record<string, number> = {};

function yaml(inventory: string, search: string): string {
  return `version: 1\nfleet: mv\nservers:\n  shared: { memory: 128M, port: ${port.shared} }\nservices:\n  orders: { server: shared }\n  inventory: ${inventory}\n  ${search}: { memory: 128M, port: ${port[search]} }\n`;
}

async function edit(text: string): Promise<void> {
  await writeFile(path.join(fleet.dir, 'services.yaml'), text);
}

function password(server: string, user: string): string {
  const secrets = parseSecrets(readFileSync(path.join(fleet.stateDir, 'secrets.env'), 'utf8'));
  const pw = secrets.get(secretKey(server, user));
  if (pw === undefined) throw new Error(`no secret for ${user} on ${server}`);
  return pw;
}

async function login(server: string, user: string, db: string, pw = password(server, user)): Promise<Connection> {
  const { createConnection } = await import('mariadb');
  const c = await createConnection({
    host: '127.0.0.1',
    port: port[server]!,
    user,
    password: pw,
    database: db,
    connectTimeout: 2000,
  });
  // The cut-over kills the connection while it is idle: that is expected, not an unhandled error.
  c.on('error', () => undefined);
  return c;
}

/** Admin SQL over a server's socket (the tests' own view of the data, not the service's). */
async function admin(server: string, sql: string): Promise<Record<string, unknown>[]> {
  const { createConnection } = await import('mariadb');
  const socket = (fleet.state().servers[server] as { socket: string }).socket;
  const c = await createConnection({ socketPath: socket, user: 'root' });
  try {
    return (await c.query(sql)) as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

interface WriterReport {
  acknowledged: number[];
  /** Longest gap between two acknowledged writes, as the client saw it (ms). */
  longestGapMs: number;
}

/**
 * A client of the service: inserts one row every 10 ms into the source; when a write fails (the cut-over
 * ended its connection) it reconnects to the target as soon as the account there takes writes. Bounded:
 * stops when told, or after 90 s.
 */
function startWriter(
  from: string,
  to: string,
  user: string,
  firstId: number,
  toUser = user,
): { stop(): Promise<WriterReport> } {
  let stopping = false;
  const acknowledged: number[] = [];
  let longestGapMs = 0;
  let lastOk = Date.now();
  const done = (async () => {
    const began = Date.now();
    let conn: Connection | undefined = await login(from, user, 'inventory');
    let id = firstId;
    while (!stopping && Date.now() - began < 90_000) {
      try {
        if (!conn) throw new Error('not connected');
        const next = ++id;
        await conn.query('INSERT INTO items (id, n) VALUES (?, ?)', [next, next]);
        acknowledged.push(next);
        longestGapMs = Math.max(longestGapMs, Date.now() - lastOk);
        lastOk = Date.now();
      } catch {
        conn?.destroy();
        conn = undefined;
        // The target first (its account exists once the move has switched), else the source again.
        for (const [server, account] of [
          [to, toUser],
          [from, user],
        ] as const) {
          try {
            conn = await login(server, account, 'inventory');
            break;
          } catch {
            conn = undefined;
          }
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    conn?.destroy();
  })();
  return {
    async stop() {
      stopping = true;
      await done;
      return { acknowledged, longestGapMs };
    },
  };
}

beforeAll(async () => {
  for (const n of ['shared', 'inventory', 'search', 'finder']) port[n] = await freePort();
  fleet = await createFleet(yaml('{ server: shared }', 'search'));
  const up = await fleet.run(['up']);
  if (up.code !== 0) throw new Error(up.stderr);
  const prov = await fleet.run(['provision']);
  if (prov.code !== 0) throw new Error(prov.stderr);
  await admin('shared', 'CREATE TABLE inventory.items (id INT PRIMARY KEY, n INT)');
  await admin('shared', 'INSERT INTO inventory.items VALUES (-1, 1), (-2, 2)');
  await admin('search', 'CREATE TABLE search.docs (id INT PRIMARY KEY, body TEXT)');
  await admin('search', "INSERT INTO search.docs VALUES (1, 'kept'), (2, 'also kept')");
});

afterAll(async () => {
  await destroyAllFleets();
});

/** Moves inventory from one server to another under a writing client and checks everything the issue asks. */
async function moveUnderLoad(from: string, to: string): Promise<void> {
  const plan = await fleet.run(['plan']);
  expect(plan.stdout).toMatch(
    new RegExp(
      `moved: inventory's data is on ${from} \\(database inventory\\), services\\.yaml puts it on ${to}: run \`dbps move inventory\``,
    ),
  );
  // Its accounts on the old server are its way in until the move: kept, even by --prune.
  if (from === 'shared')
    expect(plan.stdout).toMatch(
      /orphan 'inventory_app'@'%': not in services\.yaml; kept: inventory's account until it is moved \(`dbps move inventory`\)/,
    );
  // No empty database is planned for it on the new server.
  expect(plan.stdout).not.toMatch(/create-database database inventory/);
  expect(plan.code).toBe(1);

  const before = Number((await admin(from, 'SELECT COUNT(*) AS n FROM inventory.items'))[0]!.n);
  const writer = startWriter(from, to, 'inventory_app', ++round * 1_000_000);
  await new Promise((r) => setTimeout(r, 500));
  const moved = await fleet.run(['--json', 'move', 'inventory', '--to', to === 'shared' ? 'shared' : 'own']);
  await new Promise((r) => setTimeout(r, 500));
  const report = await writer.stop();
  expect(moved.code, moved.stderr).toBe(0);
  const result = JSON.parse(moved.stdout) as { writePauseMs: number; from: { server: string }; to: { server: string } };
  console.log(
    `move ${from} -> ${to}: write pause ${result.writePauseMs} ms (dbps), longest gap seen by the client ${report.longestGapMs} ms, ${report.acknowledged.length} writes acknowledged`,
  );
  expect(result.from.server).toBe(from);
  expect(result.to.server).toBe(to);
  expect(result.writePauseMs).toBeGreaterThan(0);
  expect(result.writePauseMs).toBeLessThan(2000);
  expect(report.acknowledged.length).toBeGreaterThan(50);

  // Every write the client got an OK for is on the new server.
  const rows = await admin(to, 'SELECT id FROM inventory.items');
  const onTarget = new Set(rows.map((r) => Number(r.id)));
  const lost = report.acknowledged.filter((id) => !onTarget.has(id));
  expect(lost).toEqual([]);
  expect(onTarget.size).toBeGreaterThanOrEqual(before + report.acknowledged.length);
  // Writes went to the new server after the switch.
  expect(Math.max(...onTarget)).toBe(Math.max(...report.acknowledged));

  // The old copy: the app account still reads it, and may not write to it.
  const old = await login(from, 'inventory_app', 'inventory');
  try {
    const [count] = (await old.query('SELECT COUNT(*) AS n FROM items')) as { n: bigint }[];
    expect(Number(count!.n)).toBeGreaterThanOrEqual(before);
    await expect(old.query('INSERT INTO items VALUES (999999, 0)')).rejects.toMatchObject({ errno: 1142 });
  } finally {
    await old.end();
  }
  const audit = await fleet.run(['audit-grants']);
  expect(audit.code, audit.stdout + audit.stderr).toBe(0);
  const after = await fleet.run(['plan']);
  expect(after.stdout).toMatch(new RegExp(`its old copy on ${from} \\(database inventory\\) is read-only until`));
  expect(after.code, after.stdout).toBe(0);

  const refused = await fleet.run(['move', 'inventory', '--finish']);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/--finish drops database inventory on .* add --yes/);
  const finished = await fleet.run(['move', 'inventory', '--finish', '--yes']);
  expect(finished.code, finished.stderr).toBe(0);
  expect(await admin(from, "SHOW DATABASES LIKE 'inventory'")).toEqual([]);
}

describe('dbps move', () => {
  it('moves a service from a shared server to its own instance under writes, then finishes', async () => {
    await edit(yaml('{ memory: 128M, port: PORT }'.replace('PORT', String(port.inventory)), 'search'));
    const up = await fleet.run(['up', 'inventory']);
    expect(up.code, up.stderr).toBe(0);
    await moveUnderLoad('shared', 'inventory');
  });

  it('moves it back from its own instance to the shared server', async () => {
    await edit(yaml('{ server: shared }', 'search'));
    await moveUnderLoad('inventory', 'shared');
  });

  it('refuses --to that services.yaml does not say, and a name that is not a service (exit 2)', async () => {
    const wrong = await fleet.run(['move', 'inventory', '--to', 'own']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/services\.yaml puts "inventory" on server "shared", not its own instance/);
    const unknown = await fleet.run(['move', 'nosuch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/"nosuch" is not a service/);
  });

  it('a renamed service keeps its data: plan offers the move, and the move renames the database', async () => {
    await edit(yaml('{ server: shared }', 'finder'));
    const up = await fleet.run(['up', 'finder']);
    expect(up.code, up.stderr).toBe(0);
    const plan = await fleet.run(['plan']);
    expect(plan.stdout).toMatch(
      /renamed: search on search looks renamed to finder: `dbps move search --to finder` keeps its data/,
    );
    const moved = await fleet.run(['move', 'search', '--to', 'finder']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/finder: moved from search \(database search\) to finder \(database finder\)/);
    const read = await fleet.run(['connect', 'finder', '-e', 'SELECT body FROM docs ORDER BY id']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toContain('also kept');
    // The password followed the account to its new name.
    expect(password('finder', 'finder_app')).toBe(password('search', 'search_app'));
    const finished = await fleet.run(['move', 'finder', '--finish', '--yes']);
    expect(finished.code, finished.stderr).toBe(0);
    expect(finished.stdout).toMatch(/dbps down search --destroy --yes/);
  });

  it('a move that fails at the cut-over leaves the source writable and intact, and a second run succeeds', async () => {
    const users = '[ { name: cart_app, role: app, passwordEnv: CART_PW } ]';
    const base = yaml('{ server: shared }', 'finder');
    await edit(`${base}  cart: { server: shared, users: ${users} }\n`);
    const prov = await fleet.run(['provision', 'cart'], { CART_PW: 'first-secret' });
    expect(prov.code, prov.stderr).toBe(0);
    await admin('shared', 'CREATE TABLE cart.items (id INT PRIMARY KEY)');
    await admin('shared', 'INSERT INTO cart.items VALUES (1), (2)');
    port.cart = await freePort();
    await edit(`${base}  cart: { memory: 128M, port: ${port.cart}, users: ${users} }\n`);
    expect((await fleet.run(['up', 'cart'])).code).toBe(0);

    // The new server's account needs CART_PW, which is missing: the cut-over cannot finish.
    const failed = await fleet.run(['move', 'cart'], { CART_PW: '' });
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(/move of cart failed: .*CART_PW/);
    expect(failed.stderr).toMatch(
      /the source \(shared, database cart\) is writable and intact; .*run `dbps move cart` again/,
    );
    const writer = await login('shared', 'cart_app', 'cart', 'first-secret');
    try {
      await writer.query('INSERT INTO items VALUES (3)');
    } finally {
      await writer.end();
    }
    expect(await admin('cart', "SHOW DATABASES LIKE 'cart'")).toEqual([]);
    expect((fleet.state() as { moves?: Record<string, unknown> }).moves?.cart).toBeUndefined();
    expect(await admin('shared', "SELECT User FROM mysql.user WHERE User = 'dbps_move'")).toEqual([]);

    const retried = await fleet.run(['move', 'cart'], { CART_PW: 'first-secret' });
    expect(retried.code, retried.stderr).toBe(0);
    const rows = await admin('cart', 'SELECT id FROM cart.items ORDER BY id');
    expect(rows.map((r) => Number(r.id))).toEqual([1, 2, 3]);
  });

  it('a move killed after the switch is finished by the next run; one killed while catching up starts over', async () => {
    const users = '[ { name: cart_app, role: app, passwordEnv: CART_PW } ]';
    const base = yaml('{ server: shared }', 'finder');
    const env = { CART_PW: 'first-secret' };
    expect((await fleet.run(['move', 'cart', '--finish', '--yes'])).code).toBe(0);
    await edit(`${base}  cart: { server: shared, users: ${users} }\n`);
    const killed = await fleet.run(['move', 'cart'], { ...env, DBPS_TEST_KILL_AT: 'move:switched' });
    expect(killed.code).not.toBe(0);
    expect((fleet.state() as { moves?: Record<string, { phase: string }> }).moves?.cart?.phase).toBe('copying');
    const resumed = await fleet.run(['move', 'cart'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/finished an interrupted move of cart/);
    expect((await admin('shared', 'SELECT id FROM cart.items ORDER BY id')).map((r) => Number(r.id))).toEqual([
      1, 2, 3,
    ]);
    const old = await login('cart', 'cart_app', 'cart', 'first-secret');
    try {
      await expect(old.query('INSERT INTO items VALUES (4)')).rejects.toMatchObject({ errno: 1142 });
    } finally {
      await old.end();
    }
    expect((await fleet.run(['move', 'cart', '--finish', '--yes'])).code).toBe(0);

    await edit(`${base}  cart: { memory: 128M, port: ${port.cart}, users: ${users} }\n`);
    const stopped = await fleet.run(['move', 'cart'], { ...env, DBPS_TEST_KILL_AT: 'move:catch-up' });
    expect(stopped.code).not.toBe(0);
    const again = await fleet.run(['move', 'cart'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/undoing what an earlier, unfinished move left/);
    expect((await admin('cart', 'SELECT id FROM cart.items ORDER BY id')).map((r) => Number(r.id))).toEqual([1, 2, 3]);
    expect(await admin('shared', "SELECT User FROM mysql.user WHERE User = 'dbps_move'")).toEqual([]);
  });
});
