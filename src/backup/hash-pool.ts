// Checksums of backup files on worker threads: several servers' files use every core instead of
// queueing on Node's main thread, with Node's OpenSSL SHA-256 (the CPU's SHA instructions) in 4 MiB
// reads and no child process per file.
//
// A file of one chunk (4 MiB) or less is checksummed by its plain sha256, as `sha256sum` prints it. A
// larger file by the sha256 of its chunks' sha256 digests in order (CHUNKED_TAG, see files.ts): each
// chunk then has a digest of its own, so a file that changes in a few places is digested again only
// there. That is what a backup needs: mariadb-backup --prepare rewrites the pages its redo log names,
// scattered over big tablespaces and written as it applies the log, up to its last tens of ms.
// Hashed "early", while prepare runs, and again once it is done, a whole-file
// sha256 must be taken again from the first changed page to the end of the file: half of every big
// file, all of it after prepare. With chunk digests only the changed chunks are.
//
// To find them, the thread keeps, per chunk of an early hash, a fingerprint of the chunk and its
// digest; the next hash of the file reads it, compares fingerprints (GMAC: 3-4x faster than sha256
// here) and digests only the chunks that differ. The same fingerprints, under a key that outlives
// the set, recognise the chunks the last set already digested (`seeds`, chunk-memory.ts).
import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** What tells one version of a file from the next: any write or replacement changes ctime (or ino). */
export interface FileStamp {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** One chunk of a chunked checksum: its length, its fingerprint under the pool's key, its sha256. */
export interface ChunkDigest {
  len: number;
  tag: Uint8Array;
  digest: Uint8Array;
}

export interface HashOutcome {
  /** The file's plain sha256, or, when `chunked`, the sha256 of its 4 MiB chunks' sha256 digests. */
  sha256: string;
  /** The file is larger than one chunk and `sha256` is its chunk form (never for a `plain` hash). */
  chunked: boolean;
  /** Bytes this hash digested: the whole file, or only the chunks that changed since its early hash. */
  hashedBytes: number;
  /** The file's stat when its read began. */
  stamp: FileStamp;
  /** A chunked file's chunks in order, when they were fingerprinted (early, or with seeds). */
  chunks?: ChunkDigest[];
  /**
   * The file was last written at least QUIET_MS before its read began: then a stat equal to `stamp`
   * later means no write since, and `sha256` is still the file's.
   */
  quiet: boolean;
}

/**
 * File times come from the kernel's coarse clock, up to one tick (1–10 ms) behind the real time, so a
 * write made after a read began always gets a ctime later than one that was older than this when the
 * read began: the stat after the writer exited then differs, and the early hash is not kept unread.
 */
export const QUIET_MS = 50;

/** The chunk of chunked checksums, and of the threads' reads (the worker's CHUNK). */
export const CHUNK_BYTES = 4 << 20;

export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

// The worker: plain CommonJS, evaluated (the bundle holds no separate worker file). `now` is taken
// before the fstat (see QUIET_MS). A chunk's fingerprint is its GMAC (AES-GCM's tag over it as
// associated data, with AES-NI and carry-less multiply about 7 GB/s here) under the pool's secret key:
// two different chunks of one length get the same tag with a chance below 2^-100, whatever their
// bytes, as long as they were not chosen by someone who knows the key. A CRC would not do: a format
// that stores each page's own CRC-32 in it (Aria does) keeps the CRC-32 of a rewritten page
// unchanged, and a CRC-32C does the same for InnoDB's full_crc32 pages.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// Set by the pool once a last hash waits: from then on nothing runs at nice 10, not even the
// early hash already running (checked at every chunk), which the last one may be waiting for.
const urgent = workerData.urgent;
const { openSync, readSync, fstatSync, closeSync } = require('node:fs');
const { createCipheriv, createHash } = require('node:crypto');
// The pool's fingerprint key, the same in every thread (and, through chunk-memory.ts, from set to set).
const KEY = Buffer.from(workerData.key.subarray(0, 16));
const IV = Buffer.from(workerData.key.subarray(16, 28));
function fingerprint(data) {
  const c = createCipheriv('aes-128-gcm', KEY, IV);
  c.setAAD(data);
  c.final();
  return c.getAuthTag();
}
const CHUNK = ${CHUNK_BYTES};
const buf = Buffer.allocUnsafe(CHUNK);
// Early hashes run at nice 10 (this thread only: Linux keeps a nice value per thread): beside a
// busy server at nice 0 they get about a tenth of a core, so a backup never crowds out the servers it
// copies, and on cores nothing else wants they run at full speed. (The idle class, tried first, left
// them so little beside mariadb-backup's prepares and the kernel's writeback that they were still
// running when the prepares ended: 0.2 s more per backup set on the bench.) The last hashes, which
// hold up the result, go back to nice 0 where the thread may (see urgent).
const { setPriority } = require('node:os');
let low = false;
function lowerTo(want) {
  if (want === low) return;
  low = want;
  try {
    setPriority(want ? 10 : 0);
  } catch {}
}
// file -> { ino, chunks: [{ len, tag, digest }] }: tag = the chunk's fingerprint, digest = its sha256.
const kept = new Map();
function readChunk(fd, pos) {
  let n = 0;
  while (n < CHUNK) {
    const r = readSync(fd, buf, n, CHUNK - n, pos + n);
    if (r === 0) break;
    n += r;
  }
  return n;
}
// plain: the whole file's sha256 (a list written before chunk digests, or by sha256sum); never kept.
// first (and count, else to the end): only these chunks, with their fingerprints, for a file hashed in
// parts on several threads; nothing is kept or compared with what is kept (the seeds are).
function hashFile(file, keep, quietMs, plain, seedList, first, count) {
  const ranged = first !== undefined;
  const now = Date.now();
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    const stamp = { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
    const quiet = st.ctimeNs < BigInt(now - quietMs) * 1000000n;
    const old = plain ? undefined : kept.get(file);
    const prev = !ranged && old && old.ino === st.ino ? old : undefined;
    const whole = plain ? createHash('sha256') : undefined;
    // This file's chunks in the last set (chunk-memory.ts): a chunk with one's length and fingerprint
    // has its bytes, and takes its digest.
    let seeds;
    if (seedList && !plain) {
      seeds = new Map();
      for (const c of seedList) seeds.set(c.len + ':' + Buffer.from(c.tag).toString('hex'), c.digest);
    }
    const chunks = [];
    let hashedBytes = 0;
    let pos = ranged ? first * CHUNK : 0;
    for (;;) {
      if (low && Atomics.load(urgent, 0) !== 0) lowerTo(false);
      if (ranged && count !== undefined && chunks.length >= count) break;
      const n = readChunk(fd, pos);
      pos += n;
      if (n === 0) break;
      const data = buf.subarray(0, n);
      if (whole) {
        whole.update(data);
        hashedBytes += n;
      } else {
        // Fingerprints only where they are compared: now (an earlier hash is kept) or next time (keep).
        const tag = prev || keep || seeds || ranged ? fingerprint(data) : undefined;
        const same = prev && prev.chunks[chunks.length];
        const seed = seeds && seeds.get(n + ':' + tag.toString('hex'));
        let digest;
        if (same && same.len === n && same.tag.equals(tag)) digest = same.digest;
        else if (seed) digest = Buffer.from(seed);
        else {
          digest = createHash('sha256').update(data).digest();
          hashedBytes += n;
        }
        chunks.push({ len: n, tag, digest });
      }
      if (n < CHUNK) break;
    }
    if (ranged) return { sha256: '', chunked: true, hashedBytes, stamp, quiet, chunks };
    if (keep && !plain) kept.set(file, { ino: st.ino, chunks });
    else kept.delete(file);
    if (whole) return { sha256: whole.digest('hex'), chunked: false, hashedBytes, stamp, quiet };
    const chunked = chunks.length > 1;
    const sha256 = chunked
      ? createHash('sha256').update(Buffer.concat(chunks.map((c) => c.digest))).digest('hex')
      : chunks.length === 1
        ? chunks[0].digest.toString('hex')
        : createHash('sha256').digest('hex');
    // Fingerprinted chunks (keep or seeds) are given back: the next set's seeds.
    const given = chunked && chunks[0].tag ? chunks.map((c) => ({ len: c.len, tag: c.tag, digest: c.digest })) : undefined;
    return { sha256, chunked, hashedBytes, stamp, quiet, chunks: given };
  } finally {
    closeSync(fd);
  }
}
parentPort.on('message', (m) => {
  if (m.op === 'forget') {
    for (const f of kept.keys()) if (f.startsWith(m.prefix)) kept.delete(f);
    return;
  }
  lowerTo(m.keep && Atomics.load(urgent, 0) === 0);
  try {
    parentPort.postMessage({ id: m.id, ok: true, ...hashFile(m.file, m.keep, m.quietMs, m.plain, m.seeds, m.first, m.count) });
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, message: e.message, code: e.code });
  }
});
`;

interface Task {
  id: number;
  file: string;
  keep: boolean;
  plain: boolean;
  seeds: ChunkDigest[] | undefined;
  /** A part of a file hashed in parts (hashInParts): its first chunk, and how many (else to the end). */
  range?: { first: number; count?: number };
  resolve: (o: HashOutcome) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  task?: Task;
  /** Tasks for files whose chunks this thread keeps. */
  own: Task[];
}

/** A set of hashing threads shared by every server of a set; close() ends them. */
export class HashPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  /** Which thread keeps a file's chunks. */
  private readonly keeper = new Map<string, Slot>();
  private nextId = 1;
  private closed = false;
  /** urgent[0] = 1 once a hash that is not early was asked for (read by the threads). */
  private readonly urgent = new Int32Array(new SharedArrayBuffer(4));

  /**
   * `fingerprintKey`: the 28 bytes (an AES-128 key and a GCM nonce) of the chunks' fingerprints; a
   * fresh random one unless chunks of an earlier set are to be recognised (chunk-memory.ts).
   */
  constructor(
    private readonly size = Math.max(1, availableParallelism()),
    private readonly fingerprintKey: Uint8Array = randomBytes(28),
  ) {
    if (fingerprintKey.length !== 28) throw new Error('a fingerprint key is 28 bytes');
  }

  /** Starts the threads now (they then wait, unreferenced), so the first hash does not pay their start. */
  warm(): void {
    while (!this.closed && this.slots.length < this.size) this.slots.push(this.spawn());
  }

  /**
   * The checksum of one file (see HashOutcome). `early`: a writer may still change it; the thread
   * keeps its chunks, so the next hash of it digests only what changed. `plain`: the whole file's
   * sha256 whatever its size (lists written before chunk digests). Hashes that are not early go
   * first: they hold up a result. `seeds`: this file's chunks in an earlier set, fingerprinted under
   * this pool's key: a chunk found there by length and fingerprint takes its digest, undigested.
   */
  hash(file: string, opts: { early?: boolean; plain?: boolean; seeds?: ChunkDigest[] } = {}): Promise<HashOutcome> {
    if (this.closed) return Promise.reject(new Error('hash pool closed'));
    return new Promise((resolve, reject) => {
      const task: Task = {
        id: this.nextId++,
        file,
        keep: opts.early === true && opts.plain !== true,
        plain: opts.plain === true,
        seeds: opts.plain === true ? undefined : opts.seeds,
        resolve,
        reject,
      };
      this.submit(task);
    });
  }

  /** Threads the pool runs at most. */
  get threads(): number {
    return this.size;
  }

  /**
   * What hash(file, { seeds }) gives once no writer changes the file, in `parts` ranges of chunks
   * hashed at once on as many threads: the last hash a backup waits for is then not one thread
   * reading one big file while the others are idle. A file of fewer chunks than parts is hashed in
   * fewer; one that changed between the parts' reads is hashed again whole.
   */
  async hashInParts(file: string, opts: { seeds?: ChunkDigest[]; parts: number }): Promise<HashOutcome> {
    const whole = () => this.hash(file, opts.seeds ? { seeds: opts.seeds } : {});
    const size = await stat(file).then(
      (st) => st.size,
      () => 0,
    );
    const total = Math.ceil(size / CHUNK_BYTES);
    const per = Math.ceil(total / Math.max(1, opts.parts));
    if (total < 2 || per >= total) return whole();
    const ranges: { first: number; count?: number }[] = [];
    for (let first = 0; first < total; first += per)
      ranges.push(first + per >= total ? { first } : { first, count: per });
    const outs = await Promise.all(
      ranges.map(
        (range) =>
          new Promise<HashOutcome>((resolve, reject) => {
            if (this.closed) return reject(new Error('hash pool closed'));
            this.submit({
              id: this.nextId++,
              file,
              keep: false,
              plain: false,
              seeds: opts.seeds,
              range,
              resolve,
              reject,
            });
          }),
      ),
    );
    if (!outs.every((o) => sameStamp(o.stamp, outs[0]!.stamp))) return whole();
    const chunks = outs.flatMap((o) => o.chunks ?? []);
    const chunked = chunks.length > 1;
    const sha256 = chunked
      ? createHash('sha256')
          .update(Buffer.concat(chunks.map((c) => c.digest)))
          .digest('hex')
      : chunks.length === 1
        ? Buffer.from(chunks[0]!.digest).toString('hex')
        : createHash('sha256').digest('hex');
    return {
      sha256,
      chunked,
      hashedBytes: outs.reduce((n, o) => n + o.hashedBytes, 0),
      stamp: outs[0]!.stamp,
      quiet: outs.every((o) => o.quiet),
      ...(chunked ? { chunks } : {}),
    };
  }

  private submit(task: Task): void {
    if (!task.keep) Atomics.store(this.urgent, 0, 1);
    const keeper = task.range ? undefined : this.keeper.get(task.file);
    if (keeper && this.slots.includes(keeper)) keeper.own.push(task);
    else if (task.keep) this.queue.push(task);
    else {
      const firstEarly = this.queue.findIndex((t) => t.keep);
      this.queue.splice(firstEarly < 0 ? this.queue.length : firstEarly, 0, task);
    }
    this.dispatch();
  }

  /** Drops the kept chunks of every file under this path prefix. */
  forget(prefix: string): void {
    for (const f of this.keeper.keys()) if (f.startsWith(prefix)) this.keeper.delete(f);
    for (const s of this.slots) s.worker.postMessage({ op: 'forget', prefix });
  }

  /** Ends the threads; queued and running hashes are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const err = new Error('hash pool closed');
    for (const t of this.queue.splice(0)) t.reject(err);
    const slots = this.slots.splice(0);
    for (const s of slots) for (const t of [...(s.task ? [s.task] : []), ...s.own.splice(0)]) t.reject(err);
    this.keeper.clear();
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { urgent: this.urgent, key: this.fingerprintKey },
    });
    worker.unref();
    const slot: Slot = { worker, own: [] };
    worker.on(
      'message',
      (m: {
        id: number;
        ok: boolean;
        sha256: string;
        chunked: boolean;
        hashedBytes: number;
        stamp: FileStamp;
        quiet: boolean;
        chunks?: ChunkDigest[];
        message?: string;
        code?: string;
      }) => {
        const task = slot.task;
        if (!task || task.id !== m.id) return;
        slot.task = undefined;
        worker.unref();
        if (!m.ok) {
          this.keeper.delete(task.file);
          task.reject(Object.assign(new Error(m.message ?? `cannot hash ${task.file}`), { code: m.code }));
        } else {
          if (!task.keep) this.keeper.delete(task.file);
          task.resolve({
            sha256: m.sha256,
            chunked: m.chunked,
            hashedBytes: m.hashedBytes,
            stamp: m.stamp,
            quiet: m.quiet,
            ...(m.chunks ? { chunks: m.chunks } : {}),
          });
        }
        this.dispatch();
      },
    );
    // A thread that dies fails the hash it ran; the others it was to run are hashed from the start by another.
    const gone = (e: Error) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      for (const [f, s] of this.keeper) if (s === slot) this.keeper.delete(f);
      slot.task?.reject(e);
      slot.task = undefined;
      this.queue.unshift(...slot.own.splice(0));
      this.dispatch();
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`hash thread exited (${code})`)));
    return slot;
  }

  private dispatch(): void {
    if (this.closed) return;
    for (const slot of this.slots) if (!slot.task && slot.own.length) this.start(slot, slot.own.shift()!);
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.task);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
        this.slots.push(slot);
      }
      this.start(slot, this.queue.shift()!);
    }
  }

  private start(slot: Slot, task: Task): void {
    slot.task = task;
    // From now on the next hash of this file waits for this thread, which will keep its chunks.
    if (task.keep) this.keeper.set(task.file, slot);
    // Referenced while it works, so a pending hash keeps the process alive.
    slot.worker.ref();
    slot.worker.postMessage({
      op: 'hash',
      id: task.id,
      file: task.file,
      keep: task.keep,
      plain: task.plain,
      seeds: task.seeds,
      ...(task.range ? { first: task.range.first, count: task.range.count } : {}),
      quietMs: QUIET_MS,
    });
  }
}
