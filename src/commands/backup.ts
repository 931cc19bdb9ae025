// dbps backup: one backup set of the selected local servers. Returns the manifest; never prints.
import path from 'node:path';
import { type BackupManifest, type Compression, newHistoryId } from '../backup/manifest.js';
import { takeBackupSet } from '../backup/take.js';
import { backupTargets, defaultBackupRoot } from '../backup/targets.js';
import { loadFleet } from '../config/load.js';
import { ExitCode, type ExitCodeValue, UsageError } from '../errors.js';
import { selectServers } from '../fleet/select.js';
import { requireBinary } from '../runtime/binaries.js';
import { resolveTimeouts } from '../runtime/fanout.js';
import type { JobRunner } from '../runtime/jobs.js';
import { readState, updateState } from '../runtime/state.js';
import { requireDirPath } from '../util/dir-arg.js';

export interface BackupOptions {
  file: string;
  stateDir: string;
  services: string[];
  dest?: string;
  /** Servers backed up at once; default all. */
  parallel?: number;
  /** mariadb-backup copy threads per server. */
  threads?: number;
  compress: Compression;
  prepare: boolean;
  /** --timeout: seconds for connecting and for each SQL step (version check, FLUSH BINARY LOGS). */
  timeoutSeconds?: number;
  env?: NodeJS.ProcessEnv;
  runJobs?: JobRunner;
}

export interface BackupResult {
  command: 'backup';
  id: string;
  dir: string;
  manifest: BackupManifest;
  warnings: string[];
  exitCode: ExitCodeValue;
}

/** Backs up every selected local server into one set; a failed server makes the set partial (exit 3). */
export async function run(opts: BackupOptions): Promise<BackupResult> {
  const env = opts.env ?? process.env;
  const fleet = await loadFleet(opts.file);
  const selected = selectServers(fleet, opts.services);
  const warnings: string[] = [];
  const external = selected.filter((s) => s.driver === 'external');
  if (external.length && opts.services.length) {
    throw new UsageError(
      `${external.map((s) => `"${s.name}"`).join(', ')} ${external.length === 1 ? 'is an external server' : 'are external servers'}; mariadb-backup copies files, so it backs up local servers only`,
      {
        hint: "run mariadb-backup on that server's own machine",
      },
    );
  }
  for (const s of external)
    warnings.push(
      `server "${s.name}" is external and was not backed up (mariadb-backup can only copy a local server's files)`,
    );
  const local = selected.filter((s) => s.driver === 'local');
  if (local.length === 0)
    throw new UsageError('no local server to back up', { hint: 'start the fleet with `dbps up`' });
  // A missing tool is one clear error before any set directory exists.
  requireBinary('mariadb-backup', env);
  // A server backed up for the first time since its datadir was created (or since an older dbps) gets
  // its binlog history id now, so its backups and archived binlogs are tagged from here on.
  let state = await readState(opts.stateDir);
  if (local.some((s) => state.servers[s.name] && !state.servers[s.name]!.history)) {
    state = await updateState(opts.stateDir, (st) => {
      for (const s of local) {
        const e = st.servers[s.name];
        if (e && !e.history) e.history = newHistoryId(new Date());
      }
    });
  }
  const timeouts = resolveTimeouts(fleet, opts.timeoutSeconds);
  const targets = (await backupTargets(local, state, opts.stateDir, env)).map((t) => ({ ...t, timeouts }));
  const dest = path.resolve(opts.dest ?? defaultBackupRoot(opts.stateDir));
  await requireDirPath('--dest', dest);
  const { manifest, dir } = await takeBackupSet({
    fleet: fleet.name,
    targets,
    dest,
    parallel: opts.parallel ?? targets.length,
    threads: opts.threads ?? 2,
    compress: opts.compress,
    prepare: opts.prepare,
    ...(opts.runJobs ? { runJobs: opts.runJobs } : {}),
  });
  for (const e of manifest.servers) {
    if (e.status === 'ok' && e.binlog === null)
      warnings.push(
        `server "${e.server}" has no binary log (log_bin off): its backup restores, but not to a point in time`,
      );
  }
  return {
    command: 'backup',
    id: manifest.id,
    dir,
    manifest,
    warnings,
    exitCode: manifest.status === 'complete' ? ExitCode.ok : ExitCode.operational,
  };
}
