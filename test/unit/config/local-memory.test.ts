// localMemory: what `dbps up` gives a local server on this machine instead of memory; every generated
// file (my.cnf, compose, Kubernetes) keeps memory.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { generatedFiles } from '../../../src/generate/files.js';
import { fleetOf } from '../../helpers/fleets.js';

const MiB = 1024 ** 2;

function issues(text: string): string[] {
  try {
    fleetOf(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.line}:${i.column} ${i.message}`);
    throw e;
  }
  return [];
}

describe('localMemory', () => {
  const fleet = fleetOf(
    'version: 1\nfleet: t\ndefaults: { localMemory: 384M }\nservers:\n  shared: { memory: 2G, localMemory: 256M }\n  big: { memory: 8G }\nservices:\n  a: { server: shared }\n  b: { server: big }\n  orders: { memory: 4G, localMemory: 512M }\n',
  );
  const server = (name: string) => fleet.servers.find((s) => s.name === name)!;

  it('resolves per server, per service instance and from defaults, beside memory', () => {
    expect(server('shared')).toMatchObject({ memoryBytes: 2048 * MiB, localMemoryBytes: 256 * MiB });
    expect(server('orders')).toMatchObject({ memoryBytes: 4096 * MiB, localMemoryBytes: 512 * MiB });
    expect(server('big')).toMatchObject({ memoryBytes: 8192 * MiB, localMemoryBytes: 384 * MiB });
    expect(fleetOf('version: 1\nfleet: t\nservices:\n  a: {}\n').servers[0]!.localMemoryBytes).toBeUndefined();
  });

  it('leaves every generated file on memory', async () => {
    const files = await generatedFiles(fleet, ['mycnf', 'compose', 'k8s']);
    const text = (p: string) => files.find((f) => f.path === p)!.content;
    expect(text('mycnf/orders.cnf')).toContain('innodb_buffer_pool_size = 2662M'); // 65 % of 4G
    expect(text('docker-compose.yml')).toContain('mem_limit: 4g');
    expect(text('k8s/shared.yaml')).toContain('memory: 2Gi');
  });

  it('is checked like memory, refused on external servers and on services that live on a shared server', () => {
    expect(issues('version: 1\nfleet: t\nservices:\n  a: { localMemory: 64M }\n')[0]).toMatch(
      /^4:21 memory 64M is too small/,
    );
    expect(
      issues(
        'version: 1\nfleet: t\nservers:\n  x: { driver: external, host: h, admin: { user: u }, localMemory: 1G }\nservices:\n  a: { server: x }\n',
      )[0],
    ).toMatch(/"localMemory:" is only for driver: local/);
    expect(
      issues('version: 1\nfleet: t\nservers:\n  s: {}\nservices:\n  a: { server: s, localMemory: 1G }\n')[0],
    ).toMatch(/"localMemory" belongs to server "s"/);
  });
});
