// Point-in-time planning: which binlog files, from which position, up to which moment, per server.
// Pure: the restore command gathers the candidate files and runs the plan.
import { type BinlogPosition, splitBinlogName } from './binlog-info.js';

/** One binlog file that could take part in a replay. */
export interface BinlogCandidate {
  file: string;
  /** Absolute path to read it from. */
  path: string;
  /** Where it comes from: a set's archive (by set id) or the datadir moved aside at restore. */
  source: string;
  /** Every event in this file happened before this moment. */
  coveredUntil: Date;
  /** The binlog history the file belongs to (names restart at every restore); undefined for untagged (older) files. */
  history?: string;
  /**
   * A file read from a datadir (live or moved aside): its coveredUntil is when that datadir was last
   * written, shared by all its files, not when this file was closed.
   */
  live?: boolean;
  /** sha256 recorded when the file was archived, checked before the replay; absent for live files. */
  sha256?: string;
}

export interface ReplayPlan {
  server: string;
  startPosition: number;
  startFile: string;
  files: BinlogCandidate[];
  /** `--stop-datetime` for mariadb-binlog, in UTC (run it with TZ=UTC): `YYYY-MM-DD HH:MM:SS`. */
  stopDatetimeUtc: string;
}

export type PlanOutcome = { ok: true; plan: ReplayPlan } | { ok: false; reason: string };

/**
 * Binlog event times have one-second resolution and mariadb-binlog stops at the first event at or
 * after --stop-datetime, so the instant is rounded down: nothing after the requested time is replayed.
 */
export function stopDatetimeUtc(at: Date): string {
  return at
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')
    .replace(/Z$/, '');
}

/**
 * Chains binlog files from the backup's recorded position to the first file covering `toTime`.
 * Candidates are given in preference order (the set's own archive, newer sets, then the live
 * datadir); the first file of a given name wins. Only files of the backup's own binlog history take
 * part: after a restore the names restart, so a later history's file of the right name is not the
 * next file of this one. Refuses when the chain has a gap, does not start at the backup's file, ends
 * before `toTime`, or would need a file that exists only in another history.
 */
export function planReplay(
  server: string,
  position: BinlogPosition | null | undefined,
  backupPointAfter: Date,
  candidates: BinlogCandidate[],
  toTime: Date,
  history?: string,
): PlanOutcome {
  if (!position) {
    return {
      ok: false,
      reason: `server "${server}" had no binary log at backup time (log_bin off), so it cannot be rolled forward to a point in time`,
    };
  }
  if (toTime.getTime() < backupPointAfter.getTime()) {
    return {
      ok: false,
      reason: `server "${server}": ${toTime.toISOString()} is before this backup's consistent point (${backupPointAfter.toISOString()}); choose an older backup set`,
    };
  }
  const start = splitBinlogName(position.file);
  if (!start)
    return {
      ok: false,
      reason: `server "${server}": backup position names an unexpected binlog file "${position.file}"`,
    };
  const byName = new Map<string, BinlogCandidate>();
  const otherHistory = new Map<string, BinlogCandidate>();
  for (const c of candidates) {
    const map = c.history === history ? byName : otherHistory;
    if (!map.has(c.file)) map.set(c.file, c);
  }
  const foreign = (name: string) => {
    const other = otherHistory.get(name);
    return other
      ? ` (${name} in ${other.source} belongs to another binlog history, ${other.history ?? 'untagged'}, begun by a restore; this backup's history is ${history ?? 'untagged'}, so it is not the continuation and is not replayed)`
      : '';
  };
  const files: BinlogCandidate[] = [];
  let index = start.index;
  const width = position.file.length - start.base.length - 1;
  const nameAt = (i: number) => `${start.base}.${String(i).padStart(width, '0')}`;
  for (;;) {
    const name = `${start.base}.${String(index).padStart(width, '0')}`;
    const found = byName.get(name);
    if (!found) break;
    files.push(found);
    if (found.coveredUntil.getTime() >= toTime.getTime()) {
      // Live files (in a datadir) all carry the moment the datadir was last written as their
      // cover, so a live file followed by another is not known to reach toTime: every later live
      // file of the history goes in too (mariadb-binlog stops at --stop-datetime across files).
      if (found.live) {
        for (let i = index + 1, next = byName.get(nameAt(i)); next; next = byName.get(nameAt(++i))) files.push(next);
      }
      return {
        ok: true,
        plan: {
          server,
          startFile: position.file,
          startPosition: position.position,
          files,
          stopDatetimeUtc: stopDatetimeUtc(toTime),
        },
      };
    }
    index++;
  }
  if (files.length === 0) {
    return {
      ok: false,
      reason: `server "${server}": binlog ${position.file} (where the backup's position ${position.position} lies) is in no backup set's archive and not in the datadir${foreign(position.file)}`,
    };
  }
  const last = files[files.length - 1]!;
  const next = `${start.base}.${String(index).padStart(width, '0')}`;
  return {
    ok: false,
    reason: `server "${server}": binlogs reach only to ${last.coveredUntil.toISOString()} (${last.file}); ${next} or later is missing${foreign(next)}, so ${toTime.toISOString()} is not covered`,
  };
}
