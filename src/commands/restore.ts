// dbps restore ID [service...] [--to-time T]: bring servers back to a backup set, optionally rolled
// forward to one common moment. Destructive for the running data, so it asks first (or --yes).
import path from 'node:path';
import { type LogicalRestoreTarget, restoreLogical } from '../backup/logical.js';
import { type BackupManifest, listSets, type ServerBackup } from '../backup/manifest.js';
import {
  type RestoreProgress,
  type RestoreServerResult,
  restoreFromSet,
  resumeRestore,
  rollBack,
  type ServerControl,
} from '../backup/restore.js';
import type { DatabaseRestoreResult } from '../backup/restore-database.js';
import { defaultBackupRoot, restoreTargets } from '../backup/targets.js';
import { loadFleet } from '../config/load.js';
import { ExitCode, type ExitCodeValue, OperationalError, UsageError } from '../errors.js';
import type { Fleet, FleetServer } from '../fleet/model.js';
import { selectServers } from '../fleet/select.js';
import { adminTarget } from '../runtime/admin.js';
import { requireBinary } from '../runtime/binaries.js';
import { driverFor } from '../runtime/driver.js';
import { boundedTarget, resolveTimeouts } from '../runtime/fanout.js';
import { localServerPid } from '../runtime/local.js';
import { interruptedRestoreText } from '../runtime/restore-record.js';
import { readState, updateState } from '../runtime/state.js';
import { requireDirPath } from '../util/dir-arg.js';
import { quoted } from '../util/printable.js';
import { didYouMean, someNames } from '../util/suggest.js';
import { parseMemoryScale } from './up.js';

export interface RestoreOptions {
  file: string;
  stateDir: string;
  /** Set id, `latest`; ignored by --resume and --rollback (they use the recorded set). */
  id?: string;
  /** Finish an interrupted restore (`resume`) or put the moved-aside datadir back (`rollback`). */
  finish?: 'resume' | 'rollback';
  services: string[];
  dest?: string;
  toTime?: Date;
  /** Restore logical backups into this declared server instead of the one they were taken from. */
  targetServer?: string;
  /** Check the set's recorded sha256 checksums before anything is stopped (default); false restores a damaged set anyway. */
  verifyChecksums?: boolean;
  /** With verifyChecksums false: restore even a set whose recorded `backups verify` failed. */
  force?: boolean;
  /** Asked before anything is stopped; --yes answers it. */
  confirm: (question: string) => Promise<boolean>;
  /** As `dbps up --memory-scale`: the restored servers restart with the same my.cnf. */
  memoryScale?: string;
  /** --timeout: seconds for connecting and for each SQL step (GTID reset, the check after the start). */
  timeoutSeconds?: number;
  /** `--database`: restore only the named services' databases (logical; neighbours left as they are). */
  database?: boolean;
  env?: NodeJS.ProcessEnv;
  onProgress?: (p: RestoreProgress) => void;
}

