// Advice for servers that do not answer: `dbps up` only for local servers; an external server that
// refused the admin login points at the admin user and its passwordEnv. dbps reads no .env file.
import { describe, expect, it } from 'vitest';
import type { StatusResult } from '../../../src/commands/status.js';
import type { FleetServer } from '../../../src/fleet/model.js';
import { adminTarget } from '../../../src/runtime/admin.js';
import { noPaint } from '../../../src/ui/paint.js';
import { statusText } from '../../../src/ui/render/fleet-runtime.js';

function status(servers: Partial<StatusResult['servers'][number]>[]): StatusResult {
  const full = servers.map((s) => ({
    server: 'x',
    driver: 'local' as const,
    services: ['svc'],
    host: '127.0.0.1',
    state: 'unreachable' as const,
    shouldRun: true,
    health: [],
    ...s,
  }));
  return { command: 'status', fleet: 'f', servers: full, down: full.map((s) => s.server), outcome: 'failed' };
}

describe('status advice', () => {
  it('tells an external server that refused the admin login to check its admin user and passwordEnv, not to run dbps up', () => {
    const text = statusText(
      status([
        {
          server: 'legacy',
          driver: 'external',
          detail: 'server "legacy": access denied for admin user root at 127.0.0.1:3310',
        },
      ]),
      noPaint,
    );
    expect(text).not.toContain('dbps up');
    expect(text).toMatch(/external server legacy: it refused dbps's admin login; check .*admin\.user.*passwordEnv/);
  });

  it('tells an unreachable external server to check host and port, and a stopped local one to run dbps up', () => {
    const text = statusText(
      status([
        {
          server: 'legacy',
          driver: 'external',
          detail: 'server "legacy" is not reachable at 127.0.0.1:1 (ECONNREFUSED)',
        },
        { server: 'orders', driver: 'local', state: 'crashed', detail: 'pid 1 is gone' },
      ]),
      noPaint,
    );
    expect(text).toContain('1 local server should be running but is not: orders; run `dbps up`');
    expect(text).toMatch(/external server legacy: dbps does not start external servers; check that it runs/);
  });
});

describe('admin password variable', () => {
  const server = {
    name: 'legacy',
    driver: 'external',
    host: 'db',
    port: 3306,
    services: [],
    admin: { user: 'root', passwordEnv: 'LEGACY_PW' },
  } as unknown as FleetServer;

  it('counts an empty value as unset and does not promise that .env is read', async () => {
    for (const env of [{}, { LEGACY_PW: '' }]) {
      const e = await adminTarget({} as never, server, '/nonexistent', env).catch(
        (x: unknown) => x as Error & { hint?: string },
      );
      expect(e).toBeInstanceOf(Error);
      expect((e as Error).message).toMatch(/LEGACY_PW \(admin password\) is (not set|empty)/);
      expect((e as { hint?: string }).hint).not.toMatch(/\.env/);
    }
    await expect(adminTarget({} as never, server, '/nonexistent', { LEGACY_PW: 's' })).resolves.toMatchObject({
      user: 'root',
      password: 's',
    });
  });
});
