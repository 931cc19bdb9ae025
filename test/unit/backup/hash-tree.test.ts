// hashTree and hashTreeEarly: the per-file sha256 list of a backup, hashed on worker threads. An early
// hash taken while a writer still changes the files (as mariadb-backup --prepare does) must end with
// exactly the lines of a hash taken afterwards.
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFile,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { changedFiles, hashTree, hashTreeEarly } from '../../../src/backup/files.js';
import { HashPool } from '../../../src/backup/hash-pool.js';

const MiB = 1024 * 1024;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'dbps-hash-tree-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function listAll(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listAll(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

/**
 * The lines, made the plain way: Node's sha256 of each whole file as it is now; for a file over 4 MiB,
 * the sha256 of the sha256 digests of its 4 MiB chunks, in the tagged form.
 */
async function expectedLines(dir: string): Promise<string> {
  let text = '';
  for (const f of await listAll(dir)) {
    const data = await readFile(path.join(dir, f));
    if (data.length <= 4 * MiB) text += `${createHash('sha256').update(data).digest('hex')}  ${f}\n`;
    else {
      const digests: Buffer[] = [];
      for (let at = 0; at < data.length; at += 4 * MiB)
        digests.push(
          createHash('sha256')
            .update(data.subarray(at, at + 4 * MiB))
            .digest(),
        );
      text += `SHA256-4MiB-CHUNKS (${f}) = ${createHash('sha256').update(Buffer.concat(digests)).digest('hex')}\n`;
    }
  }
  return text;
}

async function writeAt(file: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.write(data, 0, data.length, offset);
  } finally {
    await fh.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hashTree', () => {
  it('lists every file with its sha256, sorted, and checksums the list', async () => {
    const dir = await mkdtemp(path.join(root, 'plain-'));
    const files: Record<string, Buffer> = {
      ibdata1: Buffer.alloc(3 * MiB + 17, 7),
      'orders/t.ibd': Buffer.from('orders table'),
      'my@002ddb/t.frm': Buffer.from('encoded name'),
      '-starts-with-dash': Buffer.from('not an option'),
      'name with spaces': Buffer.from('spaces'),
      empty: Buffer.alloc(0),
    };
    for (const [name, data] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), data);
    }
    const tree = await hashTree(dir);
    const expected = await expectedLines(dir);
    expect(tree.lines).toBe(expected);
    expect(tree.checksum).toBe(createHash('sha256').update(expected).digest('hex'));
  });
});

