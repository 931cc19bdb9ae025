// plan/provision against real servers (driver: external, started by the test helper): isolation by
// behaviour, drift repair, idempotence proven by status counters, concurrency, errors, redaction.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mariadb, { type Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSecrets, secretKey } from '../../src/runtime/secrets.js';
import { type CliRun, dbps } from '../helpers/dbps-cli.js';
import { freePort, startTestServer, stopAllTestServers, type TestServer } from '../helpers/mariadb-server.js';

const RECORD_ARGV = path.resolve(import.meta.dirname, '../helpers/record-argv.mjs');
const ORDERS_APP_PWD = 'Env-Pw-0rders-app-1st!';
const IT_ADMIN_PWD = 'It-Admin-Pw-3xternal!';
let usedLocal = false;

let shared: TestServer;
let solo: TestServer;
let dir: string;
let argvLog: string;
const runs: CliRun[] = [];

function fleetYaml(extra = ''): string {
  return `version: 1
fleet: it
servers:
  shared: { driver: external, host: 127.0.0.1, port: ${shared.port}, admin: { user: root } }
  solo: { driver: external, host: 127.0.0.1, port: ${solo.port}, admin: { user: root } }
${extra}services:
  a_b: { server: shared }
  axb: { server: shared, database: aXb }
  inventory: { server: shared }
  analytics: { server: shared, reads: [ { service: inventory, tables: [stock_levels] } ] }
  orders:
    server: solo
    outbox: true
    users: [ { name: orders_app, role: app, passwordEnv: ORDERS_APP_PWD }, { name: orders_migrator, role: migrator } ]
`;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const r = await dbps(args, {
    cwd: dir,
    env: { ORDERS_APP_PWD, DBPS_ARGV_LOG: argvLog, ...env },
    nodeArgs: ['--import', RECORD_ARGV],
  });
  runs.push(r);
  return r;
}

async function passwordOf(server: string, user: string): Promise<string> {
  if (user === 'orders_app') return ORDERS_APP_PWD;
  const pw = (await readSecrets(path.join(dir, '.dbps'))).get(secretKey(server, user));
  if (!pw) throw new Error(`no stored password for ${server}/${user}`);
  return pw;
}

async function login(server: TestServer, serverName: string, user: string, password?: string): Promise<Connection> {
  return mariadb.createConnection({
    host: '127.0.0.1',
    port: server.port,
    user,
    password: password ?? (await passwordOf(serverName, user)),
    connectTimeout: 3000,
  });
}

async function denied(c: Connection, sql: string): Promise<void> {
  await expect(c.query(sql)).rejects.toThrow(/denied/i);
}

const DDL_COUNTERS = [
  'Com_create_db',
  'Com_alter_db',
  'Com_drop_db',
  'Com_create_user',
  'Com_alter_user',
  'Com_drop_user',
  'Com_grant',
  'Com_grant_role',
  'Com_revoke',
  'Com_revoke_all',
  'Com_revoke_role',
  'Com_create_table',
  'Com_alter_table',
];

async function ddlCounters(s: TestServer): Promise<Record<string, string>> {
  const rows = await s.query<{ Variable_name: string; Value: string }>(
    `SHOW GLOBAL STATUS WHERE Variable_name IN (${DDL_COUNTERS.map(() => '?').join(', ')})`,
    DDL_COUNTERS,
  );
  return Object.fromEntries(rows.map((r) => [r.Variable_name, String(r.Value)]));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-prov-'));
  // As root, `dbps up` runs servers as mysql, which must pass through this directory.
  await chmod(dir, 0o711);
  argvLog = path.join(dir, 'argv.log');
  [shared, solo] = await Promise.all([
    startTestServer({ name: 'shared', args: ['--general-log=1', `--general-log-file=general.log`] }),
    startTestServer({ name: 'solo' }),
  ]);
  await writeFile(path.join(dir, 'services.yaml'), fleetYaml());
});