export interface RestoreResult {
  command: 'restore';
  id: string;
  /** Set for --resume / --rollback. */
  finished?: 'resume' | 'rollback';
  toTime?: string;
  /** Each restored server with the services on it (all of them went back to the set). */
  servers: (RestoreServerResult & { services?: string[] })[];
  /** `--database`: the databases restored alone, each with where its previous tables are kept. */
  databases?: DatabaseRestoreResult[];
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

function controlFor(
  fleet: Fleet,
  servers: FleetServer[],
  stateDir: string,
  env: NodeJS.ProcessEnv,
  memoryScale: number,
): ServerControl {
  const byName = new Map(servers.map((s) => [s.name, s]));
  const ctx = async () => ({ fleet, stateDir, state: await readState(stateDir), env, progress: () => undefined });
  return {
    async stop(name) {
      const server = byName.get(name)!;
      await (await driverFor(server)).stop(server, await ctx(), { destroy: false });
    },
    async start(name) {
      const server = byName.get(name)!;
      const c = await ctx();
      await (await driverFor(server)).start(server, c, { port: c.state.servers[name]!.port, memoryScale });
    },
    async running(name) {
      const c = await ctx();
      return (await localServerPid(stateDir, name, c.state.servers[name])) !== undefined;
    },
    async update(name, change) {
      await updateState(stateDir, (s) => {
        const e = s.servers[name];
        if (e) change(e);
      });
    },
  };
}

/** Restores the selected servers (every server of the set when none is named). */
export async function run(opts: RestoreOptions): Promise<RestoreResult> {
  const env = opts.env ?? process.env;
  let logicalDone: RestoreServerResult[] = [];
  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  if (opts.finish) return finishInterrupted(opts, fleet, env);
  if (!opts.id)
    throw new UsageError('name the backup set to restore', {
      hint: 'e.g. `dbps restore latest`; `dbps backups list` shows the sets',
    });
  const root = path.resolve(opts.dest ?? defaultBackupRoot(opts.stateDir));
  await requireDirPath('--dest', root);
  const sets = await listSets(root);
  const set =
    opts.id === 'latest' ? sets.filter((s) => s.manifest).pop() : sets.find((s) => path.basename(s.dir) === opts.id);
  if (!set?.manifest)
    throw new UsageError(`no usable backup set ${quoted(opts.id)} in ${root}`, { hint: 'see `dbps backups list`' });
  const manifest = set.manifest;
  if (opts.database) return restoreDatabases(opts, fleet, set.dir, manifest, root);
  const inSet = new Set(manifest.servers.map((e) => e.server));
  const selected = opts.services.length
    ? selectServers(fleet, opts.services)
    : fleet.servers.filter((s) => inSet.has(s.name));
  const entryOf = (name: string) => manifest.servers.find((e) => e.server === name && e.status === 'ok');
  // Servers whose entry in the set is a logical dump are restored over SQL (any server); the rest physically (local only).
  const logicalServers = selected.filter((s) => entryOf(s.name)?.method === 'logical');
  const servers = selected.filter((s) => entryOf(s.name)?.method !== 'logical');
  const external = servers.filter((s) => s.driver !== 'local');
  if (external.length)
    throw new UsageError(
      `${external.map((s) => `"${s.name}"`).join(', ')} has no logical backup in set ${manifest.id}, and a physical restore works on local servers only`,
      { hint: 'take one with `dbps backup` (external servers are dumped with mariadb-dump) and restore that set' },
    );
  if (opts.targetServer !== undefined && servers.length)
    throw new UsageError(
      `--target-server restores logical backups only; ${servers.map((s) => `"${s.name}"`).join(', ')} ${servers.length === 1 ? 'has' : 'have'} a physical backup in set ${manifest.id}`,
      { hint: 'name only services of servers backed up logically, or take a set with `dbps backup --method logical`' },
    );
  if (logicalServers.length) {
    const done = await restoreLogicalServers(opts, fleet, env, set.dir, manifest, logicalServers, root);
    if (servers.length === 0) return { command: 'restore', id: manifest.id, servers: done, exitCode: ExitCode.ok };
    logicalDone = done;
  }
  const state = await readState(opts.stateDir);
  // The same restore again (same set, same --to-time) after it was interrupted finishes it, as --resume.
  const sameRestore = (s: FleetServer) => {
    const r = state.servers[s.name]?.restore;
    return r?.set === manifest.id && r.toTime === opts.toTime?.toISOString();
  };
  if (servers.length && servers.every(sameRestore)) {
    const { id: _set, ...rest } = opts;
    return finishInterrupted({ ...rest, finish: 'resume', services: servers.map((s) => s.name) }, fleet, env);
  }
  const timeouts = resolveTimeouts(fleet, opts.timeoutSeconds);
  const targets = restoreTargets(servers, state).map((t) => ({ ...t, timeouts }));
  for (const t of targets) {
    if (t.restore)
      throw new OperationalError(interruptedRestoreText(t.server, t.restore).message, {
        server: t.server,
        hint: interruptedRestoreText(t.server, t.restore).hint,
      });
  }
  if (opts.verifyChecksums === false && !opts.force) {
    const failed = manifest.servers.filter((e) => targets.some((t) => t.server === e.server) && e.verify?.ok === false);
    if (failed.length)
      throw new OperationalError(
        `backup set ${manifest.id} failed \`dbps backups verify\` for ${failed.map((e) => `"${e.server}" (${e.verify!.reason ?? 'verify failed'})`).join(', ')}; nothing was stopped`,
        {
          server: failed[0]!.server,
          hint: 'restore another set (`dbps backups list`), or add --force to restore this damaged one anyway',
        },
      );
  }
  const what = `${someNames(servers.map((s) => s.name))} from set ${manifest.id}${opts.toTime ? ` rolled forward to ${opts.toTime.toISOString()}` : ''}`;
  const question = `Stop and restore ${what}? ${goesBackText(servers, opts.services)} The current datadirs are moved aside, not deleted.`;
  if (!(await opts.confirm(question))) {
    throw new UsageError('restore not confirmed', { hint: `${question} Pass --yes to restore without asking.` });
  }
  const memoryScale = parseMemoryScale(opts.memoryScale, env);
  const control = controlFor(fleet, servers, opts.stateDir, env, memoryScale);
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
  const servicesOf = new Map(servers.map((s) => [s.name, s.services]));
  return {
    command: 'restore',
    id: manifest.id,
    ...(opts.toTime ? { toTime: opts.toTime.toISOString() } : {}),
    servers: [...logicalDone, ...results.map((r) => ({ ...r, services: servicesOf.get(r.server) ?? [] }))],
    exitCode: ExitCode.ok,
  };
}

/**
 * Logical entries: into each backed-up server (or --target-server), only the named services' databases
 * when services are named. Checksums, loads into scratch databases, then swaps (src/backup/logical.ts).
 */
async function restoreLogicalServers(
  opts: RestoreOptions,
  fleet: Fleet,
  env: NodeJS.ProcessEnv,
  setDir: string,
  manifest: BackupManifest,
  servers: FleetServer[],
  backupRoot: string,
): Promise<RestoreServerResult[]> {
  const into = opts.targetServer === undefined ? undefined : fleet.servers.find((s) => s.name === opts.targetServer);
  if (opts.targetServer !== undefined && !into)
    throw new UsageError(`--target-server ${quoted(opts.targetServer)} is not a server of services.yaml`, {
      hint: `declared servers: ${someNames(
        fleet.servers.map((s) => s.name),
        5,
      )}`,
    });
  const named = new Set(
    opts.services.flatMap((n) => fleet.services.filter((s) => s.name === n).map((s) => s.database)),
  );
  const items: { entry: ServerBackup; target: LogicalRestoreTarget }[] = [];
  const timeouts = resolveTimeouts(fleet, opts.timeoutSeconds);
  for (const server of servers) {
    const entry = manifest.servers.find((e) => e.server === server.name && e.status === 'ok')!;
    const databases = (entry.databases ?? []).filter((d) => named.size === 0 || named.has(d));
    if (databases.length === 0) continue;
    const dest = into ?? server;
    items.push({
      entry,
      // Every wait bounded by --timeout: the SQL steps, and the mariadb client loading the dump (src/backup/stall-watch.ts).
      target: {
        server: dest.name,
        admin: boundedTarget(await adminTarget(fleet, dest, opts.stateDir, env), timeouts),
        databases,
      },
    });
  }
  const what = items.map((i) => `${someNames(i.target.databases, 3)} into "${i.target.server}"`).join('; ');
  if (
    !(await opts.confirm(
      `Restore ${what} from set ${manifest.id}${opts.toTime ? `, rolled forward to ${opts.toTime.toISOString()} from the archived binlogs` : ''}? Each database is loaded beside the current one, then swapped in; the current tables are dropped once every swap succeeded.`,
    ))
  )
    throw new UsageError('restore not confirmed', { hint: 'pass --yes to restore without asking' });
  requireBinary('mariadb', env);
  const results = await restoreLogical({
    setDir,
    setId: manifest.id,
    items,
    backupRoot,
    ...(opts.toTime ? { toTime: opts.toTime } : {}),
    ...(opts.onProgress
      ? {
          onProgress: (p) =>
            opts.onProgress!({
              server: p.server,
              phase: 'check',
              ...(p.message ? { message: `${p.phase} ${p.message}` } : { message: p.phase }),
            } as RestoreProgress),
        }
      : {}),
  });
  return results.map((r) => ({
    server: r.server,
    movedAside: '',
    history: '',
    method: 'logical',
    from: r.from,
    databases: r.databases,
    ...(r.position?.gtid ? { gtid: r.position.gtid } : {}),
  }));
}

/**
 * Which services go back in time: a physical restore takes a whole server back, so every service on it
 * is named (bounded at any fleet size), and the ones the command line did not name are said to be extra.
 */
export function goesBackText(servers: readonly FleetServer[], named: readonly string[]): string {
  const all = servers.flatMap((s) => s.services);
  const text =
    all.length === 1
      ? `Service ${all[0]} goes back to the set.`
      : `These ${all.length} services go back to the set: ${someNames(all, 3)}.`;
  const namedSet = new Set(named);
  const extra = named.length ? all.filter((s) => !namedSet.has(s)) : [];
  if (extra.length === 0) return text;
  const one = named.filter((n) => all.includes(n));
  return `${text} Not only ${someNames(one.length ? one : named, 3)}: ${someNames(extra, 3)} share${extra.length === 1 ? 's' : ''} the server and go${extra.length === 1 ? 'es' : ''} back too (\`--database\` restores one service's database alone).`;
}

/** `--database`: each named service's database alone, from its server's backup in the set. */
async function restoreDatabases(
  opts: RestoreOptions,
  fleet: Fleet,
  setDir: string,
  manifest: BackupManifest,
  root: string,
): Promise<RestoreResult> {
  if (opts.toTime)
    throw new UsageError('--database restores the backup point only; --to-time needs a whole-server restore', {
      hint: 'drop --to-time, or restore the server without --database',
    });
  if (opts.services.length === 0)
    throw new UsageError('--database needs the services whose databases to restore', {
      hint: `e.g. \`dbps restore ${manifest.id} orders --database\``,
    });
  const env = opts.env ?? process.env;
  const state = await readState(opts.stateDir);
  const plans = opts.services.map((name) => {
    const service = fleet.services.find((s) => s.name === name);
    if (!service) {
      const server = fleet.servers.find((s) => s.name === name);
      throw new UsageError(
        server
          ? `${quoted(name)} is a server; --database restores the database of a service (${someNames(server.services)})`
          : `${quoted(name)} is not a service${didYouMean(
              name,
              fleet.services.map((s) => s.name),
            )}`,
      );
    }
    const server = fleet.servers.find((s) => s.name === service.server)!;
    if (server.driver !== 'local')
      throw new UsageError(
        `service ${quoted(name)} lives on external server "${server.name}"; dbps restores local servers only`,
      );
    const entry = manifest.servers.find((e) => e.server === server.name && e.status === 'ok');
    if (!entry)
      throw new OperationalError(
        `backup set ${manifest.id} has no good backup of server "${server.name}" (service ${quoted(name)})`,
        {
          server: server.name,
          hint: 'see `dbps backups list`',
        },
      );
    const live = state.servers[server.name];
    if (!live)
      throw new OperationalError(`server "${server.name}" has never been started`, {
        server: server.name,
        hint: `run \`dbps up ${server.name}\` first`,
      });
    return { service, server, entry, live, neighbours: server.services.filter((s) => s !== name) };
  });
  const question = plans
    .map(
      (p) =>
        `Restore database ${p.service.database} of service ${p.service.name} (server ${p.server.name}) from set ${manifest.id}? ` +
        (p.neighbours.length
          ? `Only its tables go back: ${someNames(p.neighbours)} on ${p.server.name} ${p.neighbours.length === 1 ? 'is' : 'are'} left as ${p.neighbours.length === 1 ? 'it is' : 'they are'}.`
          : 'Only its tables go back.') +
        ' Its current tables are kept in a database beside it, not deleted.',
    )
    .join(' ');
  if (!(await opts.confirm(question)))
    throw new UsageError('restore not confirmed', { hint: `${question} Pass --yes to restore without asking.` });
  const { restoreDatabase } = await import('../backup/restore-database.js');
  const databases: DatabaseRestoreResult[] = [];
  for (const p of plans) {
    databases.push(
      await restoreDatabase({
        setDir,
        setId: manifest.id,
        entry: p.entry,
        service: p.service,
        neighbours: p.neighbours,
        live: p.live,
        workRoot: path.join(root, '.work'),
        failSwapForTest: env.DBPS_TEST_FAIL_AT === 'restore-database:swap',
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      }),
    );
  }
  return { command: 'restore', id: manifest.id, servers: [], databases, exitCode: ExitCode.ok };
}

/** --resume / --rollback: every selected server with an unfinished restore record. */
async function finishInterrupted(opts: RestoreOptions, fleet: Fleet, env: NodeJS.ProcessEnv): Promise<RestoreResult> {
  const state = await readState(opts.stateDir);
  // Without an id the positional arguments are service names.
  const names = [...(opts.id ? [opts.id] : []), ...opts.services];
  const servers = (names.length ? selectServers(fleet, names) : fleet.servers).filter(
    (s) => s.driver === 'local' && state.servers[s.name]?.restore,
  );
  if (!servers.length)
    throw new UsageError(`no interrupted restore to ${opts.finish === 'resume' ? 'resume' : 'roll back'}`, {
      hint: '`dbps status` shows the servers; start them with `dbps up`',
    });
  if (
    !(await opts.confirm(
      opts.finish === 'resume'
        ? `Finish the interrupted restore of ${servers.map((s) => s.name).join(', ')}?`
        : `Put the previous datadir of ${servers.map((s) => s.name).join(', ')} back (the partly restored one is deleted)?`,
    ))
  )
    throw new UsageError(`restore --${opts.finish} not confirmed`, { hint: 'pass --yes to go ahead without asking' });
  const memoryScale = parseMemoryScale(opts.memoryScale, env);
  const control = controlFor(fleet, servers, opts.stateDir, env, memoryScale);
  const timeouts = resolveTimeouts(fleet, opts.timeoutSeconds);
  const targets = restoreTargets(servers, state, true).map((t) => ({ ...t, timeouts }));
  const results: RestoreServerResult[] = [];
  let id = '';
  for (const t of targets) {
    const record = t.restore!;
    id = record.set;
    if (opts.finish === 'rollback') {
      opts.onProgress?.({ server: t.server, phase: 'rollback' });
      await rollBack(t, record, control);
      results.push({ server: t.server, movedAside: record.movedAside, history: record.previousHistory ?? '' });
      continue;
    }
    const root = path.resolve(opts.dest ?? record.root);
    const sets = await listSets(root);
    const set = sets.find((s) => path.basename(s.dir) === record.set);
    if (!set?.manifest)
      throw new OperationalError(`server "${t.server}": backup set ${record.set} is no longer in ${root}`, {
        server: t.server,
        hint: 'run `dbps restore --rollback` to put the previous datadir back',
      });
    results.push(
      await resumeRestore({
        target: t,
        record,
        setDir: set.dir,
        manifest: set.manifest,
        sets,
        control,
        workRoot: path.join(root, '.work'),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      }),
    );
  }
  return { command: 'restore', id, finished: opts.finish!, servers: results, exitCode: ExitCode.ok };
}
