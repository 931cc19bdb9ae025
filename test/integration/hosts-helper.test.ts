// The simulated-hosts helper itself: servers on their own addresses in their own namespaces, reached
// from the bridge as remote clients, hangs that look like hangs, and nothing left after destroy().
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHosts, type HostNetwork } from '../helpers/hosts.js';

let net: HostNetwork;

beforeAll(async () => {
  net = await createHosts(2);
});
afterAll(async () => {
  await net?.destroy();
});

describe('simulated hosts', () => {
  it('each host serves on its own address, and clients arrive from the gateway address', async () => {
    for (const host of net.hosts) {
      const c = await host.connectTcp();
      try {
        const [row] = await c.query("SELECT @@bind_address AS bind, SUBSTRING_INDEX(USER(), '@', -1) AS client");
        expect(row.bind).toBe(host.address);
        expect(row.client).toBe(net.gateway);
      } finally {
        await c.end();
      }
    }
    expect(net.hosts[0]!.address).not.toBe(net.hosts[1]!.address);
  });

  it('a frozen host accepts the TCP connection and never answers; thawed, it answers again', async () => {
    const host = net.hosts[1]!;
    host.freeze();
    const began = Date.now();
    await expect(host.connectTcp({ connectTimeout: 1500 })).rejects.toThrow();
    expect(Date.now() - began).toBeGreaterThanOrEqual(1400);
    host.thaw();
    const c = await host.connectTcp();
    await c.end();
  });

  it('destroy() removes the namespaces and the bridge', async () => {
    const extra = await createHosts(1);
    const ns = extra.hosts[0]!.netns;
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(ns);
    await extra.destroy();
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(ns);
  });
});
