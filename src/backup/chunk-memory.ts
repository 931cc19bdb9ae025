// The chunks of each server's last backup, remembered in the state dir's cache, so that the next set
// digests again only the chunks that changed since.
//
// Why: a steady-state backup copies mostly the bytes the last one did, and its checksums are SHA-256 of
// every byte (1.5 GB/s per core here, the CPU a backup of 1.6 GB spends beyond the copy itself). A
// chunk's fingerprint (GMAC, hash-pool.ts: 5.5 GB/s with its read) under the key kept here recognises
// a chunk whose digest is already known. Same length and fingerprint mean the same bytes: for data
// chosen without the key, two different chunks share a tag with a chance below 2^-100.
//
// Safety: the key and the tags are as secret as the data they fingerprint. The file is written 0600
// in the 0700 state dir, and read only when it is this user's regular file that nobody else may read
// or write; otherwise, or when it is damaged (its first line is the sha256 of the rest), it is
// ignored: a fresh key, and every chunk digested. A wrong memory can only cost time, or make a
// checksum disagree with its file, which `backups verify` and restore report; it can never make a
// changed file pass.
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { ChunkDigest } from './hash-pool.js';

export interface ChunkMemory {
  /** The fingerprints' key (28 bytes: hash-pool.ts). */
  key: Uint8Array;
  /** server -> path under its backup directory -> the file's chunks in order. */
  servers: Map<string, Map<string, ChunkDigest[]>>;
}

const FILE = 'backup-chunks.json';
const RECORD = 4 + 16 + 32;

/** A memory with a fresh key and nothing remembered. */
export function freshChunkMemory(): ChunkMemory {
  return { key: randomBytes(28), servers: new Map() };
}

function packChunks(chunks: ChunkDigest[]): string {
  const buf = Buffer.alloc(chunks.length * RECORD);
  chunks.forEach((c, i) => {
    buf.writeUInt32LE(c.len, i * RECORD);
    buf.set(c.tag, i * RECORD + 4);
    buf.set(c.digest, i * RECORD + 20);
  });
  return buf.toString('base64');
}

function unpackChunks(text: string): ChunkDigest[] | undefined {
  const buf = Buffer.from(text, 'base64');
  if (buf.length % RECORD !== 0) return undefined;
  const out: ChunkDigest[] = [];
  for (let at = 0; at < buf.length; at += RECORD)
    out.push({
      len: buf.readUInt32LE(at),
      tag: buf.subarray(at + 4, at + 20),
      digest: buf.subarray(at + 20, at + RECORD),
    });
  return out;
}

/** The file's text: the sha256 of the JSON, a newline, the JSON. */
export function encodeChunkMemory(memory: ChunkMemory): string {
  const servers: Record<string, Record<string, string>> = {};
  for (const [server, files] of memory.servers) {
    servers[server] = {};
    for (const [file, chunks] of files) servers[server][file] = packChunks(chunks);
  }
  const json = JSON.stringify({ version: 1, key: Buffer.from(memory.key).toString('base64'), servers });
  return `${createHash('sha256').update(json).digest('hex')}\n${json}`;
}

/** The memory a file's text holds, or undefined when it is damaged or of another version. */
export function decodeChunkMemory(text: string): ChunkMemory | undefined {
  const nl = text.indexOf('\n');
  if (nl !== 64) return undefined;
  const json = text.slice(nl + 1);
  if (createHash('sha256').update(json).digest('hex') !== text.slice(0, nl)) return undefined;
  let doc: { version?: unknown; key?: unknown; servers?: unknown };
  try {
    doc = JSON.parse(json) as typeof doc;
  } catch {
    return undefined;
  }
  if (doc.version !== 1 || typeof doc.key !== 'string' || !doc.servers || typeof doc.servers !== 'object')
    return undefined;
  const key = Buffer.from(doc.key, 'base64');
  if (key.length !== 28) return undefined;
  const servers = new Map<string, Map<string, ChunkDigest[]>>();
  for (const [server, files] of Object.entries(doc.servers as Record<string, unknown>)) {
    if (!files || typeof files !== 'object') return undefined;
    const byFile = new Map<string, ChunkDigest[]>();
    for (const [file, packed] of Object.entries(files as Record<string, unknown>)) {
      const chunks = typeof packed === 'string' ? unpackChunks(packed) : undefined;
      if (!chunks) return undefined;
      byFile.set(file, chunks);
    }
    servers.set(server, byFile);
  }
  return { key, servers };
}

/** The remembered chunks in cacheDir, or a fresh memory when there are none that may be trusted. */
export async function readChunkMemory(cacheDir: string): Promise<ChunkMemory> {
  const file = path.join(cacheDir, FILE);
  try {
    const st = await lstat(file);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) return freshChunkMemory();
    return decodeChunkMemory(await readFile(file, 'utf8')) ?? freshChunkMemory();
  } catch {
    return freshChunkMemory(); // none yet, or unreadable
  }
}

/**
 * Writes the memory to cacheDir (0600, replaced at once). Only a backup writes it, under the fleet
 * lock: a temp file of an earlier write is one a killed backup left, and is removed first.
 */
export async function writeChunkMemory(cacheDir: string, memory: ChunkMemory): Promise<void> {
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  for (const name of await readdir(cacheDir))
    if (name.startsWith(`${FILE}.tmp-`)) await rm(path.join(cacheDir, name), { force: true });
  await writeFileAtomic(path.join(cacheDir, FILE), encodeChunkMemory(memory), { mode: 0o600 });
}
