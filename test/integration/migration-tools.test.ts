// The tools service teams already use, against a fleet dbps provisioned on real mariadbd: a knex
// migration run as the migrator creates the seed's change-capture trigger, a function, a procedure, a
// view and an event that really fires; the migrator's own mariadb-dump reloads into an emptied
// database of the same service; the app account runs CRUD and CALLs the procedure; both accounts are
// denied on another service's database on the same server.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSecrets, secretKey } from '../../src/runtime/secrets.js';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

let fleet: LocalFleet;
/** Every character that could break a URL, a shell line or an option file. */
// Odd for a shell, a URL and compose alike; no `'` (which no env file can hold for both bash and compose:
// dbps env refuses dotenv for it, tested below).
const NASTY_PASSWORD = `p@ss:w/rd?#%$HOME "x" \\y;\`id\` é = \\"#`;
let port: number;
let tmp: string;

async function password(user: string): Promise<string> {
  const pw = (await readSecrets(fleet.stateDir)).get(secretKey('shared', user));
  if (!pw) throw new Error(`no password for ${user}`);
  return pw;
}

async function login(user: string, database?: string) {
  return mariadb.createConnection({
    host: '127.0.0.1',
    port,
    user,
    password: await password(user),
    database,
    connectTimeout: 3000,
    multipleStatements: true,
  });
}

/** A 0600 defaults file for a client program run as `user` (the password never goes into argv). */
async function defaultsFile(user: string): Promise<string> {
  const file = path.join(tmp, `${user}.cnf`);
  await writeFile(
    file,
    `[client]\nuser=${user}\npassword="${await password(user)}"\nhost=127.0.0.1\nport=${port}\nprotocol=TCP\nskip-ssl\n`,
    { mode: 0o600 },
  );
  await chmod(file, 0o600);
  return file;
}

function run(bin: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Polls `probe` until it returns true, at most `ms` milliseconds (every wait is bounded). */
async function waitFor(probe: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return probe();
}

/** The migration a service team would write: tables, the seed's trigger, routines, a view and an event. */
const migration: Knex.Migration = {
  async up(knex) {
    await knex.schema.createTable('customers', (t) => {
      t.increments('id');
      t.string('email', 200).notNullable();
      t.string('name', 200);
    });
    await knex.schema.createTable('customer_events', (t) => {
      t.increments('id');
      t.integer('customer_id').notNullable();
      t.string('kind', 40).notNullable();
      t.text('payload');
    });
    await knex.schema.createTable('ticks', (t) => {
      t.increments('id');
      t.timestamp('at').defaultTo(knex.fn.now());
    });
    // The seed's change-capture trigger: AFTER UPDATE writes one row to the events table.
    await knex.raw(`CREATE TRIGGER trg_customer_update_event AFTER UPDATE ON customers FOR EACH ROW
      INSERT INTO customer_events (customer_id, kind, payload)
      VALUES (NEW.id, 'customer.updated', JSON_OBJECT('email', NEW.email, 'name', NEW.name))`);
    await knex.raw(`CREATE FUNCTION email_domain(e VARCHAR(200)) RETURNS VARCHAR(200) DETERMINISTIC
      RETURN SUBSTRING_INDEX(e, '@', -1)`);
    await knex.raw(`CREATE PROCEDURE rename_customer(IN cid INT, IN new_name VARCHAR(200))
      BEGIN UPDATE customers SET name = new_name WHERE id = cid; END`);
    await knex.raw(`CREATE VIEW customer_domains AS SELECT id, email_domain(email) AS domain FROM customers`);
    await knex.raw(`CREATE EVENT tick ON SCHEDULE EVERY 1 SECOND DO INSERT INTO ticks () VALUES ()`);
  },
  async down(knex) {
    await knex.raw('DROP EVENT IF EXISTS tick');
    await knex.raw('DROP VIEW IF EXISTS customer_domains');
    await knex.raw('DROP PROCEDURE IF EXISTS rename_customer');
    await knex.raw('DROP FUNCTION IF EXISTS email_domain');
    await knex.schema.dropTableIfExists('ticks');
    await knex.schema.dropTableIfExists('customer_events');
    await knex.schema.dropTableIfExists('customers');
  },
};

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbps-migtools-'));
  port = await freePort();
  fleet = await createFleet(`version: 1
fleet: migtools
servers:
  shared: { driver: local, memory: 128M, port: ${port} }
services:
  customers: { server: shared, shadowDatabase: true, reads: [ { service: orders, tables: [stock] } ] }
  orders:
    server: shared
    users:
      - { name: orders_app, role: app, passwordEnv: ORDERS_APP_PW }
      - { name: orders_migrator, role: migrator }
`);
  const up = await fleet.run(['up']);
  if (up.code !== 0) throw new Error(`dbps up failed: ${up.stderr}`);
  const prov = await fleet.run(['provision'], { ORDERS_APP_PW: NASTY_PASSWORD });
  if (prov.code !== 0) throw new Error(`dbps provision failed: ${prov.stderr}`);
}, 120_000);

