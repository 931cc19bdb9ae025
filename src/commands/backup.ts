// dbps backup: one backup set of the selected local servers. Returns the manifest; never prints.
import path from 'node:path';
import { type BackupManifest, type BackupMethod, type Compression, newHistoryId } from '../backup/manifest.js';
import { takeBackupSet } from '../backup/take.js';
import { backupTargets, defaultBackupRoot, logicalTargets } from '../backup/targets.js';
import { loadFleet } from '../config/load.js';
import { ExitCode, type ExitCodeValue, UsageError } from '../errors.js';
import { selectServers } from '../fleet/select.js';
import { requireBinary, requireTool } from '../runtime/binaries.js';
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
  /** `physical` (mariadb-backup, local servers only) or `logical` (mariadb-dump, any server); default: physical for local servers, logical for external ones. */
  method?: BackupMethod;
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
  // The connector loads while services.yaml's cache and the state dir are read: the servers' preflight
  // connections are on the way to the first copy.
  import('mariadb').catch(() => undefined);
  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  const selected = selectServers(fleet, opts.services);
  const warnings: string[] = [];
  const method = opts.method;
  const external = selected.filter((s) => s.driver === 'external');
  if (method === 'physical' && external.length) {
    throw new UsageError(
      `${external.map((s) => `"${s.name}"`).join(', ')} ${external.length === 1 ? 'is an external server' : 'are external servers'}; mariadb-backup copies files, so --method physical backs up local servers only`,
      {
        hint: 'leave out --method (external servers are backed up with mariadb-dump), or name only local services',
      },
    );
  }
  const local = selected.filter((s) => s.driver === 'local');
  // Local servers: physical unless --method logical; external servers: always logical (over SQL).
  const physical = method === 'logical' ? [] : local;
  const logical = [...(method === 'logical' ? local : []), ...external].filter((s) => s.services.length > 0);
  if (physical.length === 0 && logical.length === 0)
    throw new UsageError('no server with a service to back up', { hint: 'declare services in services.yaml' });
  // A missing tool is one clear error before any set directory exists.
  const backupTool = physical.length ? requireBinary('mariadb-backup', env) : undefined;
  if (logical.length) requireBinary('mariadb-dump', env);
  if (logical.length) requireTool('zstd', env);
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
  const targets = (await backupTargets(physical, state, opts.stateDir, env)).map((t) => ({ ...t, timeouts }));
  const logicalTargetList = (await logicalTargets(fleet, logical, state, opts.stateDir, env)).map((t) => ({
    ...t,
    timeouts,
  }));
  const dest = path.resolve(opts.dest ?? defaultBackupRoot(opts.stateDir));
  await requireDirPath('--dest', dest);
  const { manifest, dir } = await takeBackupSet({
    fleet: fleet.name,
    targets,
    logical: logicalTargetList,
    dest,
    parallel: opts.parallel ?? targets.length,
    threads: opts.threads ?? 2,
    compress: opts.compress,
    prepare: opts.prepare,
    ...(opts.runJobs ? { runJobs: opts.runJobs } : {}),
    ...(backupTool ? { toolVersionCache: { binary: backupTool, cacheDir: path.join(opts.stateDir, 'cache') } } : {}),
    chunkMemoryDir: path.join(opts.stateDir, 'cache'),
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
