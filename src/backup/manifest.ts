// manifest.json of a backup set: what each server's backup holds and whether it can be restored.
// Pure shape + (de)serialisation here; the few file helpers at the end are the only I/O.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { BinlogPosition } from './binlog-info.js';
import type { DumpPosition } from './dump-text.js';

export const MANIFEST_FILE = 'manifest.json';
/** In-progress sets live under this prefix and are never listed; renamed to the id when done. */
export const TEMP_PREFIX = '.tmp-';

export type SetStatus = 'complete' | 'partial';
export type Compression = 'none' | 'zstd';

/** A closed binlog file copied into the set, so point-in-time restore does not depend on the server. */
export interface ArchivedBinlog {
  file: string;
  /** Path relative to the set directory. */
  path: string;
  size: number;
  sha256: string;
  /** sha256 of the first 64 KiB: binlog names restart at .000001 after a restore, so the name alone is not an identity. */
  headSha256?: string;
  /** Every event of this file happened before this moment (the file was closed by FLUSH BINARY LOGS then). */
  coveredUntil: string;
}

export interface TableCheck {
  table: string;
  check: string;
  checksum: number | null;
}

export interface VerifyResult {
  at: string;
  ok: boolean;
  /** Files whose sha256 no longer matches the one recorded at backup time. */
  badFiles: string[];
  tables: TableCheck[];
  /** Why verify failed, in one sentence (server did not start, CHECK TABLE errors, changed files). */
  reason?: string;
}

/** `physical`: mariadb-backup of a local server's files; `logical`: mariadb-dump over SQL (any server). */
export type BackupMethod = 'physical' | 'logical';

export interface ServerBackup {
  server: string;
  services: string[];
  status: 'ok' | 'failed';
  reason?: string;
  /** Absent in sets taken before logical backups existed: physical. */
  method?: BackupMethod;
  /** Logical: the service databases in the dump. */
  databases?: string[];
  /**
   * Logical: the dump's consistent binlog position, as mariadb-dump wrote it into its own header and
   * trailer inside the snapshot (`--master-data=2 --gtid`); null when log_bin is off. The starting point
   * of a point-in-time replay of this server's archived binlogs.
   */
  position?: DumpPosition | null;
  /** Consistent position from the backup's own binlog-info file; null when log_bin is off. */
  binlog?: BinlogPosition | null;
  binlogInfoFile?: string;
  serverVersion?: string;
  toolVersion?: string;
  /** When this server's job began (after the set-wide preflight that asks every server its version). */
  startedAt: string;
  /** When mariadb-backup --backup was started: the copy phase is copyStartedAt → copyEndedAt. */
  copyStartedAt?: string;
  /** When the copy phase ended: the binlog position was taken just before. */
  copyEndedAt?: string;
  endedAt: string;
  durationMs: number;
  copyMs?: number;
  prepareMs?: number;
  /** Bytes of the backup as stored (compressed size with zstd). */
  sizeBytes?: number;
  /** Backup files relative to the set directory: a directory, or a .tar.zst archive. */
  path?: string;
  /** sha256 over the per-file list (`<sha256>  <path>` lines, sorted) kept beside the backup. */
  checksum?: string;
  prepared: boolean;
  binlogBase?: string;
  /**
   * The server's binlog history when backed up (state.json `history`, renewed at every restore): the
   * binlog position and the archived binlogs belong to it. Absent in sets taken before dbps recorded
   * histories; those chain only with each other.
   */
  history?: string;
  archivedBinlogs: ArchivedBinlog[];
  verify?: VerifyResult;
}

export interface BackupManifest {
  version: 1;
  id: string;
  fleet: string;
  status: SetStatus;
  startedAt: string;
  endedAt: string;
  compress: Compression;
  servers: ServerBackup[];
}

