// dbps backups [list|show ID|verify ID|prune --keep N]: what backup sets exist, and keeping them honest.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { archivePrunable, archiveRoot, readArchiveIndex, removeArchived } from '../backup/archive.js';
import { abandonedTempSets, type BackupManifest, type ListedSet, listSets, setIdTime } from '../backup/manifest.js';
import { binlogCandidates } from '../backup/restore.js';
import { selectPrune, selectRetention } from '../backup/retention.js';
import { defaultBackupRoot } from '../backup/targets.js';
import { type VerifyProgress, verifySet } from '../backup/verify.js';
import { type RestoreWindow, restoreWindows } from '../backup/windows.js';
import { durationSeconds } from '../config/outbox-retention.js';
import { ExitCode, type ExitCodeValue, UsageError } from '../errors.js';
import { ownerTextAlive } from '../runtime/lock.js';
import { quoted } from '../util/printable.js';
import { someNames } from '../util/suggest.js';

export type BackupsAction = 'list' | 'show' | 'verify' | 'prune';

export interface BackupsOptions {
  stateDir: string;
  dest?: string;
  action: BackupsAction;
  id?: string;
  keep?: number;
  /** prune: a duration for every server, or true for each server's longest `backup.retention` in services.yaml. */
  retention?: string | true;
  /** services.yaml, read by `prune --retention` without a duration. */
  file?: string;
  /** Limit verify to these servers. */
  servers?: string[];
  dryRun?: boolean;
  onProgress?: (p: VerifyProgress) => void;
}

export interface SetSummary {
  id: string;
  status: 'complete' | 'partial' | 'damaged';
  servers: { server: string; services: string[]; status: 'ok' | 'failed'; verified?: boolean }[];
  sizeBytes: number;
  startedAt?: string;
  problem?: string;
}

export type BackupsResult =
  | {
      command: 'backups';
      action: 'list';
      root: string;
      sets: SetSummary[];
      /** Per server, the spans of time it can be restored to from this root (sets + archived binlogs). */
      windows: RestoreWindow[];
      exitCode: ExitCodeValue;
    }
  | {
      command: 'backups';
      action: 'show';
      root: string;
      manifest: BackupManifest;
      windows: RestoreWindow[];
      exitCode: ExitCodeValue;
    }
  | {
      command: 'backups';
      action: 'verify';
      root: string;
      manifest: BackupManifest;
      ok: boolean;
      exitCode: ExitCodeValue;
    }
  | {
      command: 'backups';
      action: 'prune';
      root: string;
      kept: string[];
      removed: string[];
      /** Half-written `.tmp-<id>` sets of killed backups, removed (or, with --dry-run, to remove). */
      abandoned: string[];
      /** Set id → the servers whose newest good backups it holds. */
      protects: Record<string, string[]>;
      /** Archived binlogs (server/history/file) no kept set can replay, removed (or, with --dry-run, to remove). */
      binlogsRemoved: string[];
      dryRun: boolean;
      exitCode: ExitCodeValue;
    };

/** A one-line view of a set for `list`. */
export function summarise(s: ListedSet): SetSummary {
  const m = s.manifest;
  if (!m)
    return {
      id: path.basename(s.dir),
      status: 'damaged',
      servers: [],
      sizeBytes: 0,
      ...(s.problem ? { problem: s.problem } : {}),
    };
  return {
    id: m.id,
    status: m.status,
    startedAt: m.startedAt,
    sizeBytes: m.servers.reduce(
      // A failed entry's files were removed: only ok entries hold bytes.
      (n, e) => (e.status === 'ok' ? n + (e.sizeBytes ?? 0) + e.archivedBinlogs.reduce((k, b) => k + b.size, 0) : n),
      0,
    ),
    servers: m.servers.map((e) => ({
      server: e.server,
      services: e.services,
      status: e.status,
      ...(e.verify ? { verified: e.verify.ok } : {}),
    })),
  };
}

/** The set named `id`, or the newest usable one when `id` is `latest` or not given. */
async function findSet(root: string, given: string | undefined): Promise<ListedSet> {
  const id = given ?? 'latest';
  const sets = await listSets(root);
  const found = id === 'latest' ? sets.filter((s) => s.manifest).pop() : sets.find((s) => path.basename(s.dir) === id);
  if (!found)
    throw new UsageError(`no backup set ${quoted(id)} in ${root}`, {
      hint: sets.length
        ? `newest sets: ${someNames(sets.map((s) => path.basename(s.dir)).reverse())}`
        : 'no sets yet: run `dbps backup`',
    });
  if (!found.manifest)
    throw new UsageError(`backup set ${quoted(id)} is not usable: ${found.problem ?? 'no manifest'}`);
  return found;
}

