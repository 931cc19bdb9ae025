// A port that dbps picked for a server (no `port:` in services.yaml) is taken by another program while
// the server is stopped: the next `dbps up` moves the server to a free port and says so.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort } from '../helpers/local-fleet.js';

let fleet: LocalFleet;
let squatter: net.Server | undefined;

beforeAll(async () => {
  fleet = await createFleet(
    `version: 1\nfleet: pm\ndefaults: { basePort: ${randomBasePort()} }\nservices:\n  orders: { memory: 128M }\n`,
  );
  const up = await fleet.run(['up']);
  if (up.code !== 0) throw new Error(up.stderr);
});

afterAll(async () => {
  await new Promise((r) => (squatter ? squatter.close(r) : r(undefined)));
  await destroyAllFleets();
});

describe('a picked port taken while the server was stopped', () => {
  it('up moves the server to a free port, says so, and the server answers there', async () => {
    const old = fleet.state().servers.orders!.port;
    expect((await fleet.run(['down'])).code).toBe(0);
    squatter = net.createServer();
    await new Promise<void>((resolve) => squatter!.listen(old, '127.0.0.1', resolve));
    const up = await fleet.run(['up']);
    expect(up.code, up.stderr).toBe(0);
    const now = fleet.state().servers.orders!.port;
    expect(now).not.toBe(old);
    expect(up.stderr).toContain(`orders: port ${old} is now used by another program, so it moved to port ${now}`);
    const status = await fleet.run(['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`127.0.0.1:${now}`);
    const r = await fleet.run(['connect', 'orders', '--admin', '-e', 'SELECT @@port AS p']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(String(now));
  });
});
