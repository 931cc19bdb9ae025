// `dbps connect`: an account limited to another host is told why the server refuses it (exit 3), not
// the client's bare `Access denied`; `--json connect -e` prints one JSON document of rows, errors included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

let fleet: LocalFleet;

beforeAll(async () => {
  fleet = await createFleet(
    [
      'version: 1',
      'fleet: cj',
      'servers:',
      `  shared: { driver: local, memory: 256M, port: ${await freePort()} }`,
      'services:',
      '  orders: { server: shared }',
      '  payments:',
      '    server: shared',
      '    users: [ { name: payments_app, role: app, host: "10.1.%" } ]',
      '',
    ].join('\n'),
  );
  for (const args of [['up'], ['provision']]) {
    const r = await fleet.run(args);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const setup = await fleet.run([
    'connect',
    'orders',
    '--user',
    'orders_migrator',
    '-e',
    "CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(20), note TEXT NULL); INSERT INTO t VALUES (1, 'a\tb', NULL), (9007199254740993, 'NULL', 'x\\ny')",
  ]);
  if (setup.code !== 0) throw new Error(setup.stderr);
}, 180_000);

afterAll(async () => {
  await destroyAllFleets();
});

describe('connect as an account limited to another host', () => {
  it('exits 3 naming the host the account is limited to and where dbps connected from', async () => {
    const r = await fleet.run(['connect', 'payments', '-e', 'SELECT 1']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/account payments_app is limited to host 10\.1\.% \(services\.yaml\)/);
    expect(r.stderr).toMatch(/the server sees dbps connect from (localhost|127\.0\.0\.1) \(to 127\.0\.0\.1:\d+\)/);
    expect(r.stderr).toContain('dbps connect payments --admin');
    expect(r.stderr).not.toMatch(/^ERROR 1045/m);
  });

  it('the same account is denied by the server itself, so the message is not a guess', async () => {
    // As admin over the socket: the account exists only for 10.1.%, no row lets it in from here.
    const r = await fleet.run([
      'connect',
      'payments',
      '--admin',
      '-e',
      "SELECT CONCAT(User, '@', Host) FROM mysql.user WHERE User = 'payments_app'",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').slice(1)).toEqual(['payments_app@10.1.%']);
  });

  it('an account whose host matches still connects', async () => {
    const r = await fleet.run(['connect', 'orders', '-e', 'SELECT CURRENT_USER()']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('orders_app@%');
  });
});

describe('--json connect -e', () => {
  it('prints one JSON document with the columns and rows of each statement', async () => {
    const r = await fleet.run([
      '--json',
      'connect',
      'orders',
      '-e',
      'SELECT id, name, note FROM t ORDER BY id; SELECT 1 AS one',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      version: 1,
      command: 'connect',
      service: 'orders',
      server: 'shared',
      user: 'orders_app',
    });
    expect(doc.results).toEqual([
      {
        columns: ['id', 'name', 'note'],
        rows: [
          { id: 1, name: 'a\tb', note: null },
          { id: '9007199254740993', name: 'NULL', note: 'x\ny' },
        ],
      },
      { columns: ['one'], rows: [{ one: 1 }] },
    ]);
  });

  it('runs over TLS over TCP, as the client does', async () => {
    const r = await fleet.run(['--json', 'connect', 'orders', '-e', "SHOW SESSION STATUS LIKE 'Ssl_version'"]);
    expect(r.code, r.stderr).toBe(0);
    const [result] = JSON.parse(r.stdout).results as { rows: { Value: string }[] }[];
    expect(result!.rows[0]!.Value).toMatch(/^TLS/);
  });

  it('a statement that changes rows reports how many', async () => {
    const r = await fleet.run(['--json', 'connect', 'orders', '-e', "UPDATE t SET note = 'z' WHERE id = 1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results).toEqual([{ affectedRows: 1, warnings: 0 }]);
  });

  it('a failing statement is one JSON error document, exit 1', async () => {
    const r = await fleet.run(['--json', 'connect', 'orders', '-e', 'SELECT * FROM nosuch']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ version: 1, error: { exitCode: 1 } });
    expect(doc.error.message).toMatch(/ERROR 1146 \(42S02\): Table 'orders\.nosuch' doesn't exist/);
  });

  it('an account refused for its host is one JSON error document, exit 3', async () => {
    const r = await fleet.run(['--json', 'connect', 'payments', '-e', 'SELECT 1']);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ version: 1, error: { exitCode: 3, server: 'shared' } });
    expect(doc.error.message).toMatch(/limited to host 10\.1\.%/);
  });

  it('without -e is a usage error, as one JSON document', async () => {
    const r = await fleet.run(['--json', 'connect', 'orders']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 1, error: { exitCode: 2 } });
  });
});