/** Servers with an archive under the root. */
async function archivedServers(root: string): Promise<string[]> {
  try {
    return (await readdir(archiveRoot(root), { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

/** The restore windows of every server with a set under `root`. */
export async function windowsOf(root: string, sets: ListedSet[]): Promise<RestoreWindow[]> {
  const manifests = sets.filter((s) => s.manifest).map((s) => s.manifest!);
  const servers = [...new Set(manifests.flatMap((m) => m.servers.map((e) => e.server)))];
  const candidates = new Map(
    await Promise.all(
      servers.map(
        async (server) =>
          [
            server,
            await binlogCandidates({
              setId: '',
              sets,
              backupRoot: root,
              server,
              datadir: '',
              liveCoveredUntil: new Date(0),
            }),
          ] as const,
      ),
    ),
  );
  return restoreWindows(manifests, (server) => candidates.get(server) ?? []);
}

/**
 * Retention per server for `prune --retention`: the duration given, or the longest `backup.retention`
 * of the server's services in services.yaml (none: the server's sets are kept).
 */
async function retentionOf(opts: BackupsOptions): Promise<(server: string) => number | undefined> {
  if (opts.retention !== true && opts.retention !== undefined) {
    if (!/^[0-9]+[hdw]$/.test(opts.retention) || Number.parseInt(opts.retention, 10) === 0)
      throw new UsageError(`--retention "${opts.retention}" is not a duration such as 72h, 7d or 2w`);
    const ms = durationSeconds(opts.retention) * 1000;
    return () => ms;
  }
  const { loadFleet } = await import('../config/load.js');
  const fleet = await loadFleet(opts.file ?? 'services.yaml');
  const byServer = new Map<string, number>();
  for (const svc of fleet.services) {
    if (!svc.backup?.retention) continue;
    const ms = durationSeconds(svc.backup.retention) * 1000;
    byServer.set(svc.server, Math.max(byServer.get(svc.server) ?? 0, ms));
  }
  return (server) => byServer.get(server);
}

/** Lists, shows, verifies or prunes backup sets. */
export async function run(opts: BackupsOptions): Promise<BackupsResult> {
  const root = path.resolve(opts.dest ?? defaultBackupRoot(opts.stateDir));
  switch (opts.action) {
    case 'list': {
      const sets = await listSets(root);
      return {
        command: 'backups',
        action: 'list',
        root,
        sets: sets.map(summarise),
        windows: await windowsOf(root, sets),
        exitCode: ExitCode.ok,
      };
    }
    case 'show': {
      const manifest = (await findSet(root, opts.id)).manifest!;
      const mine = new Set(manifest.servers.map((e) => e.server));
      return {
        command: 'backups',
        action: 'show',
        root,
        manifest,
        windows: (await windowsOf(root, await listSets(root))).filter((w) => mine.has(w.server)),
        exitCode: ExitCode.ok,
      };
    }
    case 'verify': {
      const set = await findSet(root, opts.id);
      const manifest = await verifySet(set.dir, {
        workRoot: path.join(root, '.work'),
        ...(opts.servers?.length ? { servers: opts.servers } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      });
      const checked = manifest.servers.filter(
        (e) => e.verify && (!opts.servers?.length || opts.servers.includes(e.server)),
      );
      const ok = checked.length > 0 && checked.every((e) => e.verify!.ok) && manifest.status === 'complete';
      return {
        command: 'backups',
        action: 'verify',
        root,
        manifest,
        ok,
        exitCode: ok ? ExitCode.ok : ExitCode.operational,
      };
    }
    case 'prune': {
      if (opts.retention === undefined && (opts.keep === undefined || !Number.isInteger(opts.keep) || opts.keep < 1)) {
        throw new UsageError('prune needs --keep N (a whole number of at least 1) or --retention', {
          hint: 'e.g. `dbps backups prune --keep 7`, or `dbps backups prune --retention` (backup.retention of services.yaml)',
        });
      }
      const sets = await listSets(root);
      const usable = sets.filter((s) => s.manifest).map((s) => s.manifest!);
      const selection =
        opts.retention !== undefined
          ? {
              ...selectRetention(usable, await retentionOf(opts), new Date(), setIdTime),
              protects: {},
            }
          : selectPrune(usable, opts.keep!);
      const abandoned = await abandonedTempSets(root, ownerTextAlive);
      // Archived binlogs no kept set can replay go with the sets that needed them.
      const kept = usable.filter((m) => selection.keep.includes(m.id));
      const binlogsRemoved: string[] = [];
      for (const server of await archivedServers(root)) {
        const index = await readArchiveIndex(root, server);
        const starts = kept.flatMap((m) =>
          m.servers
            .filter((e) => e.server === server && e.status === 'ok' && (e.binlog || e.position))
            .map((e) => ({
              ...(e.history ? { history: e.history } : {}),
              file: e.binlog?.file ?? e.position!.file,
            })),
        );
        const drop = archivePrunable(index, starts);
        if (opts.dryRun) {
          for (const h of index.histories)
            for (const f of h.files) if (drop(h, f)) binlogsRemoved.push(`${server}/${f.path}`);
        } else {
          for (const f of await removeArchived(root, index, drop)) binlogsRemoved.push(`${server}/${f.path}`);
        }
      }
      if (!opts.dryRun) {
        for (const id of selection.remove) await rm(path.join(root, id), { recursive: true, force: true });
        for (const dir of abandoned) await rm(dir, { recursive: true, force: true });
      }
      return {
        command: 'backups',
        action: 'prune',
        root,
        kept: selection.keep,
        removed: selection.remove,
        abandoned: abandoned.map((d) => path.basename(d)),
        protects: selection.protects,
        binlogsRemoved,
        dryRun: opts.dryRun === true,
        exitCode: ExitCode.ok,
      };
    }
  }
}
