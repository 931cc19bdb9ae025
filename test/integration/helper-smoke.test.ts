import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, stopAllTestServers } from '../helpers/mariadb-server.js';

afterAll(stopAllTestServers);

describe('throwaway mariadbd helper', () => {
  it('starts a server on its own port and stops it', async () => {
    const s = await startTestServer({ name: 'smoke' });
    expect(s.port).not.toBe(3306);
    const rows = await s.query<{ v: string }>('SELECT VERSION() AS v');
    expect(rows[0]!.v).toMatch(/MariaDB/);
    await s.stop();
    await expect(s.query('SELECT 1')).rejects.toThrow();
  });
});