afterAll(async () => {
  await destroyAllFleets();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('a knex migration as the migrator', () => {
  it('creates trigger, function, procedure, view and an event that fires; the app account uses them', async () => {
    const knex = knexFactory({
      client: 'mysql2',
      connection: {
        host: '127.0.0.1',
        port,
        user: 'customers_migrator',
        password: await password('customers_migrator'),
        database: 'customers',
      },
      pool: { min: 0, max: 1 },
    });
    try {
      const [, log] = await knex.migrate.latest({
        migrationSource: {
          getMigrations: async () => ['20260101_customers'],
          getMigrationName: (m: string) => m,
          getMigration: async () => migration,
        },
      });
      expect(log).toEqual(['20260101_customers']);
    } finally {
      await knex.destroy();
    }

    const mig = await login('customers_migrator', 'customers');
    const app = await login('customers_app', 'customers');
    try {
      // The event scheduler is on (oltp profile) and the migrator's event really runs.
      expect(await waitFor(async () => (await mig.query('SELECT COUNT(*) AS n FROM ticks'))[0].n > 0n, 15_000)).toBe(
        true,
      );
      // App account: CRUD, the function through the view, and CALL of the procedure.
      await app.query("INSERT INTO customers (email, name) VALUES ('ada@example.org', 'Ada')");
      const [row] = await app.query('SELECT id, domain FROM customer_domains');
      expect(row.domain).toBe('example.org');
      await app.query("UPDATE customers SET email = 'ada@example.com' WHERE id = ?", [row.id]);
      await app.query('CALL rename_customer(?, ?)', [row.id, 'Ada L.']);
      expect((await app.query('SELECT name FROM customers WHERE id = ?', [row.id]))[0].name).toBe('Ada L.');
      // The trigger captured both updates (one direct, one through the procedure).
      const events = await app.query('SELECT kind, payload FROM customer_events ORDER BY id');
      expect(events.map((e: { kind: string }) => e.kind)).toEqual(['customer.updated', 'customer.updated']);
      expect(JSON.parse(events[1].payload)).toEqual({ email: 'ada@example.com', name: 'Ada L.' });
      await app.query('DELETE FROM customer_events');
      expect((await app.query('SELECT COUNT(*) AS n FROM customer_events'))[0].n).toBe(0n);
    } finally {
      await Promise.all([mig.end(), app.end()]);
    }
  }, 90_000);

  it("reloads the migrator's own dump (routines, triggers, events) into its emptied database", async () => {
    const cnf = await defaultsFile('customers_migrator');
    const dump = await run('mariadb-dump', [
      `--defaults-extra-file=${cnf}`,
      '--routines',
      '--triggers',
      '--events',
      '--single-transaction',
      'customers',
    ]);
    expect(dump.stderr).toBe('');
    expect(dump.code).toBe(0);
    expect(dump.stdout).toMatch(/CREATE\b.*TRIGGER `?trg_customer_update_event/);
    expect(dump.stdout).toMatch(/CREATE\b.*EVENT `?tick/);
    expect(dump.stdout).toMatch(/CREATE\b.*FUNCTION `?email_domain/);
    expect(dump.stdout).toMatch(/CREATE\b.*PROCEDURE `?rename_customer/);

    // Empty the database (as the migrator), then reload the dump into it as the migrator.
    const mig = await login('customers_migrator', 'customers');
    try {
      await mig.query(
        'DROP EVENT tick; DROP VIEW customer_domains; DROP PROCEDURE rename_customer; DROP FUNCTION email_domain;' +
          'DROP TABLE ticks, customer_events, customers, knex_migrations, knex_migrations_lock',
      );
      expect(await mig.query('SHOW TABLES')).toHaveLength(0);
    } finally {
      await mig.end();
    }
    const load = await run('mariadb', [`--defaults-extra-file=${cnf}`, 'customers'], dump.stdout);
    expect(load.stderr).toBe('');
    expect(load.code).toBe(0);

    const again = await login('customers_migrator', 'customers');
    try {
      const names = async (sql: string) => (await again.query(sql)).map((r: Record<string, string>) => r.name);
      expect(
        await names("SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'customers'"),
      ).toEqual(['trg_customer_update_event']);
      expect(
        await names(
          "SELECT ROUTINE_NAME AS name FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'customers' ORDER BY 1",
        ),
      ).toEqual(['email_domain', 'rename_customer']);
      expect(
        await names("SELECT EVENT_NAME AS name FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'customers'"),
      ).toEqual(['tick']);
      // The reloaded trigger still works.
      await again.query("UPDATE customers SET name = 'Ada Lovelace'");
      expect((await again.query('SELECT COUNT(*) AS n FROM customer_events'))[0].n).toBe(1n);
    } finally {
      await again.end();
    }
  }, 90_000);

  it("denies both customers accounts on orders' database, objects and routines included", async () => {
    const ordersMig = await login('orders_migrator', 'orders');
    try {
      await ordersMig.query(
        'CREATE TABLE secrets (id INT PRIMARY KEY, v TEXT); INSERT INTO secrets VALUES (1, "card");' +
          'CREATE PROCEDURE leak() SELECT v FROM secrets; CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1',
      );
    } finally {
      await ordersMig.end();
    }
    for (const user of ['customers_app', 'customers_migrator']) {
      const c = await login(user, 'customers');
      try {
        await expect(c.query('SELECT * FROM orders.secrets')).rejects.toThrow(/denied/i);
        await expect(c.query('INSERT INTO orders.secrets VALUES (2, "x")')).rejects.toThrow(/denied/i);
        await expect(c.query('CALL orders.leak()')).rejects.toThrow(/denied/i);
        await expect(c.query('SELECT orders.f()')).rejects.toThrow(/denied/i);
        await expect(c.query('CREATE VIEW orders.v AS SELECT 1')).rejects.toThrow(/denied/i);
        await expect(
          c.query('CREATE TRIGGER orders.t AFTER UPDATE ON orders.secrets FOR EACH ROW SET @x = 1'),
        ).rejects.toThrow(/denied/i);
        await expect(c.query('CREATE EVENT orders.e ON SCHEDULE EVERY 1 DAY DO SELECT 1')).rejects.toThrow(/denied/i);
        // A definer-rights view in its own database cannot reach orders either.
        if (user === 'customers_migrator') {
          await expect(c.query('CREATE VIEW customers.peek AS SELECT v FROM orders.secrets')).rejects.toThrow(
            /denied/i,
          );
        }
      } finally {
        await c.end();
      }
    }
  }, 60_000);
});

/** Sources `text` in bash (`set -a; . FILE`) and returns the DB_* / DATABASE_URL values it set, and its chatter. */
async function sourceEnv(text: string): Promise<{ vars: Record<string, string>; chatter: string; code: number }> {
  const file = path.join(tmp, `env-${Math.random().toString(36).slice(2)}`);
  await writeFile(file, text, { mode: 0o600 });
  const keys = ['DATABASE_URL', 'DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD', 'DB_SOCKET'];
  const script = `t=$(mktemp); set -a; . "$1" >"$t" 2>&1; rc=$?; set +a; cat "$t" >&2; rm -f "$t"; [ $rc = 0 ] || exit $rc
node -e 'const o={}; for (const k of process.argv.slice(1)) if (process.env[k] !== undefined) o[k]=process.env[k]; process.stdout.write(JSON.stringify(o))' ${keys.join(' ')}`;
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['--norc', '--noprofile', '-c', script, 'bash', file],
      { env: { PATH: process.env.PATH } },
      (error, stdout, stderr) => {
        void rm(file, { force: true });
        resolve({
          vars: stdout ? JSON.parse(stdout) : {},
          chatter: stderr,
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        });
      },
    );
  });
}

