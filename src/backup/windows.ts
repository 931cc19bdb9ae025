// The moments each server can be restored to from what the backup root holds (sets, the binlogs they
// archived, and the binlog archive): from a set's consistent point to the last archived event its
// history's binlogs reach without a gap. Overlapping spans of one history merge into one window.
// Live binlogs on the server are not counted: a window is what survives losing the server. Pure.
import { splitBinlogName } from './binlog-info.js';
import type { BackupManifest } from './manifest.js';
import type { BinlogCandidate } from './pitr.js';

export interface RestoreWindow {
  server: string;
  /** The binlog history of the window's sets (undefined for untagged, older sets). */
  history?: string;
  from: string;
  until: string;
  /** The sets that anchor the window, oldest first. */
  sets: string[];
}

/** How far the binlogs of `history` reach from `file` on, with no missing file. Undefined when `file` is not there. */
export function coverageEnd(file: string, candidates: BinlogCandidate[], history?: string): Date | undefined {
  const start = splitBinlogName(file);
  if (!start) return undefined;
  const width = file.length - start.base.length - 1;
  const byName = new Map<string, BinlogCandidate>();
  for (const c of candidates) {
    if (c.history !== history) continue;
    const had = byName.get(c.file);
    if (!had || c.coveredUntil > had.coveredUntil) byName.set(c.file, c);
  }
  let end: Date | undefined;
  for (let i = start.index; ; i++) {
    const found = byName.get(`${start.base}.${String(i).padStart(width, '0')}`);
    if (!found) return end;
    end = found.coveredUntil;
  }
}

/** Every server's restore windows, oldest first per server. */
export function restoreWindows(
  manifests: BackupManifest[],
  candidatesOf: (server: string) => BinlogCandidate[],
): RestoreWindow[] {
  const spans = new Map<string, RestoreWindow[]>();
  for (const m of [...manifests].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    for (const e of m.servers) {
      if (e.status !== 'ok') continue;
      const point = new Date(e.copyEndedAt ?? e.endedAt);
      const reach = e.binlog ? coverageEnd(e.binlog.file, candidatesOf(e.server), e.history) : undefined;
      const until = reach && reach > point ? reach : point;
      const list = spans.get(e.server) ?? [];
      const last = list[list.length - 1];
      if (last && last.history === e.history && new Date(last.until) >= point) {
        if (until > new Date(last.until)) last.until = until.toISOString();
        last.sets.push(m.id);
      } else {
        list.push({
          server: e.server,
          ...(e.history ? { history: e.history } : {}),
          from: point.toISOString(),
          until: until.toISOString(),
          sets: [m.id],
        });
      }
      spans.set(e.server, list);
    }
  }
  return [...spans.values()].flat();
}

/** "2026-12-01T10:00:00Z → 2026-12-01T12:30:05Z" for each window of a server, newest last. */
export function windowsText(windows: RestoreWindow[], server: string): string {
  const mine = windows.filter((w) => w.server === server);
  if (mine.length === 0) return `no restorable backup of server "${server}"`;
  return mine.map((w) => `${w.from.replace(/\.\d+Z$/, 'Z')} → ${w.until.replace(/\.\d+Z$/, 'Z')}`).join(', ');
}
