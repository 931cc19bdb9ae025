// Round trips to a server, counted by the server itself (its Questions counter: one per statement a
// client sends): an admin session sends nothing of its own after login, and `status` asks one
// question per server. Counts, not timings, so they hold on any machine.
import type { Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetFromText } from '../../src/config/from-text.js';
import { connectAdmin } from '../../src/runtime/admin.js';
import { readHealth } from '../../src/runtime/health.js';
import { startTestServer, stopAllTestServers, type TestServer } from '../helpers/mariadb-server.js';

let server: TestServer;

// The session's own count, this statement included.
const QUESTIONS = "SELECT VARIABLE_VALUE AS n FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'QUESTIONS'";

beforeAll(async () => {
  // latin1 by default, as many an external server is: a connector that wants utf8mb4 and did not say
  // so in the handshake has to send SET NAMES after login.
  server = await startTestServer({
    name: 'round-trips',
    args: ['--character-set-server=latin1', '--collation-server=latin1_swedish_ci'],
  });
  await server.query('CREATE DATABASE orders');
  await server.query('CREATE DATABASE customers');
});

afterAll(async () => {
  await stopAllTestServers();
});

const target = () => ({ server: 'shared', host: '127.0.0.1', port: server.port, user: 'root', password: '' });

describe('round trips counted by the server', () => {
  it('an admin session sends no statement of its own after login, and talks utf8mb4', async () => {
    const session = await connectAdmin(target());
    try {
      const [row] = await session.query<{ n: string }>(QUESTIONS);
      // 1 = this query alone; a SET NAMES after login would make it 2.
      expect(Number(row?.n)).toBe(1);
      const [cs] = await session.query<{ client: string; results: string; conn: string }>(
        'SELECT @@character_set_client AS client, @@character_set_results AS results, @@collation_connection AS conn',
      );
      expect(cs).toEqual({ client: 'utf8mb4', results: 'utf8mb4', conn: 'utf8mb4_unicode_ci' });
      // Non-ASCII text survives the round trip both ways.
      const [echo] = await session.query<{ s: string; n: number }>('SELECT ? AS s, CHAR_LENGTH(?) AS n', [
        'Zoë 日本 🚀',
        'Zoë 日本 🚀',
      ]);
      expect(echo).toEqual({ s: 'Zoë 日本 🚀', n: 8 });
    } finally {
      await session.close();
    }
  });

  it('status reads a server with one statement, and its figures are right', async () => {
    const fleet = fleetFromText(
      [
        'version: 1',
        'fleet: trips',
        'servers:',
        `  shared: { driver: external, host: 127.0.0.1, port: ${server.port}, admin: { user: root } }`,
        'services:',
        '  orders: { server: shared }',
        '  customers: { server: shared }',
        '  inventory: { server: shared }',
        '',
      ].join('\n'),
      'services.yaml',
    );
    const shared = fleet.servers.find((s) => s.name === 'shared')!;
    // A client of orders in the middle of a query, and an idle one of customers.
    const busy: Connection = await server.connect({ database: 'orders' });
    const idle: Connection = await server.connect({ database: 'customers' });
    const sleeping = busy.query('SELECT SLEEP(5)');
    const session = await connectAdmin(target());
    try {
      // The sleeping query has to be running before status looks.
      for (let i = 0; i < 50; i++) {
        const rows = await session.query<{ n: number }>(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = 'orders' AND COMMAND = 'Query'",
        );
        if (Number(rows[0]?.n) > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const before = Number((await session.query<{ n: string }>(QUESTIONS))[0]?.n);
      const health = await readHealth(session, fleet, shared);
      const after = Number((await session.query<{ n: string }>(QUESTIONS))[0]?.n);
      // readHealth's statements plus the second count itself.
      expect(after - before - 1).toBe(1);

      expect(health.version).toMatch(/^\d+\.\d+\.\d+-MariaDB/);
      const [uptime] = await server.query<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Uptime'");
      expect(Number(uptime?.Value) - health.uptimeSeconds).toBeGreaterThanOrEqual(0);
      expect(Number(uptime?.Value) - health.uptimeSeconds).toBeLessThanOrEqual(2);
      expect(health.threadsConnected).toBeGreaterThanOrEqual(3);
      const byService = Object.fromEntries(health.health.map((h) => [h.service, h]));
      expect(byService.orders).toMatchObject({ databaseExists: true, threadsConnected: 1, activeQueries: 1 });
      expect(byService.customers).toMatchObject({ databaseExists: true, threadsConnected: 1, activeQueries: 0 });
      expect(byService.inventory).toMatchObject({ databaseExists: false, threadsConnected: 0, activeQueries: 0 });
    } finally {
      await session.close();
      busy.destroy();
      await sleeping.catch(() => undefined);
      await idle.end();
    }
  });
});