afterAll(async () => {
  // The local server the leak test starts with `dbps up`, if it failed before its `dbps down`.
  if (usedLocal) await cli(['down'], { IT_ADMIN_PWD });
  await stopAllTestServers();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('dbps plan / provision on external servers', () => {
  it('plans everything on an empty fleet (exit 1), provisions it (exit 0), then is in sync', async () => {
    const plan = await cli(['plan', '--json']);
    expect(plan.code).toBe(1);
    const doc = JSON.parse(plan.stdout);
    expect(doc.inSync).toBe(false);
    const kinds = new Set(doc.changes.map((c: { kind: string }) => c.kind));
    expect(kinds).toEqual(new Set(['create-database', 'create-outbox-table', 'create-user', 'grant']));
    for (const c of doc.changes)
      expect(Object.keys(c)).toEqual(expect.arrayContaining(['server', 'service', 'kind', 'object', 'sql']));
    // The database-level grant of a_b is escaped, so it cannot match aXb.
    expect(doc.changes.map((c: { sql: string }) => c.sql)).toContain(
      "GRANT CREATE TEMPORARY TABLES, DELETE, EXECUTE, INSERT, SELECT, UPDATE ON `a\\_b`.* TO 'a_b_app'@'%'",
    );

    const first = await cli(['provision']);
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    // Everything is applied but the declared read of inventory.stock_levels, a table not created yet:
    // plan says what waits (exit 1) instead of "In sync"; the read test below creates it.
    const again = await cli(['plan']);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/deferred .*stock_levels/);
    expect(again.stdout).toMatch(/Not in sync: \d+ grants? wait/);
    expect(again.stdout).not.toMatch(/In sync: no changes/);
  });

  it('isolates every service: own database yes, every other database access denied (including aXb vs a_b)', async () => {
    const dbs: Record<string, { server: TestServer; name: string; db: string }> = {
      a_b: { server: shared, name: 'shared', db: 'a_b' },
      axb: { server: shared, name: 'shared', db: 'aXb' },
      inventory: { server: shared, name: 'shared', db: 'inventory' },
      analytics: { server: shared, name: 'shared', db: 'analytics' },
      orders: { server: solo, name: 'solo', db: 'orders' },
    };
    for (const [service, own] of Object.entries(dbs)) {
      const app = await login(own.server, own.name, `${service}_app`);
      const migrator = await login(own.server, own.name, `${service}_migrator`);
      try {
        await migrator.query(`CREATE TABLE \`${own.db}\`.items (id INT PRIMARY KEY, note VARCHAR(20))`);
        await app.query(`INSERT INTO \`${own.db}\`.items VALUES (1, 'x')`);
        expect(await app.query(`SELECT COUNT(*) AS n FROM \`${own.db}\`.items`)).toEqual([{ n: 1n }]);
        await app.query(`CREATE TEMPORARY TABLE \`${own.db}\`.scratch (id INT)`);
        // migrator can change the schema, app cannot.
        await migrator.query(`ALTER TABLE \`${own.db}\`.items ADD COLUMN extra INT`);
        await denied(app, `ALTER TABLE \`${own.db}\`.items ADD COLUMN more INT`);
        await denied(app, `CREATE TABLE \`${own.db}\`.t2 (id INT)`);
        await denied(app, `DROP TABLE \`${own.db}\`.items`);
        for (const [other, theirs] of Object.entries(dbs)) {
          if (other === service || theirs.server !== own.server) continue;
          for (const c of [app, migrator]) {
            await denied(c, `CREATE TABLE \`${theirs.db}\`.intruder (id INT)`);
            await denied(c, `SELECT * FROM \`${theirs.db}\`.items`);
            await denied(c, `USE \`${theirs.db}\``);
          }
        }
      } finally {
        await app.end();
        await migrator.end();
      }
    }
  });

  it('grants a declared read on exactly that table once it exists, and nothing else of that database', async () => {
    const inv = await login(shared, 'shared', 'inventory_migrator');
    await inv.query('CREATE TABLE inventory.stock_levels (sku VARCHAR(20) PRIMARY KEY, qty INT)');
    await inv.query('CREATE TABLE inventory.suppliers (id INT PRIMARY KEY)');
    await inv.query("INSERT INTO inventory.stock_levels VALUES ('a', 3)");
    await inv.end();
    const before = await login(shared, 'shared', 'analytics_app');
    await denied(before, 'SELECT * FROM inventory.stock_levels');
    await before.end();

    const plan = await cli(['plan', 'analytics', '--json']);
    expect(plan.code).toBe(1);
    expect(JSON.parse(plan.stdout).changes.map((c: { sql: string }) => c.sql)).toEqual([
      "GRANT SELECT ON `inventory`.`stock_levels` TO 'analytics_app'@'%'",
      "GRANT SELECT ON `inventory`.`stock_levels` TO 'analytics_migrator'@'%'",
    ]);
    expect((await cli(['provision', 'analytics'])).code).toBe(0);

    const app = await login(shared, 'shared', 'analytics_app');
    try {
      expect(await app.query('SELECT qty FROM inventory.stock_levels')).toEqual([{ qty: 3 }]);
      await denied(app, "INSERT INTO inventory.stock_levels VALUES ('b', 1)");
      await denied(app, 'SELECT * FROM inventory.suppliers');
      await denied(app, 'SELECT * FROM inventory.items');
    } finally {
      await app.end();
    }
  });

  it('gives the outbox relay SELECT and UPDATE(published_at) on its table only', async () => {
    const app = await login(solo, 'solo', 'orders_app');
    await app.query(
      `INSERT INTO orders.orders_events_outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('order', '1', 'created', '{"a":1}')`,
    );
    await app.end();
    const relay = await login(solo, 'solo', 'orders_outbox');
    try {
      const rows = await relay.query('SELECT event_id FROM orders.orders_events_outbox WHERE published_at IS NULL');
      expect(rows).toHaveLength(1);
      await relay.query('UPDATE orders.orders_events_outbox SET published_at = NOW(6) WHERE event_id = ?', [
        rows[0].event_id,
      ]);
      await denied(relay, "UPDATE orders.orders_events_outbox SET payload = '{}'");
      await denied(relay, 'DELETE FROM orders.orders_events_outbox');
      await denied(relay, 'SELECT * FROM orders.items');
    } finally {
      await relay.end();
    }
  });

  it('runs no DDL on a second provision (status counters unchanged)', async () => {
    const before = await Promise.all([ddlCounters(shared), ddlCounters(solo)]);
    const r = await cli(['provision']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/No changes\./);
    expect(await Promise.all([ddlCounters(shared), ddlCounters(solo)])).toEqual(before);
  });

  it('repairs drift: a hand-made grant shows in plan (exit 1) and is revoked; a dropped user is re-created', async () => {
    await shared.query("GRANT SELECT ON inventory.* TO 'a_b_app'@'%'");
    await shared.query("GRANT SELECT ON `a_b`.* TO 'axb_app'@'%'"); // unescaped: also matches aXb
    await shared.query("GRANT DROP ON `a\\_b`.* TO 'a_b_app'@'%' WITH GRANT OPTION");
    await shared.query("DROP USER 'inventory_app'@'%'");
    await solo.query("GRANT SUPER ON *.* TO 'orders_migrator'@'%'");

    const plan = await cli(['plan', '--json']);
    expect(plan.code).toBe(1);
    const sqls = JSON.parse(plan.stdout).changes.map((c: { sql: string }) => c.sql);
    expect(sqls).toEqual(
      expect.arrayContaining([
        "REVOKE SELECT ON `inventory`.* FROM 'a_b_app'@'%'",
        "REVOKE SELECT ON `a_b`.* FROM 'axb_app'@'%'",
        "REVOKE DROP, GRANT OPTION ON `a\\_b`.* FROM 'a_b_app'@'%'",
        "REVOKE SUPER ON *.* FROM 'orders_migrator'@'%'",
        "CREATE USER 'inventory_app'@'%' IDENTIFIED BY PASSWORD '********'",
      ]),
    );
    const text = await cli(['plan']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/revoke 'a_b_app'@'%' on inventory\.\*/);

    const fix = await cli(['provision']);
    expect(fix.code).toBe(0);
    expect((await cli(['plan'])).code).toBe(0);
    const ab = await login(shared, 'shared', 'a_b_app');
    await denied(ab, 'SELECT * FROM inventory.items');
    await denied(ab, 'DROP TABLE a_b.items');
    await ab.end();
    const axb = await login(shared, 'shared', 'axb_app');
    await denied(axb, 'SELECT * FROM a_b.items');
    await axb.end();
    // Re-created with the same stored password.
    const inv = await login(shared, 'shared', 'inventory_app');
    expect(await inv.query('SELECT COUNT(*) AS n FROM inventory.items')).toEqual([{ n: 1n }]);
    await inv.end();
  });

  it('applies a changed passwordEnv with ALTER USER', async () => {
    const next = 'Env-Pw-0rders-app-2nd!';
    const plan = await cli(['plan', 'orders', '--json'], { ORDERS_APP_PWD: next });
    expect(plan.code).toBe(1);
    expect(JSON.parse(plan.stdout).changes).toEqual([
      expect.objectContaining({
        kind: 'alter-user',
        object: "'orders_app'@'%'",
        sql: "ALTER USER 'orders_app'@'%' IDENTIFIED BY PASSWORD '********'",
      }),
    ]);
    expect((await cli(['provision', 'orders'], { ORDERS_APP_PWD: next })).code).toBe(0);
    await expect(login(solo, 'solo', 'orders_app', ORDERS_APP_PWD)).rejects.toThrow(/denied/i);
    const c = await login(solo, 'solo', 'orders_app', next);
    await c.end();
    expect((await cli(['provision', 'orders'])).code).toBe(0); // back to the first one
  });

  it('refuses an empty passwordEnv value (exit 3, the variable named) and leaves the password alone', async () => {
    for (const args of [
      ['plan', 'orders'],
      ['provision', 'orders'],
    ]) {
      const r = await cli(args, { ORDERS_APP_PWD: '' });
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(/environment variable ORDERS_APP_PWD \(password of 'orders_app'@'%'\) is empty/);
    }
    await expect(login(solo, 'solo', 'orders_app', '')).rejects.toThrow(/denied/i);
    const c = await login(solo, 'solo', 'orders_app', ORDERS_APP_PWD);
    await c.end();
    const connect = await cli(['connect', 'orders', '-e', 'SELECT 1'], { ORDERS_APP_PWD: '' });
    expect(connect.code).toBe(3);
    expect(connect.stderr).toMatch(/ORDERS_APP_PWD \(its password\) is empty/);
  });

  it('drops a shadow account (a managed user name on an undeclared host) as drift: plan exit 1, provision fixes', async () => {
    await shared.query("CREATE USER 'a_b_app'@'localhost' IDENTIFIED BY 'shadow-pw'");
    await shared.query("GRANT ALL PRIVILEGES ON *.* TO 'a_b_app'@'localhost'");
    const plan = await cli(['plan', '--json']);
    expect(plan.code).toBe(1);
    const doc = JSON.parse(plan.stdout);
    expect(doc.changes).toEqual([
      expect.objectContaining({
        kind: 'drop-user',
        object: "'a_b_app'@'localhost'",
        service: 'a_b',
        sql: "DROP USER IF EXISTS 'a_b_app'@'localhost'",
        reason: expect.stringMatching(/shadows the managed account 'a_b_app'@'%'/),
      }),
    ]);
    expect(doc.orphans.map((o: { object: string }) => o.object)).not.toContain("'a_b_app'@'localhost'");
    expect((await cli(['plan', 'a_b'])).stdout).toMatch(/drop-user 'a_b_app'@'localhost'/);
    expect((await cli(['provision'])).code).toBe(0);
    expect(await shared.query("SELECT Host FROM mysql.global_priv WHERE User = 'a_b_app'")).toEqual([{ Host: '%' }]);
    expect((await cli(['plan'])).code).toBe(0);
  });

  it('reports orphans and drops them only with --prune --yes', async () => {
    await shared.query("CREATE USER 'stray'@'%' IDENTIFIED BY 'x'");
    await shared.query('CREATE DATABASE empty_stray');
    await shared.query('CREATE DATABASE full_stray');
    await shared.query('CREATE TABLE full_stray.t (id INT)');
    const plan = await cli(['plan', '--json']);
    expect(plan.code).toBe(0);
    const orphans = JSON.parse(plan.stdout).orphans.map((o: { object: string }) => o.object);
    expect(orphans).toEqual(expect.arrayContaining(["'stray'@'%'", 'database empty_stray', 'database full_stray']));
    expect((await cli(['provision', '--prune'])).code).toBe(2);
    const pruned = await cli(['provision', '--prune', '--yes']);
    expect(pruned.code).toBe(0);
    const dbs = (await shared.query<{ Database: string }>('SHOW DATABASES')).map((r) => r.Database);
    expect(dbs).not.toContain('empty_stray');
    expect(dbs).toContain('full_stray');
    expect(await shared.query("SELECT User FROM mysql.global_priv WHERE User = 'stray'")).toEqual([]);
    expect((await cli(['provision', '--prune', '--yes', '--force-drop-data'])).code).toBe(0);
    expect((await shared.query<{ Database: string }>('SHOW DATABASES')).map((r) => r.Database)).not.toContain(
      'full_stray',
    );
  });

  it('two provisions at once on a fresh fleet both succeed and agree on the passwords', async () => {
    await cli(['provision']);
    const yaml = `${fleetYaml()}  twin: { server: shared }\n`;
    await writeFile(path.join(dir, 'services.yaml'), yaml);
    const [a, b] = await Promise.all([cli(['provision']), cli(['provision'])]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect((await cli(['plan'])).code).toBe(0);
    const c = await login(shared, 'shared', 'twin_app');
    await c.query('CREATE TEMPORARY TABLE twin.t (id INT)');
    await c.end();
  });

  it('names the failing server and object (exit 3) while the rest of the fleet still converges', async () => {
    const deadPort = await freePort();
    const yaml = fleetYaml(`  gone: { driver: external, host: 127.0.0.1, port: ${deadPort}, admin: { user: root } }
`)
      .replace(
        `port: ${solo.port}, admin: { user: root } }`,
        `port: ${solo.port}, admin: { user: root, passwordEnv: WRONG_ROOT_PWD } }`,
      )
      .replace(
        'services:\n',
        'services:\n  ghost: { server: gone }\n  late: { server: shared }\n  badcoll: { server: shared, collation: utf8mb4_no_such_collation_ci }\n',
      );
    await writeFile(path.join(dir, 'services.yaml'), yaml);
    const r = await cli(['provision'], { WRONG_ROOT_PWD: 'not-the-password' });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/server "gone" is not reachable at 127\.0\.0\.1:\d+/);
    expect(r.stdout).toMatch(/server "solo": access denied for admin user root/);
    expect(r.stdout).toMatch(/server "shared": create-database database badcoll failed: .*collation/i);
    const c = await login(shared, 'shared', 'late_app');
    await c.query('CREATE TEMPORARY TABLE late.t (id INT)');
    await c.end();
    await writeFile(path.join(dir, 'services.yaml'), fleetYaml());
  });

  it("says once per server which privileges dbps's admin account lacks (exit 3), and changes nothing", async () => {
    await solo.query("CREATE USER 'weak'@'%' IDENTIFIED BY 'Weak-Admin-Pw-1'");
    await solo.query("GRANT SELECT ON *.* TO 'weak'@'%'");
    const weakDir = await mkdtemp(path.join(os.tmpdir(), 'dbps-weak-'));
    try {
      await writeFile(
        path.join(weakDir, 'services.yaml'),
        `version: 1
fleet: weak
servers:
  w: { driver: external, host: 127.0.0.1, port: ${solo.port}, admin: { user: weak, passwordEnv: WEAK_PW } }
services:
  billing: { server: w }
  ledger: { server: w, outbox: true }
`,
      );
      for (const cmd of ['provision', 'plan']) {
        const r = await dbps([cmd], { cwd: weakDir, env: { WEAK_PW: 'Weak-Admin-Pw-1' } });
        runs.push(r);
        expect(r.code).toBe(3);
        const lines = r.stdout.split('\n');
        expect(lines.filter((l) => /lacks privileges/.test(l))).toHaveLength(1);
        expect(lines.filter((l) => /error:/.test(l))).toHaveLength(1);
        expect(`${r.stdout}${r.stderr}`).not.toMatch(/denied/i);
        expect(r.stdout).toMatch(
          /server "w": dbps's admin account 'weak'@'%' lacks privileges it needs to provision \(missing: [^)]*CREATE USER[^)]*GRANT OPTION\); it needs .* on \*\.\* WITH GRANT OPTION/,
        );
      }
      const dbs = (await solo.query<{ Database: string }>('SHOW DATABASES')).map((r) => r.Database);
      expect(dbs).not.toContain('billing');
    } finally {
      await rm(weakDir, { recursive: true, force: true });
      await solo.query("DROP USER 'weak'@'%'");
    }
  });

  it('never shows a password: stdout, stderr, --json, plans, child argv, general log', async () => {
    const secrets = await readSecrets(path.join(dir, '.dbps'));
    const passwords = [...secrets.values(), ORDERS_APP_PWD, 'Env-Pw-0rders-app-2nd!'];
    expect(passwords.length).toBeGreaterThan(10);
    expect((await readFile(path.join(dir, '.dbps/secrets.env'), 'utf8')).length).toBeGreaterThan(0);
    const { mode } = await import('node:fs').then((fs) => fs.statSync(path.join(dir, '.dbps/secrets.env')));
    expect(mode & 0o777).toBe(0o600);
    runs.push(await cli(['plan', '-v']), await cli(['provision', '--dry-run', '--json']));

    // Commands that do start child processes: `up` of a local server (mariadb-install-db, mariadbd),
    // `connect` as service accounts (generated and passwordEnv passwords) and `connect --admin` on an
    // external server whose admin password comes from passwordEnv.
    await solo.query(`CREATE USER 'it_admin'@'%' IDENTIFIED BY '${IT_ADMIN_PWD}'`);
    await solo.query("GRANT ALL PRIVILEGES ON *.* TO 'it_admin'@'%' WITH GRANT OPTION");
    const localPort = await freePort();
    await writeFile(
      path.join(dir, 'services.yaml'),
      fleetYaml(`  loc: { driver: local, memory: 128M, port: ${localPort} }
`)
        .replace(
          `port: ${solo.port}, admin: { user: root } }`,
          `port: ${solo.port}, admin: { user: it_admin, passwordEnv: IT_ADMIN_PWD } }`,
        )
        .replace('services:\n', 'services:\n  notes: { server: loc }\n'),
    );
    const adminEnv = { IT_ADMIN_PWD };
    usedLocal = true;
    const up = await cli(['up'], adminEnv);
    expect(up.code).toBe(0);
    expect((await cli(['provision'], adminEnv)).code).toBe(0);
    for (const args of [
      ['connect', 'orders', '-e', 'SELECT CURRENT_USER()'],
      ['connect', 'orders', '--admin', '-e', 'SELECT CURRENT_USER()'],
      ['connect', 'a_b', '-e', 'SELECT CURRENT_USER()'],
      ['connect', 'notes', '-e', 'SELECT CURRENT_USER()'],
    ]) {
      const r = await cli(args, adminEnv);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    expect(runs.at(-3)!.stdout).toContain('it_admin@%');
    expect((await cli(['down'], adminEnv)).code).toBe(0);
    usedLocal = false;

    const allSecrets = [...(await readSecrets(path.join(dir, '.dbps'))).values()];
    passwords.push(...allSecrets, IT_ADMIN_PWD);
    const printed = runs.map((r) => r.stdout + r.stderr).join('\n');
    expect(runs.length).toBeGreaterThan(20);
    const argv = await readFile(argvLog, 'utf8');
    const children = argv.trim().split('\n');
    expect(children.filter((l) => l.includes('--defaults-extra-file=')).length).toBeGreaterThanOrEqual(4);
    expect(children.some((l) => l.includes('mariadbd'))).toBe(true);
    expect(children.some((l) => l.includes('mariadb-install-db'))).toBe(true);
    const generalLog = await readFile(path.join(shared.datadir, 'general.log'), 'utf8');
    expect(generalLog).toMatch(/CREATE USER 'a_b_app'@'%' IDENTIFIED BY PASSWORD '\*[0-9A-F]{40}'/);
    for (const pw of passwords) {
      expect(printed).not.toContain(pw);
      expect(argv).not.toContain(pw);
      expect(generalLog).not.toContain(pw);
    }
  });
});
