// dbps up: start the local servers that are not running (creating them on first use) and check that
// external servers answer. Returns what happened to each server; never prints.
import { loadFleet } from '../config/load.js';
import { DbpsError, ExitCode, type ExitCodeValue, OperationalError, UsageError } from '../errors.js';
import { selectServers, serverLabel } from '../fleet/select.js';
import { requireBinary } from '../runtime/binaries.js';
import { driverFor, type StartAction, type StartOutcome } from '../runtime/driver.js';
import { type Job, type JobRunner, runJobsSilently } from '../runtime/jobs.js';
import { allocatePorts } from '../runtime/ports.js';
import { interruptedRestoreText } from '../runtime/restore-record.js';
import { readState } from '../runtime/state.js';

export interface UpOptions {
  file: string;
  stateDir: string;
  services: string[];
  /** Multiplies every local server's memory (minimum 128M per server still applies). */
  memoryScale: number;
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
  error?: ServerFailure;
}

export interface UpResult {
  command: 'up';
  stateDir: string;
  memoryScale: number;
  servers: UpServerResult[];
  /** False when every server was already running (or reachable): `up` changed nothing. */
  changed: boolean;
  outcome: 'ok' | 'failed';
  exitCode: ExitCodeValue;
}

/** --memory-scale / DBPS_MEMORY_SCALE: a positive factor; anything else is a usage error. */
export function parseMemoryScale(flag: string | undefined, env: NodeJS.ProcessEnv): number {
  const raw = flag ?? env.DBPS_MEMORY_SCALE;
  if (raw === undefined || raw === '') return 1;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 16) {
    throw new UsageError(`memory scale "${raw}" is not a number between 0 and 16`, {
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

const CHANGING: ReadonlySet<StartAction> = new Set(['created', 'started', 'recovered']);

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
  const ports = await allocatePorts(
    local.map((s) => ({
      server: s.name,
      ...(s.port !== undefined ? { declared: s.port } : {}),
      ...(state.servers[s.name] ? { recorded: state.servers[s.name]!.port } : {}),
    })),
    fleet.basePort,
    reserved,
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
            { ...(ports.has(server.name) ? { port: ports.get(server.name)! } : {}), memoryScale: opts.memoryScale },
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
    return { ...base, ...outcome };
  });
  const exitCode = results.reduce<ExitCodeValue>(
    (code, r) => (r.error && r.error.exitCode > code ? r.error.exitCode : code),
    ExitCode.ok,
  );
  return {
    command: 'up',
    stateDir: opts.stateDir,
    memoryScale: opts.memoryScale,
    servers: results,
    changed: results.some((r) => r.action !== undefined && CHANGING.has(r.action)),
    outcome: exitCode === ExitCode.ok ? 'ok' : 'failed',
    exitCode,
  };
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
      return `already running${where}`;
    case 'reachable':
      return `external, reachable${where}`;
  }
}