describe('hashTreeEarly', () => {
  let pool: HashPool;
  beforeEach(() => {
    pool = new HashPool(2);
  });
  afterEach(async () => {
    await pool.close();
  });

  async function tree(name: string): Promise<string> {
    const dir = await mkdtemp(path.join(root, `${name}-`));
    await mkdir(path.join(dir, 'db'));
    // 4 MiB chunks: files of many chunks, one ending mid-chunk, and small ones.
    await writeFile(path.join(dir, 'db/big.ibd'), randomBytes(13 * MiB + 5));
    await writeFile(path.join(dir, 'db/even.ibd'), randomBytes(8 * MiB));
    await writeFile(path.join(dir, 'ibdata1'), randomBytes(MiB));
    await writeFile(path.join(dir, 'ib_logfile0'), randomBytes(4096));
    await writeFile(path.join(dir, 'xtrabackup_checkpoints'), 'backup_type = full-backuped\n');
    await writeFile(path.join(dir, 'gone.frm'), 'dropped');
    return dir;
  }

  it('ends with the lines of the files as the writer left them: rewritten in place, grown, shrunk, new, removed', async () => {
    const dir = await tree('writer');
    // Files written just now are not quiet: wait so some early hashes are kept unread, as after a copy.
    await sleep(80);
    const early = hashTreeEarly(dir, pool);
    // The writer: changes while the early hashes run and after they are done.
    await writeAt(path.join(dir, 'db/big.ibd'), 12 * MiB + 100, randomBytes(16384)); // the last chunk
    await sleep(30);
    await writeAt(path.join(dir, 'db/big.ibd'), 5 * MiB, randomBytes(16384)); // a middle chunk
    await writeAt(path.join(dir, 'db/even.ibd'), 0, randomBytes(10)); // the first chunk
    await appendFile(path.join(dir, 'ibdata1'), randomBytes(3 * MiB)); // grown
    await writeFile(path.join(dir, 'ib_logfile0'), randomBytes(4096)); // same size, new bytes
    await writeFile(path.join(dir, 'xtrabackup_checkpoints'), 'backup_type = full-prepared\n');
    await writeFile(path.join(dir, 'xtrabackup_binlog_pos_innodb'), 'bin.000002\t4\n');
    await unlink(path.join(dir, 'gone.frm'));
    await sleep(200);
    await truncate(path.join(dir, 'db/even.ibd'), 4 * MiB); // shrunk to one chunk
    const got = await early.settle();
    const expected = await expectedLines(dir);
    expect(got.lines).toBe(expected);
    expect(got.checksum).toBe(createHash('sha256').update(expected).digest('hex'));
  });

  it('keeps the early hashes of files nobody wrote, and hashes every one again when all changed', async () => {
    const dir = await tree('untouched');
    await sleep(80);
    const early = hashTreeEarly(dir, pool);
    expect((await early.settle()).lines).toBe(await expectedLines(dir));
    // A second pass over the same files after every byte of every file changed.
    const again = hashTreeEarly(dir, pool);
    await sleep(50);
    for (const f of await listAll(dir)) {
      const p = path.join(dir, f);
      await writeFile(p, randomBytes((await stat(p)).size));
    }
    expect((await again.settle()).lines).toBe(await expectedLines(dir));
  });

  it('sees a rewritten page that carries its own CRC-32 (as Aria pages do), whose CRC-32 as a whole is unchanged', async () => {
    // A page = bytes + their CRC-32: any two such pages of one length have the same CRC-32.
    const page = () => {
      const body = randomBytes(16380);
      const crc = Buffer.alloc(4);
      crc.writeUInt32LE(crc32(body));
      return Buffer.concat([body, crc]);
    };
    const [before, after] = [page(), page()];
    expect(crc32(after)).toBe(crc32(before));
    const dir = await mkdtemp(path.join(root, 'crc-'));
    const file = path.join(dir, 'global_priv.MAD');
    await writeFile(file, Buffer.concat([before, before]));
    await sleep(80);
    const early = hashTreeEarly(dir, pool);
    await sleep(50);
    await writeAt(file, 16384, after);
    expect((await early.settle()).lines).toBe(await expectedLines(dir));
  });

  it('digests again only the chunk a writer changed, wherever it is in the file (not the rest of the file after it)', async () => {
    const dir = await mkdtemp(path.join(root, 'one-chunk-'));
    const file = path.join(dir, 'big.ibd');
    await writeFile(file, randomBytes(13 * MiB + 5));
    await sleep(80);
    const early = hashTreeEarly(dir, pool);
    await sleep(300); // the early hash of 13 MiB is done by now (a few ms)
    await writeAt(file, 4 * MiB + 4096, randomBytes(16384)); // the second of four chunks, as prepare writes a page
    const got = await early.settle();
    expect(got.lines).toBe(await expectedLines(dir));
    // A whole-file sha256 would have to be taken again from that chunk to the end: 9 MiB.
    expect(got.finalBytes).toBe(4 * MiB);
  });

  it('stop() waits for the running hashes and leaves nothing kept for a later set', async () => {
    const dir = await tree('stopped');
    const early = hashTreeEarly(dir, pool);
    await early.stop();
    await writeAt(path.join(dir, 'db/big.ibd'), 0, randomBytes(100));
    expect((await hashTree(dir, pool)).lines).toBe(await expectedLines(dir));
  });
});

describe('changedFiles', () => {
  it('checks chunked and plain lines, including a plain line of a big file from a list made before chunks', async () => {
    const dir = await mkdtemp(path.join(root, 'verify-'));
    await writeFile(path.join(dir, 'big.ibd'), randomBytes(9 * MiB));
    await writeFile(path.join(dir, 'old-big.ibd'), randomBytes(5 * MiB));
    await writeFile(path.join(dir, 'small.frm'), 'frm');
    const lines = await expectedLines(dir);
    expect(lines).toMatch(/^SHA256-4MiB-CHUNKS \(big\.ibd\) = [0-9a-f]{64}$/m);
    // The list an older dbps wrote: every file's plain sha256, whatever its size.
    const oldLine = `${createHash('sha256')
      .update(await readFile(path.join(dir, 'old-big.ibd')))
      .digest('hex')}  old-big.ibd\n`;
    const list = lines.replace(/^SHA256-4MiB-CHUNKS \(old-big\.ibd\).*\n/m, oldLine);
    expect(list).toContain(oldLine);
    expect(await changedFiles(dir, list)).toStrictEqual([]);
    // One byte in the middle chunk of each big file, and a missing small file.
    await writeAt(path.join(dir, 'big.ibd'), 6 * MiB, Buffer.from([1, 2, 3]));
    await writeAt(path.join(dir, 'old-big.ibd'), 3 * MiB, Buffer.from([1, 2, 3]));
    await unlink(path.join(dir, 'small.frm'));
    expect((await changedFiles(dir, list)).sort()).toStrictEqual(['big.ibd', 'old-big.ibd', 'small.frm']);
  });

  it('a chunked line is not satisfied by a file of one chunk, whose checksum is its plain sha256', async () => {
    const dir = await mkdtemp(path.join(root, 'forms-'));
    const file = path.join(dir, 'f.ibd');
    await writeFile(file, randomBytes(4 * MiB));
    const small = await expectedLines(dir);
    // The same 64 hex digits under the other form.
    const hex = small.slice(0, 64);
    expect(await changedFiles(dir, `SHA256-4MiB-CHUNKS (f.ibd) = ${hex}\n`)).toStrictEqual(['f.ibd']);
    expect(await changedFiles(dir, small)).toStrictEqual([]);
  });
});

