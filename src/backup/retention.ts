// Which sets `dbps backups prune --keep N` removes. Pure: manifests in, ids out.
import type { BackupManifest } from './manifest.js';

export interface PruneSelection {
  keep: string[];
  remove: string[];
}

/**
 * Keeps the N newest complete sets and everything newer than the oldest of them. Partial sets in
 * that window stay because their archived binlogs are part of the point-in-time chain of the kept
 * sets; sets older than the oldest kept complete set are no starting point for any restore we keep.
 * With fewer than N complete sets nothing is removed.
 */
export function selectPrune(manifests: Pick<BackupManifest, 'id' | 'status'>[], keepComplete: number): PruneSelection {
  if (!Number.isInteger(keepComplete) || keepComplete < 1)
    throw new Error('--keep must be a whole number of at least 1');
  const sorted = [...manifests].sort((a, b) => a.id.localeCompare(b.id));
  const complete = sorted.filter((m) => m.status === 'complete');
  if (complete.length <= keepComplete) return { keep: sorted.map((m) => m.id), remove: [] };
  const oldestKept = complete[complete.length - keepComplete]!.id;
  return {
    keep: sorted.filter((m) => m.id >= oldestKept).map((m) => m.id),
    remove: sorted.filter((m) => m.id < oldestKept).map((m) => m.id),
  };
}
