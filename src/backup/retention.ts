// Which sets `dbps backups prune --keep N` removes. Pure: manifests in, ids out.
import type { BackupManifest, ServerBackup } from './manifest.js';

export type PrunableSet = Pick<BackupManifest, 'id' | 'status'> & {
  servers: Pick<ServerBackup, 'server' | 'status' | 'verify'>[];
};

export interface PruneSelection {
  keep: string[];
  remove: string[];
  /** Set id → the servers whose newest good backups it holds (why it cannot go). */
  protects: Record<string, string[]>;
}

/**
 * A set whose backups count as good: complete (a partial set is not a restore point for the fleet)
 * and no backup in it failed `backups verify` (a set known to be damaged is no backup to rely on).
 */
export function isGoodSet(m: PrunableSet): boolean {
  return m.status === 'complete' && m.servers.every((e) => e.status === 'ok' && e.verify?.ok !== false);
}

/**
 * Keeps, for every server, the sets holding its N newest good backups, and every set newer than the
 * oldest of those: later sets' archived binlogs are the point-in-time chain of the earlier ones. A
 * single-service set counts only for its own server, so it never pushes out the other servers'
 * backups. A server with fewer than N good backups also keeps every backup of it that is ok and did
 * not fail verify (partial sets included), so its last restorable copy never goes.
 * With nothing restorable at all, nothing is removed.
 */
export function selectPrune(manifests: PrunableSet[], keepGood: number): PruneSelection {
  if (!Number.isInteger(keepGood) || keepGood < 1) throw new Error('--keep must be a whole number of at least 1');
  const sorted = [...manifests].sort((a, b) => a.id.localeCompare(b.id));
  const newestFirst = [...sorted].reverse();
  const protects = new Map<string, Set<string>>();
  const protect = (id: string, server: string) => {
    if (!protects.has(id)) protects.set(id, new Set());
    protects.get(id)!.add(server);
  };
  const servers = [...new Set(sorted.flatMap((m) => m.servers.map((e) => e.server)))].sort();
  for (const server of servers) {
    const holds = (m: PrunableSet) => m.servers.some((e) => e.server === server && e.status === 'ok');
    const good = newestFirst.filter((m) => isGoodSet(m) && holds(m));
    for (const m of good.slice(0, keepGood)) protect(m.id, server);
    if (good.length < keepGood) {
      for (const m of newestFirst) {
        if (m.servers.some((e) => e.server === server && e.status === 'ok' && e.verify?.ok !== false))
          protect(m.id, server);
      }
    }
  }
  const ids = sorted.map((m) => m.id);
  if (protects.size === 0) return { keep: ids, remove: [], protects: {} };
  const oldest = [...protects.keys()].sort()[0]!;
  return {
    keep: ids.filter((id) => id >= oldest),
    remove: ids.filter((id) => id < oldest),
    protects: Object.fromEntries([...protects].sort(([a], [b]) => a.localeCompare(b)).map(([id, s]) => [id, [...s]])),
  };
}

/**
 * `backups prune --retention`: a set goes only when every point-in-time window it anchors is older
 * than the retention. For each server with an ok backup in the set, the window runs from the set to
 * the server's next ok backup in a newer set (to now for its newest one: binlogs extend it); it is
 * older than the retention when that next backup was taken before `now - retention`. A server with no
 * retention (`retentionMs` undefined) keeps every set holding it. Sets holding no ok backup anchor
 * nothing and go once they are older than every retention. Pure: manifests and times in, ids out.
 */
export function selectRetention(
  manifests: PrunableSet[],
  retentionMs: (server: string) => number | undefined,
  now: Date,
  timeOf: (id: string) => Date | undefined,
): { keep: string[]; remove: string[] } {
  const sorted = [...manifests].sort((a, b) => a.id.localeCompare(b.id));
  const holds = (m: PrunableSet, server: string) =>
    m.servers.some((e) => e.server === server && e.status === 'ok' && e.verify?.ok !== false);
  const keep: string[] = [];
  const remove: string[] = [];
  const servers = [...new Set(sorted.flatMap((m) => m.servers.map((e) => e.server)))];
  const longest = Math.max(0, ...servers.map((s) => retentionMs(s) ?? Number.POSITIVE_INFINITY));
  sorted.forEach((m, i) => {
    const anchored = m.servers.filter((e) => holds(m, e.server)).map((e) => e.server);
    const t = timeOf(m.id);
    if (anchored.length === 0) {
      // Nothing to restore from it: it goes once older than every retention.
      if (t && now.getTime() - t.getTime() > longest) remove.push(m.id);
      else keep.push(m.id);
      return;
    }
    const stillNeeded = anchored.some((server) => {
      const ms = retentionMs(server);
      if (ms === undefined) return true;
      const next = sorted.slice(i + 1).find((n) => holds(n, server));
      const end = next ? timeOf(next.id) : undefined;
      return !end || end.getTime() > now.getTime() - ms;
    });
    (stillNeeded ? keep : remove).push(m.id);
  });
  return { keep, remove };
}