describe('chunks remembered from the last set (seeds)', () => {
  const key = randomBytes(28);

  async function set(name: string, big: Buffer): Promise<string> {
    const dir = await mkdtemp(path.join(root, `${name}-`));
    await mkdir(path.join(dir, 'db'));
    await writeFile(path.join(dir, 'db/big.ibd'), big);
    return dir;
  }

  async function withPool<T>(k: Uint8Array, f: (p: HashPool) => Promise<T>): Promise<T> {
    const p = new HashPool(2, k);
    try {
      return await f(p);
    } finally {
      await p.close();
    }
  }

  it('digests only the chunks that changed since the last set, and ends with the lines of the files as they are', async () => {
    const data = randomBytes(13 * MiB + 5);
    const before = await set('seed-a', data);
    const first = await withPool(key, (p) => hashTree(before, p, new Map()));
    expect(first.chunks.get('db/big.ibd')).toHaveLength(4);
    // The next set: the same file in another directory, its third chunk changed.
    const changed = Buffer.from(data);
    randomBytes(16384).copy(changed, 8 * MiB + 4096);
    const dir = await set('seed-b', changed);
    const second = await withPool(key, (p) => hashTree(dir, p, first.chunks));
    expect(second.lines).toBe(await expectedLines(dir));
    expect(second.finalBytes).toBe(4 * MiB);
    // What the next set will take digests from: this set's chunks, the changed one included.
    expect(second.chunks.get('db/big.ibd')!.map((c) => Buffer.from(c.digest).toString('hex'))).toEqual(
      [0, 1, 2, 3].map((i) =>
        createHash('sha256')
          .update(changed.subarray(i * 4 * MiB, (i + 1) * 4 * MiB))
          .digest('hex'),
      ),
    );
  });

  it('takes nothing from chunks fingerprinted under another key, nor from chunks of another length', async () => {
    const data = randomBytes(9 * MiB);
    const before = await set('seed-c', data);
    const first = await withPool(key, (p) => hashTree(before, p, new Map()));
    const dir = await set('seed-d', data);
    const otherKey = await withPool(randomBytes(28), (p) => hashTree(dir, p, first.chunks));
    expect(otherKey.lines).toBe(await expectedLines(dir));
    expect(otherKey.finalBytes).toBe(9 * MiB);
    // The last chunk is 1 MiB: the same bytes plus one more is another chunk.
    const longer = await set('seed-e', Buffer.concat([data, Buffer.from([1])]));
    const grown = await withPool(key, (p) => hashTree(longer, p, first.chunks));
    expect(grown.lines).toBe(await expectedLines(longer));
    expect(grown.finalBytes).toBe(MiB + 1);
  });

  it('an early hash takes the seeds too, and settles on what the writer left', async () => {
    const data = randomBytes(13 * MiB + 5);
    const before = await set('seed-f', data);
    const first = await withPool(key, (p) => hashTree(before, p, new Map()));
    const dir = await set('seed-g', data);
    await sleep(80);
    const got = await withPool(key, async (p) => {
      const early = hashTreeEarly(dir, p, first.chunks);
      await sleep(300);
      await writeAt(path.join(dir, 'db/big.ibd'), 12 * MiB + 100, randomBytes(500)); // the last chunk
      return early.settle();
    });
    expect(got.lines).toBe(await expectedLines(dir));
    // The early hash digested nothing (every chunk was remembered); settling, only the written chunk.
    expect(got.finalBytes).toBe(MiB + 5);
  });
});

describe('HashPool.hashInParts', () => {
  it('gives what one hash of the whole file gives, for every size and number of parts', async () => {
    const dir = await mkdtemp(path.join(root, 'parts-'));
    const pool = new HashPool(3);
    try {
      for (const size of [0, 100, 4 * MiB, 4 * MiB + 1, 8 * MiB, 13 * MiB + 5, 16 * MiB]) {
        const file = path.join(dir, `f${size}`);
        await writeFile(file, randomBytes(size));
        const whole = await pool.hash(file, { seeds: [] });
        for (const parts of [1, 2, 3, 8]) {
          const got = await pool.hashInParts(file, { parts, seeds: [] });
          expect([size, parts, got.sha256, got.chunked, got.hashedBytes]).toEqual([
            size,
            parts,
            whole.sha256,
            whole.chunked,
            size,
          ]);
          expect(got.chunks?.map((c) => Buffer.from(c.digest).toString('hex'))).toEqual(
            whole.chunks?.map((c) => Buffer.from(c.digest).toString('hex')),
          );
        }
      }
    } finally {
      await pool.close();
    }
  });
});
