// The cache of mariadb-backup's version: asked once per binary, asked again when the binary is another
// file or was rewritten, and never trusted when it cannot be read.
import { chmod, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedToolVersion } from '../../../src/backup/tool-version-cache.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-tool-version-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function counter(version: string) {
  const asked = { n: 0 };
  const ask = async () => {
    asked.n++;
    return version;
  };
  return { asked, ask };
}

describe('cachedToolVersion', () => {
  it('asks once for a binary, then answers from the cache', async () => {
    const bin = path.join(dir, 'mariadb-backup');
    await writeFile(bin, '#!/bin/sh\n');
    const cache = path.join(dir, 'cache-a');
    const { asked, ask } = counter('11.8.3');
    expect(await cachedToolVersion(cache, bin, ask)).toBe('11.8.3');
    expect(await cachedToolVersion(cache, bin, ask)).toBe('11.8.3');
    expect(asked.n).toBe(1);
  });

  it('asks again when the binary was rewritten or replaced (an upgrade), even with the same size and mtime', async () => {
    const bin = path.join(dir, 'mariadb-backup-2');
    await writeFile(bin, '#!/bin/sh\n');
    const cache = path.join(dir, 'cache-b');
    const first = counter('10.11.9');
    expect(await cachedToolVersion(cache, bin, first.ask)).toBe('10.11.9');
    // Same bytes' length, the old mtime put back: only ctime tells.
    await new Promise((r) => setTimeout(r, 20));
    await writeFile(bin, '#!/bin/s\n\n');
    await utimes(bin, new Date(0), new Date(0));
    const second = counter('10.11.10');
    expect(await cachedToolVersion(cache, bin, second.ask)).toBe('10.11.10');
    expect(second.asked.n).toBe(1);
    // A chmod changes ctime too: asked again, and the answer is cached under the new identity.
    await chmod(bin, 0o755);
    const third = counter('10.11.10');
    await cachedToolVersion(cache, bin, third.ask);
    await cachedToolVersion(cache, bin, third.ask);
    expect(third.asked.n).toBe(1);
  });

  it('a cache that is not JSON, or holds no version, is asked past; no cache dir always asks', async () => {
    const bin = path.join(dir, 'mariadb-backup-3');
    await writeFile(bin, '#!/bin/sh\n');
    const cache = path.join(dir, 'cache-c');
    const a = counter('11.4.2');
    await cachedToolVersion(cache, bin, a.ask);
    await writeFile(path.join(cache, 'tool-versions.json'), '{"');
    expect(await cachedToolVersion(cache, bin, a.ask)).toBe('11.4.2');
    await writeFile(path.join(cache, 'tool-versions.json'), JSON.stringify({ [bin]: { id: 'x', version: 'evil' } }));
    expect(await cachedToolVersion(cache, bin, a.ask)).toBe('11.4.2');
    expect(a.asked.n).toBe(3);
    const b = counter('11.4.2');
    await cachedToolVersion(undefined, bin, b.ask);
    await cachedToolVersion(undefined, bin, b.ask);
    expect(b.asked.n).toBe(2);
  });
});
