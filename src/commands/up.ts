// dbps up: start the local servers that are not running (creating them on first use) and check that
// external servers answer. Returns what happened to each server; never prints.
import { loadFleet } from '../config/load.js';
import { DbpsError, ExitCode, type ExitCodeValue, OperationalError, UsageError } from '../errors.js';
import { versionDifferences, versionDifferenceText } from '../fleet/mariadb-version.js';
import { selectServers, serverLabel } from '../fleet/select.js';
import type { SettingDrift } from '../mycnf/drift.js';
import { requireBinary } from '../runtime/binaries.js';
import { driverFor, type StartAction, type StartOutcome } from '../runtime/driver.js';
import { type Job, type JobRunner, runJobsSilently } from '../runtime/jobs.js';
import { allocatePorts } from '../runtime/ports.js';
import { interruptedRestoreText } from '../runtime/restore-record.js';
import { readState } from '../runtime/state.js';
import { parseVersion } from '../util/version.js';

export interface UpOptions {
  file: string;
  stateDir: string;
  services: string[];
  /** Multiplies every local server's memory (minimum 128M per server still applies). */
  memoryScale: number;
  /** memoryScale was given (flag or env); else running servers keep the scale they were started with. */
  memoryScaleExplicit?: boolean;
  /** `--restart`: running servers whose settings differ from services.yaml get them (SET GLOBAL or a restart). */
  restart?: boolean;
  env?: NodeJS.ProcessEnv;
  runJobs?: JobRunner;
}

export interface ServerFailure {
  message: string;
  hint?: string;
  exitCode: ExitCodeValue;
}

export interface UpServerResult {
  server: string;
  label: string;
  driver: 'local' | 'external';
  services: string[];
  action?: StartAction;
  port?: number;
  socket?: string;
  pid?: number;
  seconds?: number;
  /** The port dbps had picked earlier was taken by another program while the server was stopped. */
  movedFromPort?: number;
  /** The MariaDB version that runs (local servers). */
  version?: string;
  /** Running with settings that differ from services.yaml: `dbps up --restart <server>` applies them. */
  pendingSettings?: SettingDrift[];
  /** Settings `--restart` applied (action reconfigured: SET GLOBAL; restarted: a clean restart). */
  appliedSettings?: SettingDrift[];
  error?: ServerFailure;
}

export interface UpResult {
  command: 'up';
  stateDir: string;
  memoryScale: number;
  servers: UpServerResult[];
  /** False when every server was already running (or reachable): `up` changed nothing. */
  changed: boolean;
  /** Servers left running with settings that differ from services.yaml (apply: `dbps up --restart`). */
  pendingSettings: string[];
  /** Local servers that run another MariaDB than services.yaml declares, and the sentence that says so. */
  versionNotes: { declared: string; running: string; servers: string[]; note: string }[];
  outcome: 'ok' | 'failed';
  exitCode: ExitCodeValue;
}

/** --memory-scale / DBPS_MEMORY_SCALE: a positive factor; anything else is a usage error. */
export function parseMemoryScale(flag: string | undefined, env: NodeJS.ProcessEnv): number {
  const raw = flag ?? env.DBPS_MEMORY_SCALE;
  if (raw === undefined || raw === '') return 1;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 16) {
    throw new UsageError(`memory scale "${raw}" must be a number above 0 and at most 16`, {
      hint: 'e.g. --memory-scale 0.25 (each server still gets at least 128M)',
    });
  }
  return value;
}

/** Turns any failure into the per-server error shown in the result (bugs keep exit 3). */
export function failureOf(reason: unknown): ServerFailure {
  if (reason instanceof DbpsError)
    return { message: reason.message, ...(reason.hint ? { hint: reason.hint } : {}), exitCode: reason.exitCode };
  return { message: reason instanceof Error ? reason.message : String(reason), exitCode: ExitCode.operational };
}

const CHANGING: ReadonlySet<StartAction> = new Set(['created', 'started', 'recovered', 'reconfigured', 'restarted']);

