// The chunks remembered from one backup set to the next: what is written is what is read back, and a
// memory that is damaged, of another version, or that another user could read or write is not used.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChunkMemory,
  decodeChunkMemory,
  encodeChunkMemory,
  freshChunkMemory,
  readChunkMemory,
  writeChunkMemory,
} from '../../../src/backup/chunk-memory.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'dbps-chunk-memory-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function sample(): ChunkMemory {
  const m = freshChunkMemory();
  const chunk = (len: number) => ({ len, tag: randomBytes(16), digest: randomBytes(32) });
  m.servers.set('orders', new Map([['orders/big.ibd', [chunk(4 << 20), chunk(4 << 20), chunk(17)]]]));
  m.servers.set('shared', new Map([['ibdata1', [chunk(4 << 20), chunk(1)]]]));
  return m;
}

function plain(m: ChunkMemory) {
  return {
    key: Buffer.from(m.key).toString('hex'),
    servers: [...m.servers].map(([s, files]) => [
      s,
      [...files].map(([f, chunks]) => [
        f,
        chunks.map((c) => [c.len, Buffer.from(c.tag).toString('hex'), Buffer.from(c.digest).toString('hex')]),
      ]),
    ]),
  };
}

describe('chunk memory', () => {
  it('reads back what it wrote', () => {
    const m = sample();
    expect(plain(decodeChunkMemory(encodeChunkMemory(m))!)).toEqual(plain(m));
  });

  it('is not used when damaged or of another version', () => {
    const text = encodeChunkMemory(sample());
    const json = text.slice(65);
    // One character of the JSON changed, the checksum line left as it was.
    const flipped = `${text.slice(0, 65)}${json.replace(/"orders"/, '"orderz"')}`;
    expect(decodeChunkMemory(flipped)).toBeUndefined();
    expect(decodeChunkMemory(text.slice(0, -10))).toBeUndefined();
    expect(decodeChunkMemory('')).toBeUndefined();
    // Well formed, with a valid checksum line, but another version or a short key.
    const resign = (doc: unknown) => {
      const j = JSON.stringify(doc);
      return `${createHash('sha256').update(j).digest('hex')}\n${j}`;
    };
    const doc = JSON.parse(json) as { version: number; key: string };
    expect(decodeChunkMemory(resign({ ...doc, version: 2 }))).toBeUndefined();
    expect(decodeChunkMemory(resign({ ...doc, key: Buffer.alloc(16).toString('base64') }))).toBeUndefined();
    expect(decodeChunkMemory(resign(doc))).toBeDefined();
  });

  it('is written 0600 and read back; a missing one is a fresh memory', async () => {
    const dir = path.join(root, 'cache-a');
    const none = await readChunkMemory(dir);
    expect(none.key).toHaveLength(28);
    expect(none.servers.size).toBe(0);
    const m = sample();
    await writeChunkMemory(dir, m);
    const st = await lstat(path.join(dir, 'backup-chunks.json'));
    expect(st.mode & 0o777).toBe(0o600);
    expect(plain(await readChunkMemory(dir))).toEqual(plain(m));
    // A temp file a killed backup left is removed by the next write.
    await writeFile(path.join(dir, 'backup-chunks.json.tmp-123-abcd'), 'half', { mode: 0o600 });
    await writeChunkMemory(dir, m);
    expect((await readdir(dir)).sort()).toEqual(['backup-chunks.json']);
  });

  it('is not used when another user could read or write it, or when it is a symlink', async () => {
    const dir = path.join(root, 'cache-b');
    const m = sample();
    await writeChunkMemory(dir, m);
    const file = path.join(dir, 'backup-chunks.json');
    await chmod(file, 0o640);
    const readable = await readChunkMemory(dir);
    expect(Buffer.from(readable.key).equals(Buffer.from(m.key))).toBe(false);
    expect(readable.servers.size).toBe(0);
    await chmod(file, 0o600);
    expect(plain(await readChunkMemory(dir))).toEqual(plain(m));
    // A symlink to a good file elsewhere is not followed.
    const other = path.join(root, 'cache-c');
    await writeChunkMemory(other, m);
    const text = await readFile(path.join(other, 'backup-chunks.json'), 'utf8');
    await rm(file);
    await symlink(path.join(other, 'backup-chunks.json'), file);
    expect((await readChunkMemory(dir)).servers.size).toBe(0);
    await rm(file);
    await writeFile(file, text, { mode: 0o600 });
    expect(plain(await readChunkMemory(dir))).toEqual(plain(m));
  });
});