/** Set id from a start time: a UTC timestamp that sorts as text, e.g. 20261125T172650Z. */
export function setIdFor(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** The moment a set id names (ids sort like their times). */
export function setIdTime(id: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:-\d+)?$/.exec(id);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/**
 * A fresh binlog history id: the time it began and random bits, so two restores in one second (or
 * on two machines sharing a backup root) never share one.
 */
export function newHistoryId(at: Date): string {
  return `${setIdFor(at)}-${randomBytes(4).toString('hex')}`;
}

/** A set is complete only when every server's backup is ok. */
export function setStatusOf(servers: ServerBackup[]): SetStatus {
  return servers.length > 0 && servers.every((s) => s.status === 'ok') ? 'complete' : 'partial';
}

/** Parses manifest text, checking the fields restore relies on; throws with what is wrong. */
export function parseManifest(text: string): BackupManifest {
  const m = JSON.parse(text) as BackupManifest;
  if (m.version !== 1) throw new Error(`unknown manifest version ${String(m.version)}`);
  if (typeof m.id !== 'string' || !setIdTime(m.id)) throw new Error('manifest has no valid id');
  if (m.status !== 'complete' && m.status !== 'partial') throw new Error(`unknown set status ${String(m.status)}`);
  if (!Array.isArray(m.servers)) throw new Error('manifest has no servers list');
  for (const s of m.servers) {
    if (typeof s.server !== 'string' || (s.status !== 'ok' && s.status !== 'failed'))
      throw new Error('manifest has a malformed server entry');
    s.archivedBinlogs ??= [];
  }
  return m;
}

/** Stable JSON text of a manifest. */
export function renderManifest(m: BackupManifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** Writes manifest.json atomically (temp file + rename), so a reader never sees half a manifest. */
export async function writeManifest(setDir: string, m: BackupManifest): Promise<void> {
  await mkdir(setDir, { recursive: true });
  await writeFileAtomic(path.join(setDir, MANIFEST_FILE), renderManifest(m), { mode: 0o600 });
}

/** Reads one set's manifest. */
export async function readManifest(setDir: string): Promise<BackupManifest> {
  return parseManifest(await readFile(path.join(setDir, MANIFEST_FILE), 'utf8'));
}

export interface ListedSet {
  dir: string;
  manifest?: BackupManifest;
  /** Why the directory is not a usable set (no or damaged manifest). */
  problem?: string;
}

/** Every finished set under a backup root, oldest first. Temp (in-progress) directories are skipped. */
export async function listSets(root: string): Promise<ListedSet[]> {
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true }))
      // binlogs/ is the binlog archive (archive.ts), beside the sets.
      .filter((d) => d.isDirectory() && !d.name.startsWith('.') && d.name !== 'binlogs')
      .map((d) => d.name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  names.sort();
  // Read all at once: a root holding many sets is listed in about the time of one read.
  return Promise.all(
    names.map(async (name): Promise<ListedSet> => {
      const dir = path.join(root, name);
      try {
        return { dir, manifest: await readManifest(dir) };
      } catch (e) {
        return {
          dir,
          problem:
            (e as NodeJS.ErrnoException).code === 'ENOENT'
              ? 'no manifest.json'
              : `damaged manifest.json (${(e as Error).message})`,
        };
      }
    }),
  );
}

/** The file inside a `.tmp-<id>` set naming the dbps process writing it (a LockOwner record). */
export const TEMP_OWNER_FILE = '.owner';

/**
 * The `.tmp-<id>` directories under a backup root whose writer is gone: its recorded process is dead
 * (`alive` says), or it records none (an older dbps) and has not changed for an hour.
 */
export async function abandonedTempSets(
  root: string,
  alive: (ownerText: string) => boolean,
  nowMs: number = Date.now(),
): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && d.name.startsWith(TEMP_PREFIX))
      .map((d) => d.name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    const dir = path.join(root, name);
    const owner = await readFile(path.join(dir, TEMP_OWNER_FILE), 'utf8').catch(() => undefined);
    if (owner !== undefined ? !alive(owner) : nowMs - (await stat(dir)).mtimeMs > 3_600_000) out.push(dir);
  }
  return out;
}
