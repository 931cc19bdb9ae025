// dbps restore ID [service...] [--to-time T]: bring servers back to a backup set, optionally rolled
// forward to one common moment. Destructive for the running data, so it asks first (or --yes).
import path from 'node:path';
import { listSets } from '../backup/manifest.js';
import { type RestoreProgress, type RestoreServerResult, restoreFromSet } from '../backup/restore.js';
import { defaultBackupRoot, restoreTargets } from '../backup/targets.js';
import { loadFleet } from '../config/load.js';
import { ExitCode, type ExitCodeValue, UsageError } from '../errors.js';
import { selectServers } from '../fleet/select.js';
import { driverFor } from '../runtime/driver.js';
import { readState, updateState } from '../runtime/state.js';
import { quoted } from '../util/printable.js';
import { parseMemoryScale } from './up.js';

export interface RestoreOptions {
  file: string;
  stateDir: string;
  id: string;
  services: string[];
  dest?: string;
  toTime?: Date;
  /** Check the set's recorded sha256 checksums before anything is stopped (default); false restores a damaged set anyway. */
  verifyChecksums?: boolean;
  /** Asked before anything is stopped; --yes answers it. */
  confirm: (question: string) => Promise<boolean>;
  /** As `dbps up --memory-scale`: the restored servers restart with the same my.cnf. */
  memoryScale?: string;
  env?: NodeJS.ProcessEnv;
  onProgress?: (p: RestoreProgress) => void;
}

export interface RestoreResult {
  command: 'restore';
  id: string;
  toTime?: string;
  servers: RestoreServerResult[];
  exitCode: ExitCodeValue;
}

/** Parses --to-time; a time without a zone would be ambiguous, so it is refused. */
export function parseToTime(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim())) {
    throw new UsageError(`--to-time "${text}" has no time zone`, {
      hint: 'write it in ISO 8601 with a zone, e.g. 2026-11-25T17:30:00Z or 2026-11-25T18:30:00+01:00',
    });
  }
  const d = new Date(text);
  if (Number.isNaN(d.getTime()))
    throw new UsageError(`--to-time "${text}" is not an ISO 8601 time`, { hint: 'e.g. 2026-11-25T17:30:00Z' });
  return d;
}

/** Restores the selected servers (every server of the set when none is named). */
export async function run(opts: RestoreOptions): Promise<RestoreResult> {
  const env = opts.env ?? process.env;
  const fleet = await loadFleet(opts.file);
  const root = path.resolve(opts.dest ?? defaultBackupRoot(opts.stateDir));
  const sets = await listSets(root);
  const set =
    opts.id === 'latest' ? sets.filter((s) => s.manifest).pop() : sets.find((s) => path.basename(s.dir) === opts.id);
  if (!set?.manifest)
    throw new UsageError(`no usable backup set ${quoted(opts.id)} in ${root}`, { hint: 'see `dbps backups list`' });
  const manifest = set.manifest;
  const inSet = new Set(manifest.servers.map((e) => e.server));
  const servers = opts.services.length
    ? selectServers(fleet, opts.services)
    : fleet.servers.filter((s) => inSet.has(s.name));
  const external = servers.filter((s) => s.driver !== 'local');
  if (external.length)
    throw new UsageError(
      `${external.map((s) => `"${s.name}"`).join(', ')} is not a local server; dbps restores local servers only`,
    );
  const state = await readState(opts.stateDir);
  const targets = restoreTargets(servers, state);
  const what = `${servers.map((s) => s.name).join(', ')} from set ${manifest.id}${opts.toTime ? ` rolled forward to ${opts.toTime.toISOString()}` : ''}`;
  if (!(await opts.confirm(`Stop and restore ${what}? The current datadirs are moved aside, not deleted.`))) {
    throw new UsageError('restore not confirmed', { hint: 'pass --yes to restore without asking' });
  }
  const memoryScale = parseMemoryScale(opts.memoryScale, env);
  const byName = new Map(servers.map((s) => [s.name, s]));
  const control = {
    async stop(name: string) {
      const server = byName.get(name)!;
      const driver = await driverFor(server);
      await driver.stop(
        server,
        { fleet, stateDir: opts.stateDir, state: await readState(opts.stateDir), env, progress: () => undefined },
        { destroy: false },
      );
    },
    async start(name: string) {
      const server = byName.get(name)!;
      const driver = await driverFor(server);
      const current = await readState(opts.stateDir);
      await driver.start(
        server,
        { fleet, stateDir: opts.stateDir, state: current, env, progress: () => undefined },
        { port: current.servers[name]!.port, memoryScale },
      );
    },
    async setHistory(name: string, history: string) {
      await updateState(opts.stateDir, (s) => {
        const e = s.servers[name];
        if (e) e.history = history;
      });
    },
  };
  const results = await restoreFromSet({
    setDir: set.dir,
    manifest,
    sets,
    targets,
    control,
    workRoot: path.join(root, '.work'),
    verifyChecksums: opts.verifyChecksums !== false,
    ...(opts.toTime ? { toTime: opts.toTime } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  return {
    command: 'restore',
    id: manifest.id,
    ...(opts.toTime ? { toTime: opts.toTime.toISOString() } : {}),
    servers: results,
    exitCode: ExitCode.ok,
  };
}
