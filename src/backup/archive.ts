// The binlog archive of a backup root: `<root>/binlogs/<server>/index.json` and one directory per
// binlog history with the archived files. A closed binlog is stored under its own name once it is
// whole (sha256 recorded); the server's current binlog is stored as `<name>.partial`, always cut at an
// event boundary, with the moment up to which it is known to hold every event. Filled by
// `dbps binlogs pull/follow` (archive-pull.ts); read by restore (point-in-time) and `backups list`.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BinlogCandidate } from './pitr.js';

export const ARCHIVE_DIR = 'binlogs';
export const INDEX_FILE = 'index.json';
export const PARTIAL_SUFFIX = '.partial';

export interface ArchiveFile {
  file: string;
  /** Relative to the server's archive directory. */
  path: string;
  size: number;
  /** The server will never append to it (it ended with a rotate or stop event); sha256 recorded. */
  complete: boolean;
  sha256?: string;
  /** Format description timestamp and server id: tells two files of one name apart. */
  identity?: string;
  firstEventAt?: string;
  /** Every event the server wrote to this file before this moment is in the archived bytes. */
  coveredUntil: string;
  archivedAt: string;
}

export interface ArchiveHistory {
  id: string;
  /** Sorted by name (binlog names sort in write order within a history). */
  files: ArchiveFile[];
}

export interface ArchiveGap {
  history: string;
  /** The last file archived before the gap and the first one after it. */
  after: string;
  before: string;
  foundAt: string;
}

export interface ArchiveIndex {
  version: 1;
  server: string;
  /** The history the server's binlogs belong to now (external servers: detected by the archive). */
  current?: string;
  histories: ArchiveHistory[];
  /** Binlogs the server purged before they were archived: no point-in-time window crosses them. */
  gaps: ArchiveGap[];
}

/** The archive root under a backup root. */
export function archiveRoot(backupRoot: string): string {
  return path.join(backupRoot, ARCHIVE_DIR);
}

export function serverArchiveDir(backupRoot: string, server: string): string {
  return path.join(archiveRoot(backupRoot), server);
}

export function emptyIndex(server: string): ArchiveIndex {
  return { version: 1, server, histories: [], gaps: [] };
}

/** The server's archive index; an empty one when nothing was archived yet. */
export async function readArchiveIndex(backupRoot: string, server: string): Promise<ArchiveIndex> {
  let text: string;
  try {
    text = await readFile(path.join(serverArchiveDir(backupRoot, server), INDEX_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex(server);
    throw e;
  }
  const parsed = JSON.parse(text) as ArchiveIndex;
  if (parsed.version !== 1 || !Array.isArray(parsed.histories))
    throw new Error(`${INDEX_FILE} of server "${server}" is not a dbps binlog archive index`);
  parsed.gaps ??= [];
  return parsed;
}

/** Writes the index atomically (temp file, fsync, rename): a kill leaves the old or the new one. */
export async function writeArchiveIndex(backupRoot: string, index: ArchiveIndex): Promise<void> {
  const dir = serverArchiveDir(backupRoot, index.server);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${INDEX_FILE}.${process.pid}-${randomBytes(3).toString('hex')}`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(index, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path.join(dir, INDEX_FILE));
}

export function historyOf(index: ArchiveIndex, id: string): ArchiveHistory {
  let h = index.histories.find((x) => x.id === id);
  if (!h) {
    h = { id, files: [] };
    index.histories.push(h);
  }
  return h;
}

/** Records (or replaces) a file of a history, keeping the list sorted by name. */
export function putFile(history: ArchiveHistory, f: ArchiveFile): void {
  history.files = history.files.filter((x) => x.file !== f.file);
  history.files.push(f);
  history.files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** Archived files as replay candidates: whole files first, then partial ones (a live file of the same name beats a partial copy). */
export function archiveCandidates(
  backupRoot: string,
  index: ArchiveIndex,
): { whole: BinlogCandidate[]; partial: BinlogCandidate[] } {
  const dir = serverArchiveDir(backupRoot, index.server);
  const whole: BinlogCandidate[] = [];
  const partial: BinlogCandidate[] = [];
  for (const h of index.histories) {
    for (const f of h.files) {
      const c: BinlogCandidate = {
        file: f.file,
        path: path.join(dir, f.path),
        source: f.complete ? 'binlog archive' : 'binlog archive (current file)',
        coveredUntil: new Date(f.coveredUntil),
        history: h.id,
        ...(f.complete && f.sha256 ? { sha256: f.sha256 } : {}),
      };
      (f.complete ? whole : partial).push(c);
    }
  }
  return { whole, partial };
}

/** Removes files and directories of the archive that `keep` rejects (retention); returns what went. */
export async function removeArchived(
  backupRoot: string,
  index: ArchiveIndex,
  drop: (history: ArchiveHistory, f: ArchiveFile) => boolean,
): Promise<ArchiveFile[]> {
  const dir = serverArchiveDir(backupRoot, index.server);
  const removed: ArchiveFile[] = [];
  for (const h of index.histories) {
    const gone = h.files.filter((f) => drop(h, f));
    if (gone.length === 0) continue;
    h.files = h.files.filter((f) => !gone.includes(f));
    // The index first: a kill between the two leaves unlisted files (swept later), never listed missing ones.
    removed.push(...gone);
  }
  index.histories = index.histories.filter((h) => h.files.length > 0 || h.id === index.current);
  if (removed.length === 0) return removed;
  await writeArchiveIndex(backupRoot, index);
  for (const f of removed) await rm(path.join(dir, f.path), { force: true });
  return removed;
}

/**
 * What retention may drop from a server's archive once the sets to keep are known: in each history,
 * the files before the oldest kept set's starting file (no kept set can replay them), and whole
 * histories no kept set starts in, except the server's current one (the next set starts there). Pure.
 */
export function archivePrunable(
  index: ArchiveIndex,
  keptStarts: { history?: string; file: string }[],
): (history: ArchiveHistory, f: ArchiveFile) => boolean {
  const oldest = new Map<string, string>();
  for (const k of keptStarts) {
    if (!k.history) continue;
    const had = oldest.get(k.history);
    if (!had || k.file < had) oldest.set(k.history, k.file);
  }
  return (history, f) => {
    const start = oldest.get(history.id);
    if (start) return f.file < start;
    return history.id !== index.current;
  };
}
