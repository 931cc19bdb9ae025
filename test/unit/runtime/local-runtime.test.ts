// Pure pieces of the local runtime: port allocation, server paths, service selection, option files,
// memory scale and version banners. No server needed.
import { describe, expect, it } from 'vitest';
import { parseMemoryScale } from '../../../src/commands/up.js';
import { fleetFromText } from '../../../src/config/from-text.js';
import { UsageError } from '../../../src/errors.js';
import { selectServers, serverLabel } from '../../../src/fleet/select.js';
import { versionText } from '../../../src/runtime/binaries.js';
import { clientOptionText, optionValue } from '../../../src/runtime/client-defaults.js';
import { serverFiles } from '../../../src/runtime/paths.js';
import { allocatePorts } from '../../../src/runtime/ports.js';

const fleet = fleetFromText(
  `version: 1
fleet: shop
servers:
  shared: { driver: local }
services:
  orders: {}
  customers: { port: 3400 }
  inventory: { server: shared }
  payments: { server: shared }
`,
  'services.yaml',
);

describe('allocatePorts', () => {
  it('keeps declared and recorded ports and hands out the first free unreserved ones from the base', async () => {
    const busy = new Set([3308]);
    const ports = await allocatePorts(
      [{ server: 'a' }, { server: 'b', declared: 3400 }, { server: 'c', recorded: 3307 }, { server: 'd' }],
      3307,
      [3309],
      async (p) => !busy.has(p),
    );
    expect(Object.fromEntries(ports)).toStrictEqual({ a: 3310, b: 3400, c: 3307, d: 3311 });
  });

  it('moves a stopped server off a recorded port that another program took, but keeps a running server on its own', async () => {
    const busy = new Set([3307, 3308]);
    const ports = await allocatePorts(
      [
        { server: 'stopped', recorded: 3307 },
        { server: 'running', recorded: 3308, running: true },
      ],
      3307,
      [],
      async (p) => !busy.has(p),
    );
    expect(Object.fromEntries(ports)).toStrictEqual({ stopped: 3309, running: 3308 });
  });

  it('prefers the declared port over a recorded one (services.yaml wins)', async () => {
    const ports = await allocatePorts([{ server: 'a', declared: 4000, recorded: 3307 }], 3307, [], async () => true);
    expect(ports.get('a')).toBe(4000);
  });
});

describe('serverFiles', () => {
  it('keeps everything under <stateDir>/servers/<name>', () => {
    const f = serverFiles('/srv/app/.dbps', 'orders');
    expect(f).toStrictEqual({
      dir: '/srv/app/.dbps/servers/orders',
      datadir: '/srv/app/.dbps/servers/orders/data',
      tmpdir: '/srv/app/.dbps/servers/orders/tmp',
      files: '/srv/app/.dbps/servers/orders/files',
      cnf: '/srv/app/.dbps/servers/orders/my.cnf',
      logError: '/srv/app/.dbps/servers/orders/error.log',
      pidFile: '/srv/app/.dbps/servers/orders/mysqld.pid',
      socket: '/srv/app/.dbps/servers/orders/mysqld.sock',
    });
  });

  it('moves the socket to a short, stable /tmp path when the natural one is too long', () => {
    const deep = `/home/someone/${'very-long-directory-name/'.repeat(4)}.dbps`;
    const a = serverFiles(deep, 'orders');
    expect(a.socket).toMatch(/^\/tmp\/dbps-[0-9a-f]{12}\/orders\.sock$/);
    expect(Buffer.byteLength(`${a.socket}.lock`)).toBeLessThanOrEqual(107);
    expect(serverFiles(deep, 'orders').socket).toBe(a.socket);
    expect(serverFiles(`${deep}2`, 'orders').socket).not.toBe(a.socket);
  });
});

describe('selectServers', () => {
  it('maps services to their servers without duplicates, in fleet order', () => {
    expect(selectServers(fleet, ['payments', 'orders', 'inventory']).map((s) => s.name)).toStrictEqual([
      'shared',
      'orders',
    ]);
    expect(selectServers(fleet, []).map((s) => s.name)).toStrictEqual(['shared', 'orders', 'customers']);
    expect(selectServers(fleet, ['shared']).map((s) => s.name)).toStrictEqual(['shared']);
  });

  it('rejects an unknown service with a suggestion (exit 2)', () => {
    expect(() => selectServers(fleet, ['ordres'])).toThrow(UsageError);
    expect(() => selectServers(fleet, ['ordres'])).toThrow('did you mean "orders"?');
  });

  it('labels shared servers with their services', () => {
    expect(fleet.servers.map(serverLabel)).toStrictEqual(['shared (inventory, payments)', 'orders', 'customers']);
  });
});

describe('client option files', () => {
  it('quotes values so quotes, backslashes, # and ; survive', () => {
    expect(optionValue('p"w#1; x\\y')).toBe('"p\\"w#1; x\\\\y"');
  });

  it('uses the socket or TCP explicitly', () => {
    expect(clientOptionText({ user: 'root', socket: '/tmp/s.sock' })).toBe(
      '[client]\nuser="root"\nsocket="/tmp/s.sock"\nprotocol=SOCKET\n',
    );
    expect(clientOptionText({ user: 'app', password: 'pw', host: '127.0.0.1', port: 3307 })).toBe(
      '[client]\nuser="app"\npassword="pw"\nhost="127.0.0.1"\nport=3307\nprotocol=TCP\n',
    );
  });
});

describe('parseMemoryScale', () => {
  it('flag beats env beats 1; nonsense is a usage error', () => {
    expect(parseMemoryScale('0.25', { DBPS_MEMORY_SCALE: '0.5' })).toBe(0.25);
    expect(parseMemoryScale(undefined, { DBPS_MEMORY_SCALE: '0.5' })).toBe(0.5);
    expect(parseMemoryScale(undefined, {})).toBe(1);
    for (const bad of ['0', '-1', 'half', '100']) expect(() => parseMemoryScale(bad, {})).toThrow(UsageError);
  });
});

describe('versionText', () => {
  it('reads mariadbd and mariadb-backup banners', () => {
    expect(versionText('mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)')).toBe(
      '10.11.19',
    );
    expect(versionText('mariadb-backup based on MariaDB server 10.11.19-MariaDB debian-linux-gnu (x86_64)')).toBe(
      '10.11.19',
    );
  });
});