/** Starts the selected servers in parallel; one failing server does not stop the others. */
export async function run(opts: UpOptions): Promise<UpResult> {
  const env = opts.env ?? process.env;
  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  const servers = selectServers(fleet, opts.services);
  const local = servers.filter((s) => s.driver === 'local');
  if (local.length) {
    // Fail before touching anything, with the doctor's advice, when the programs are missing.
    requireBinary('mariadbd', env);
    requireBinary('mariadb-install-db', env);
  }
  const state = await readState(opts.stateDir);
  const localNames = new Set(local.map((s) => s.name));
  const reserved = [
    ...Object.entries(state.servers)
      .filter(([name]) => !localNames.has(name))
      .map(([, s]) => s.port),
    ...fleet.servers
      .filter((s) => s.driver === 'local' && !localNames.has(s.name) && s.port !== undefined)
      .map((s) => s.port!),
  ];
  const { localServerPid } = await import('../runtime/local.js');
  const ports = await allocatePorts(
    await Promise.all(
      local.map(async (s) => ({
        server: s.name,
        ...(s.port !== undefined ? { declared: s.port } : {}),
        ...(state.servers[s.name]
          ? {
              recorded: state.servers[s.name]!.port,
              running: (await localServerPid(opts.stateDir, s.name, state.servers[s.name])) !== undefined,
            }
          : {}),
      })),
    ),
    fleet.basePort,
    reserved,
  );
  // A port dbps picked itself that another program took meanwhile: the server moves, and says so.
  const movedFrom = new Map(
    local
      .filter((s) => s.port === undefined && state.servers[s.name] && ports.get(s.name) !== state.servers[s.name]!.port)
      .map((s) => [s.name, state.servers[s.name]!.port]),
  );

  const jobs: Job<StartOutcome>[] = await Promise.all(
    servers.map(async (server) => {
      const driver = await driverFor(server);
      const interrupted = server.driver === 'local' ? state.servers[server.name]?.restore : undefined;
      return {
        title: serverLabel(server),
        run: async (progress: (text: string) => void) => {
          // Half-restored datadirs are never started as if healthy.
          if (interrupted) {
            const { message, hint } = interruptedRestoreText(server.name, interrupted);
            throw new OperationalError(message, { server: server.name, hint });
          }
          return driver.start(
            server,
            { fleet, stateDir: opts.stateDir, state, env, progress },
            {
              ...(ports.has(server.name) ? { port: ports.get(server.name)! } : {}),
              memoryScale: opts.memoryScale,
              ...(opts.restart ? { restart: true } : {}),
              ...(opts.memoryScaleExplicit ? { memoryScaleExplicit: true } : {}),
            },
          );
        },
        describe: describeStart,
      };
    }),
  );
  const settled = await (opts.runJobs ?? runJobsSilently)(jobs);
  const results: UpServerResult[] = servers.map((server, i) => {
    const base = { server: server.name, label: serverLabel(server), driver: server.driver, services: server.services };
    const s = settled[i]!;
    if (s.status === 'rejected')
      return {
        ...base,
        ...(ports.has(server.name) ? { port: ports.get(server.name)! } : {}),
        error: failureOf(s.reason),
      };
    const { server: _name, ...outcome } = s.value;
    return {
      ...base,
      ...outcome,
      ...(movedFrom.has(server.name) ? { movedFromPort: movedFrom.get(server.name)! } : {}),
    };
  });
  const exitCode = results.reduce<ExitCodeValue>(
    (code, r) => (r.error && r.error.exitCode > code ? r.error.exitCode : code),
    ExitCode.ok,
  );
  // Say which MariaDB runs when services.yaml declares another (each my.cnf was written for the one that runs).
  const ran = new Map(results.filter((r) => r.version).map((r) => [r.server, parseVersion(r.version!)]));
  const versionNotes = versionDifferences(fleet, (s) => ran.get(s.name)).map((d) => ({
    ...d,
    note: versionDifferenceText(d, fleet.file, 'running'),
  }));
  return {
    command: 'up',
    stateDir: opts.stateDir,
    memoryScale: opts.memoryScale,
    servers: results,
    changed: results.some((r) => r.action !== undefined && CHANGING.has(r.action)),
    pendingSettings: results.filter((r) => r.pendingSettings?.length).map((r) => r.server),
    versionNotes,
    outcome: exitCode === ExitCode.ok ? 'ok' : 'failed',
    exitCode,
  };
}

function settingsCount(list: readonly SettingDrift[] | undefined): string {
  const n = list?.length ?? 0;
  return `${n} setting${n === 1 ? '' : 's'}`;
}

/** The line shown when a server's start job is done. */
export function describeStart(o: StartOutcome): string {
  const where = o.port !== undefined ? ` on port ${o.port}` : '';
  switch (o.action) {
    case 'created':
      return `created and started${where} in ${o.seconds.toFixed(1)} s`;
    case 'started':
      return `started${where} in ${o.seconds.toFixed(1)} s`;
    case 'recovered':
      return `restarted after a crash${where} in ${o.seconds.toFixed(1)} s (InnoDB recovery)`;
    case 'already-running':
      return o.pendingSettings?.length
        ? `already running${where}; ${o.pendingSettings.length} setting${o.pendingSettings.length === 1 ? ' differs' : 's differ'} from services.yaml`
        : `already running${where}`;
    case 'reconfigured':
      return `${settingsCount(o.appliedSettings)} applied with SET GLOBAL, no restart`;
    case 'restarted':
      return `restarted${where} in ${o.seconds.toFixed(1)} s to apply ${settingsCount(o.appliedSettings)}`;
    case 'reachable':
      return `external, reachable${where}`;
  }
}