/** Logs in with the real mariadb client from sourced variables, through a 0600 defaults file. */
async function loginWith(vars: Record<string, string>, viaSocket: boolean) {
  const q = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const file = path.join(tmp, `login-${Math.random().toString(36).slice(2)}.cnf`);
  const where = viaSocket
    ? `socket=${q(vars.DB_SOCKET!)}\nprotocol=SOCKET`
    : `host=${q(vars.DB_HOST!)}\nport=${vars.DB_PORT}\nprotocol=TCP`;
  await writeFile(file, `[client]\nuser=${q(vars.DB_USER!)}\npassword=${q(vars.DB_PASSWORD!)}\n${where}\nskip-ssl\n`, {
    mode: 0o600,
  });
  try {
    const args = [`--defaults-extra-file=${file}`, '-N', '-B', '-e', 'SELECT CURRENT_USER(), IFNULL(DATABASE(), "-")'];
    if (vars.DB_NAME) args.push(vars.DB_NAME);
    return await run('mariadb', args);
  } finally {
    await rm(file, { force: true });
  }
}

describe('views over a declared read', () => {
  it('the migrator creates an INVOKER view over exactly the declared table; its app reads through it; nothing more', async () => {
    const ordersMig = await login('orders_migrator', 'orders');
    try {
      await ordersMig.query(
        'CREATE TABLE stock (sku VARCHAR(20) PRIMARY KEY, qty INT); INSERT INTO stock VALUES ("a", 3)',
      );
    } finally {
      await ordersMig.end();
    }
    // The declared table exists now: provision grants the read.
    const prov = await fleet.run(['provision'], { ORDERS_APP_PW: NASTY_PASSWORD });
    expect(prov.code).toBe(0);
    const mig = await login('customers_migrator', 'customers');
    const app = await login('customers_app', 'customers');
    try {
      await mig.query('CREATE SQL SECURITY INVOKER VIEW stock_view AS SELECT sku, qty FROM orders.stock');
      expect(await app.query('SELECT sku, qty FROM stock_view')).toStrictEqual([{ sku: 'a', qty: 3 }]);
      // Read only, and only that table.
      await expect(mig.query('INSERT INTO orders.stock VALUES ("b", 1)')).rejects.toThrow(/denied/i);
      await expect(mig.query('CREATE TABLE orders.x (id INT)')).rejects.toThrow(/denied/i);
      await expect(mig.query('CREATE VIEW secrets_view AS SELECT v FROM orders.secrets')).rejects.toThrow(/denied/i);
      await expect(app.query('SELECT * FROM orders.secrets')).rejects.toThrow(/denied/i);
    } finally {
      await Promise.all([mig.end(), app.end()]);
    }
  }, 60_000);
});

