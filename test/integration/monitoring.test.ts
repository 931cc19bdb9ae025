// Debian's prometheus-mysqld-exporter against a dbps server, as dbps_monitor with the collector flags
// dbps generates: it scrapes with mysql_up 1 and mysql_exporter_last_scrape_error 0, while the monitor
// account reaches no service data by any path. promtool accepts the generated prometheus.yml.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exporterCollectorFlags } from '../../src/fleet/monitor.js';
import { readSecrets, secretKey } from '../../src/runtime/secrets.js';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

const EXPORTER = '/usr/bin/prometheus-mysqld-exporter';
const PROMTOOL = '/usr/bin/promtool';

let fleet: LocalFleet;
let port: number;
let tmp: string;

async function password(user: string): Promise<string> {
  const pw = (await readSecrets(fleet.stateDir)).get(secretKey('orders', user));
  if (!pw) throw new Error(`no password for ${user}`);
  return pw;
}

beforeAll(async () => {
  for (const bin of [EXPORTER, PROMTOOL]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: apt-get install prometheus-mysqld-exporter prometheus`);
  }
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbps-monitoring-'));
  port = await freePort();
  fleet = await createFleet(`version: 1
fleet: mon
defaults: { monitor: { host: 127.0.0.1 } }
services:
  orders: { memory: 128M, port: ${port}, outbox: true }
`);
  const up = await fleet.run(['up']);
  if (up.code !== 0) throw new Error(`dbps up failed: ${up.stderr}`);
  const prov = await fleet.run(['provision']);
  if (prov.code !== 0) throw new Error(`dbps provision failed: ${prov.stderr}`);
  // Some service data (and its SQL in the binlog) for the monitor account to not see.
  const mig = await mariadb.createConnection({
    host: '127.0.0.1',
    port,
    user: 'orders_migrator',
    password: await password('orders_migrator'),
    database: 'orders',
    multipleStatements: true,
  });
  try {
    await mig.query(
      "CREATE TABLE cards (id INT PRIMARY KEY, pan VARCHAR(20)); INSERT INTO cards VALUES (1, '4111111111111111')",
    );
  } finally {
    await mig.end();
  }
}, 120_000);

afterAll(async () => {
  await destroyAllFleets();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function waitExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

describe('mysqld_exporter as dbps_monitor', () => {
  it('scrapes with mysql_up 1 and mysql_exporter_last_scrape_error 0 using the generated flags', async () => {
    const cnf = path.join(tmp, 'exporter.cnf');
    await writeFile(
      cnf,
      `[client]\nuser=dbps_monitor\npassword="${await password('dbps_monitor')}"\nhost=127.0.0.1\nport=${port}\n`,
      { mode: 0o600 },
    );
    const listen = await freePort();
    let stderr = '';
    const exporter = spawn(
      EXPORTER,
      [`--config.my-cnf=${cnf}`, `--web.listen-address=127.0.0.1:${listen}`, ...exporterCollectorFlags()],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    exporter.stderr!.on('data', (d) => {
      stderr += String(d);
    });
    try {
      let body = '';
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        try {
          const res = await fetch(`http://127.0.0.1:${listen}/metrics`, { signal: AbortSignal.timeout(10_000) });
          body = await res.text();
          if (res.ok) break;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(body, stderr).toMatch(/^mysql_up 1$/m);
      expect(body, stderr).toMatch(/^mysql_exporter_last_scrape_error 0$/m);
      // Every enabled collector ran without error, and performance_schema data arrives.
      const failed = [...body.matchAll(/^mysql_exporter_collector_success\{collector="([^"]+)"\} 0$/gm)].map(
        (m) => m[1],
      );
      expect(failed).toStrictEqual([]);
      expect(body).toMatch(/^mysql_perf_schema_table_io_waits_total\{[^}]*schema="orders"/m);
      expect(body).toMatch(/^mysql_global_status_uptime \d+/m);
      expect(stderr).not.toMatch(/level=error/);
    } finally {
      exporter.kill('SIGKILL');
      await waitExit(exporter);
    }
  }, 60_000);

  it('reaches no service data by any path', async () => {
    const mon = await mariadb.createConnection({
      host: '127.0.0.1',
      port,
      user: 'dbps_monitor',
      password: await password('dbps_monitor'),
      connectTimeout: 3000,
    });
    try {
      const denied = [
        'SELECT * FROM orders.cards',
        'SHOW BINLOG EVENTS',
        'SHOW RELAYLOG EVENTS',
        'SHOW ENGINE INNODB STATUS',
        'SELECT * FROM information_schema.INNODB_TRX',
        'SELECT * FROM information_schema.INNODB_LOCKS',
        'SELECT * FROM performance_schema.threads',
        'SELECT * FROM performance_schema.events_statements_history',
        'SELECT * FROM performance_schema.events_statements_summary_by_digest',
        'SELECT * FROM mysql.user',
        'SELECT * FROM mysql.global_priv',
        'SHOW SLAVE STATUS',
        'SHOW MASTER STATUS',
      ];
      for (const sql of denied) await expect(mon.query(sql), sql).rejects.toThrow(/denied|privilege/i);
      // The process list shows its own session only, so no other session's SQL.
      const list = await mon.query('SHOW FULL PROCESSLIST');
      expect(list.every((r: { User: string }) => r.User === 'dbps_monitor')).toBe(true);
      // No table of any service, and no routine or view body.
      expect(await mon.query("SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'orders'")).toStrictEqual(
        [],
      );
      expect(
        await mon.query("SELECT * FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'orders'"),
      ).toStrictEqual([]);
    } finally {
      await mon.end();
    }
    // Its host is the one defaults.monitor.host names.
    const grants = await fleet.run([
      'connect',
      'orders',
      '--admin',
      '-e',
      "SELECT Host FROM mysql.user WHERE User = 'dbps_monitor'",
    ]);
    expect(grants.stdout).toContain('127.0.0.1');
    expect(grants.stdout).not.toMatch(/^%$/m);
  }, 60_000);

  it('audit-grants reports PROCESS / BINLOG MONITOR granted to dbps_monitor by hand as an error; provision revokes them', async () => {
    const grant = await fleet.run([
      'connect',
      'orders',
      '--admin',
      '-e',
      "GRANT PROCESS, BINLOG MONITOR ON *.* TO 'dbps_monitor'@'127.0.0.1'",
    ]);
    expect(grant.code).toBe(0);
    const audit = await fleet.run(['--json', 'audit-grants']);
    expect(audit.code).toBe(1);
    const found = JSON.parse(audit.stdout).findings.filter(
      (f: { rule: string }) => f.rule === 'server-account-privileges',
    );
    expect(found).toMatchObject([
      { severity: 'error', account: "'dbps_monitor'@'127.0.0.1'", privilege: 'BINLOG MONITOR, PROCESS' },
    ]);
    expect((await fleet.run(['provision'])).code).toBe(0);
    const again = await fleet.run(['audit-grants']);
    expect(again.stdout + again.stderr).not.toMatch(/server-account-privileges/);
    expect(again.code).toBe(0);
  }, 60_000);

  it('promtool accepts the generated prometheus.yml', async () => {
    const gen = await fleet.run(['generate', '--only', 'prometheus,compose', '--out', path.join(tmp, 'gen')]);
    expect(gen.code).toBe(0);
    const file = path.join(tmp, 'gen', 'prometheus', 'prometheus.yml');
    expect(await readFile(file, 'utf8')).toContain('orders-exporter:9104');
    const r = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(PROMTOOL, ['check', 'config', file], (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout + stderr }),
      ),
    );
    expect(r.out).toMatch(/SUCCESS/);
    expect(r.code).toBe(0);
    // The compose exporter runs with the same collector flags.
    const compose = await readFile(path.join(tmp, 'gen', 'docker-compose.yml'), 'utf8');
    for (const flag of exporterCollectorFlags()) expect(compose).toContain(flag);
  }, 60_000);
});

describe('plan checks the outbox table shape', () => {
  it('is not in sync after a migrator renamed published_at (the relay would fail with 1054), and is again once it is back', async () => {
    expect((await fleet.run(['plan'])).code).toBe(0);
    const mig = await mariadb.createConnection({
      host: '127.0.0.1',
      port,
      user: 'orders_migrator',
      password: await password('orders_migrator'),
      database: 'orders',
    });
    try {
      await mig.query('ALTER TABLE orders_events_outbox RENAME COLUMN published_at TO sent_at');
      const plan = await fleet.run(['plan']);
      expect(plan.stdout).toMatch(
        /broken table orders\.orders_events_outbox: the outbox table lacks column published_at/,
      );
      expect(plan.stdout).not.toMatch(/In sync/);
      expect(plan.code).toBe(1);
      const json = JSON.parse((await fleet.run(['plan', '--json'])).stdout);
      expect(json.inSync).toBe(false);
      await mig.query('ALTER TABLE orders_events_outbox RENAME COLUMN sent_at TO published_at');
      const again = await fleet.run(['plan']);
      expect(again.stdout).toMatch(/In sync/);
      expect(again.code).toBe(0);
    } finally {
      await mig.end();
    }
  }, 60_000);
});
