// hashTree: the per-file sha256 list of a backup, made by openssl, sha256sum or Node's own hash,
// whichever the machine has. Each way must give the same lines as Node's hash of every file.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashTree } from '../../../src/backup/files.js';

let dir: string;
let expected: string;
const FILES: Record<string, Buffer> = {
  ibdata1: Buffer.alloc(3 * 1024 * 1024 + 17, 7),
  'orders/t.ibd': Buffer.from('orders table'),
  'my@002ddb/t.frm': Buffer.from('encoded name'),
  '-starts-with-dash': Buffer.from('not an option'),
  'name with spaces': Buffer.from('spaces'),
  empty: Buffer.alloc(0),
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-hash-tree-'));
  for (const [name, data] of Object.entries(FILES)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), data);
  }
  expected = Object.keys(FILES)
    .sort()
    .map((f) => `${createHash('sha256').update(FILES[f]!).digest('hex')}  ${f}\n`)
    .join('');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withPath<T>(value: string, f: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = value;
  try {
    return await f();
  } finally {
    process.env.PATH = saved;
  }
}

describe('hashTree', () => {
  it('lists every file with its sha256, sorted, and checksums the list', async () => {
    const tree = await hashTree(dir);
    expect(tree.lines).toBe(expected);
    expect(tree.checksum).toBe(createHash('sha256').update(expected).digest('hex'));
  });

  it('gives the same lines with sha256sum only, and with no hashing program at all', async () => {
    // A PATH holding only sha256sum (a link to it), then an empty one.
    const only = await mkdtemp(path.join(os.tmpdir(), 'dbps-hash-path-'));
    try {
      const { symlink } = await import('node:fs/promises');
      const { execFileSync } = await import('node:child_process');
      await symlink(
        execFileSync('sh', ['-c', 'command -v sha256sum'], { encoding: 'utf8' }).trim(),
        path.join(only, 'sha256sum'),
      );
      expect((await withPath(only, () => hashTree(dir))).lines).toBe(expected);
      expect((await withPath(path.join(only, 'none'), () => hashTree(dir))).lines).toBe(expected);
    } finally {
      await rm(only, { recursive: true, force: true });
    }
  });
});