describe('shadowDatabase: a scratch database the migrator may drop and re-create', () => {
  it('exists after provision; the migrator creates, drops and re-creates it and loads its dump there', async () => {
    const mig = await login('customers_migrator');
    try {
      expect(await mig.query("SHOW DATABASES LIKE 'customers\\_shadow'")).toHaveLength(1);
      await mig.query('CREATE TABLE customers_shadow.t (id INT PRIMARY KEY)');
      await mig.query('DROP DATABASE customers_shadow');
      await mig.query('CREATE DATABASE customers_shadow');
      // Only that name: `_` is no wildcard in its grant, and no other database may be created.
      for (const name of ['customersXshadow', 'customers_shadow2', 'scratch']) {
        await expect(mig.query(`CREATE DATABASE ${name}`)).rejects.toThrow(/denied/i);
      }
    } finally {
      await mig.end();
    }
    // The migrator's dump of its own database reloads into the (empty) shadow database of the same service.
    // customers now holds a view over orders.stock (a declared read): a dump that LOCKs TABLES would need
    // LOCK TABLES on orders too, which no customers account has, so the dump is --single-transaction.
    const cnf = await defaultsFile('customers_migrator');
    const args = [`--defaults-extra-file=${cnf}`, '--routines', '--triggers', '--events', 'customers'];
    const locked = await run('mariadb-dump', args);
    expect(locked.stderr).toMatch(/1356: "View 'customers.stock_view' .* when using LOCK TABLES/);
    const dump = await run('mariadb-dump', [args[0]!, '--single-transaction', ...args.slice(1)]);
    expect(dump.stderr).toBe('');
    expect(dump.code).toBe(0);
    const load = await run('mariadb', [`--defaults-extra-file=${cnf}`, 'customers_shadow'], dump.stdout);
    expect(load.stderr).toBe('');
    expect(load.code).toBe(0);
    const again = await login('customers_migrator', 'customers_shadow');
    try {
      const triggers = await again.query(
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'customers_shadow'",
      );
      expect(triggers.map((t: { TRIGGER_NAME: string }) => t.TRIGGER_NAME)).toStrictEqual([
        'trg_customer_update_event',
      ]);
      await again.query('DROP EVENT tick');
    } finally {
      await again.end();
    }
  }, 60_000);

  it("no other account reaches it, and audit-grants counts it as customers' own", async () => {
    for (const user of ['orders_app', 'orders_migrator', 'customers_app']) {
      const c =
        user === 'orders_app'
          ? await mariadb.createConnection({
              host: '127.0.0.1',
              port,
              user,
              password: NASTY_PASSWORD,
              connectTimeout: 3000,
            })
          : await login(user);
      try {
        await expect(c.query('SELECT * FROM customers_shadow.customers')).rejects.toThrow(/denied/i);
        await expect(c.query('CREATE TABLE customers_shadow.x (id INT)')).rejects.toThrow(/denied/i);
        await expect(c.query('DROP DATABASE customers_shadow')).rejects.toThrow(/denied/i);
      } finally {
        await c.end();
      }
    }
    const audit = await fleet.run(['--json', 'audit-grants'], { ORDERS_APP_PW: NASTY_PASSWORD });
    const report = JSON.parse(audit.stdout);
    expect(Array.isArray(report.findings)).toBe(true);
    const errors = report.findings.filter((f: { severity: string }) => f.severity === 'error');
    expect(errors).toStrictEqual([]);
    expect(audit.code).toBe(0);
  }, 60_000);
});

describe('dbps env: a service connection the application and its tools can use', () => {
  it('dotenv output sources silently in bash and logs in with the real client, odd password included', async () => {
    const r = await fleet.run(['env', 'orders'], { ORDERS_APP_PW: NASTY_PASSWORD });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { vars, chatter, code } = await sourceEnv(r.stdout);
    expect(chatter).toBe('');
    expect(code).toBe(0);
    expect(vars).toMatchObject({
      DB_HOST: '127.0.0.1',
      DB_PORT: String(port),
      DB_NAME: 'orders',
      DB_USER: 'orders_app',
      DB_PASSWORD: NASTY_PASSWORD,
      DB_SOCKET: fleet.state().servers.shared!.socket,
    });
    const login = await loginWith(vars, false);
    expect(login.stderr).toBe('');
    expect(login.stdout.trim()).toBe('orders_app@%\torders');
    // The URL decodes back to exactly the same parts.
    const url = new URL(vars.DATABASE_URL!);
    expect(url.protocol).toBe('mariadb:');
    expect(decodeURIComponent(url.username)).toBe('orders_app');
    expect(decodeURIComponent(url.password)).toBe(NASTY_PASSWORD);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.port).toBe(String(port));
    expect(decodeURIComponent(url.pathname.slice(1))).toBe('orders');
    // Local servers offer TLS: the URL asks for it, verified against the fleet CA dbps env names.
    expect(url.searchParams.get('ssl')).toBe('true');
    expect(url.searchParams.get('serverSslCert')).toBe(path.join(fleet.stateDir, 'tls', 'ca.pem'));
    expect(r.stdout).toContain(`DB_SSL_CA='${path.join(fleet.stateDir, 'tls', 'ca.pem')}'`);
  });

  it("refuses dotenv for a password holding ' (exit 2, nothing printed, the password not echoed); json still gives it", async () => {
    const quote = "it's-a-secret";
    const r = await fleet.run(['env', 'orders'], { ORDERS_APP_PW: quote });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('DB_PASSWORD of account "orders_app" holds a single quote');
    expect(r.stderr).toContain('--format json');
    expect(r.stderr).not.toContain('secret');
    const json = await fleet.run(['env', 'orders', '--format', 'json'], { ORDERS_APP_PW: quote });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).DB_PASSWORD).toBe(quote);
  });

  it('url and json formats agree with dotenv; --json is one JSON document', async () => {
    const env = { ORDERS_APP_PW: NASTY_PASSWORD };
    const json = await fleet.run(['env', 'customers', '--user', 'customers_migrator', '--format', 'json'], env);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.DB_USER).toBe('customers_migrator');
    expect(doc.DB_PASSWORD).toBe(await password('customers_migrator'));
    const url = await fleet.run(['env', 'customers', '--user', 'customers_migrator', '--format', 'url'], env);
    expect(url.stdout).toBe(`${doc.DATABASE_URL}\n`);
    const global = await fleet.run(['--json', 'env', 'customers', '--user', 'customers_migrator'], env);
    expect(JSON.parse(global.stdout)).toStrictEqual(doc);
    // The URL works for a real driver, given the fleet CA that DB_SSL_CA names (Connector/Node takes the
    // CA as an option, not from the URL), and the session is TLS.
    const parts = new URL(doc.DATABASE_URL);
    const c = await mariadb.createConnection({
      host: parts.hostname,
      port: Number(parts.port),
      user: decodeURIComponent(parts.username),
      password: decodeURIComponent(parts.password),
      database: decodeURIComponent(parts.pathname.slice(1)),
      ssl: { ca: readFileSync(doc.DB_SSL_CA, 'utf8') },
    });
    try {
      expect((await c.query('SELECT DATABASE() AS d'))[0].d).toBe('customers');
      const [cipher] = await c.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
      expect(cipher.Value).not.toBe('');
    } finally {
      await c.end();
    }
  });

  it('gives the monitor (TCP) and backup (socket only) accounts with --user, and connect accepts them too', async () => {
    const mon = await fleet.run(['env', 'orders', '--user', 'dbps_monitor']);
    expect(mon.code).toBe(0);
    const m = await sourceEnv(mon.stdout);
    expect(m.chatter).toBe('');
    expect(m.vars.DB_NAME).toBe('');
    // The variable the generated docker-compose.yml's exporter reads comes with it.
    expect(mon.stdout).toContain(`MIGTOOLS_SHARED_MONITOR_PASSWORD='${m.vars.DB_PASSWORD}'`);
    expect((await loginWith(m.vars, false)).stdout.trim()).toMatch(/^dbps_monitor@\S+\t-$/);

    const bak = await fleet.run(['env', 'orders', '--user', 'dbps_backup']);
    expect(bak.code).toBe(0);
    const b = await sourceEnv(bak.stdout);
    expect(b.vars.DB_HOST).toBe('localhost');
    expect(new URL(b.vars.DATABASE_URL!).searchParams.get('socketPath')).toBe(b.vars.DB_SOCKET);
    expect((await loginWith(b.vars, true)).stdout.trim()).toBe('dbps_backup@localhost\t-');

    for (const user of ['dbps_monitor', 'dbps_backup']) {
      const c = await fleet.run(['connect', 'orders', '--user', user, '-e', 'SELECT CURRENT_USER()']);
      expect(c.stderr).not.toMatch(/error/i);
      expect(c.code).toBe(0);
      expect(c.stdout).toContain(`${user}@`);
    }
  });

  it('exits 2 on an unknown service or account, with a suggestion', async () => {
    const svc = await fleet.run(['env', 'ordrs']);
    expect(svc.code).toBe(2);
    expect(svc.stderr).toContain('did you mean "orders"');
    expect(svc.stdout).toBe('');
    const user = await fleet.run(['env', 'orders', '--user', 'dbps_monitr']);
    expect(user.code).toBe(2);
    expect(user.stderr).toContain('did you mean "dbps_monitor"');
    const other = await fleet.run(['env', 'orders', '--user', 'customers_app']);
    expect(other.code).toBe(2);
    const fmt = await fleet.run(['env', 'orders', '--format', 'yaml']);
    expect(fmt.code).toBe(2);
  });

  it("the provisioned fleet's secrets.env sources silently and its passwords log in", async () => {
    const text = await (await import('node:fs/promises')).readFile(path.join(fleet.stateDir, 'secrets.env'), 'utf8');
    const key = secretKey('shared', 'customers_app');
    const { vars, chatter, code } = await sourceEnv(`${text}\nDB_PASSWORD="$${key}"\n`);
    expect(chatter).toBe('');
    expect(code).toBe(0);
    expect(vars.DB_PASSWORD).toBe(await password('customers_app'));
    const login = await loginWith(
      { DB_USER: 'customers_app', DB_PASSWORD: vars.DB_PASSWORD!, DB_HOST: '127.0.0.1', DB_PORT: String(port) },
      false,
    );
    expect(login.stdout.trim()).toBe('customers_app@%\t-');
  });
});
