// dbps down: clean shutdown of local servers (SIGKILL only after a timeout, reported), optionally
// removing their datadirs. External servers are never stopped.
import { loadFleet } from '../config/load.js';
import { ExitCode, type ExitCodeValue, UsageError } from '../errors.js';
import { orphanServer, orphanServerNames, selectServers, serverLabel } from '../fleet/select.js';
import { driverFor, type StopAction, type StopOutcome } from '../runtime/driver.js';
import { type Job, type JobRunner, runJobsSilently } from '../runtime/jobs.js';
import { readState } from '../runtime/state.js';
import { failureOf, type ServerFailure } from './up.js';

export interface DownOptions {
  file: string;
  stateDir: string;
  services: string[];
  /** Also delete each server's directory (datadir, logs, my.cnf). */
  destroy: boolean;
  /** --yes: destruction confirmed on the command line. */
  yes: boolean;
  /** Asks the user on a terminal; absent when nobody can answer (then --destroy needs --yes). */
  confirm?: (question: string) => Promise<boolean>;
  env?: NodeJS.ProcessEnv;
  runJobs?: JobRunner;
}

export interface DownServerResult {
  server: string;
  label: string;
  driver: 'local' | 'external';
  action?: StopAction;
  destroyed: boolean;
  warning?: string;
  error?: ServerFailure;
}

export interface DownResult {
  command: 'down';
  servers: DownServerResult[];
  /** False when nothing was running and nothing was removed. */
  changed: boolean;
  warnings: string[];
  outcome: 'ok' | 'failed';
  exitCode: ExitCodeValue;
}

/** Stops the selected local servers in parallel. */
export async function run(opts: DownOptions): Promise<DownResult> {
  const env = opts.env ?? process.env;
  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  const state = await readState(opts.stateDir);
  // A server renamed or removed from services.yaml is still stopped by a plain `down`; its data is
  // destroyed only when it is named (`down old-name --destroy`), never as part of the whole fleet.
  const orphans = orphanServerNames(fleet, Object.keys(state.servers));
  const namedOrphans = opts.services.filter((n) => orphans.includes(n));
  const declaredNames = opts.services.filter((n) => !orphans.includes(n));
  const servers = [
    ...(opts.services.length === 0 || declaredNames.length > 0 ? selectServers(fleet, declaredNames) : []),
    ...(opts.services.length === 0 ? orphans : namedOrphans).map(orphanServer),
  ];
  const destroys = (name: string) => opts.destroy && (!orphans.includes(name) || namedOrphans.includes(name));
  const label = (server: (typeof servers)[number]) =>
    orphans.includes(server.name) ? `${server.name} (not in services.yaml)` : serverLabel(server);
  if (opts.destroy) {
    const doomed = servers
      .filter((s) => s.driver === 'local' && state.servers[s.name] && destroys(s.name))
      .map((s) => s.name);
    if (doomed.length && !opts.yes) {
      const question = `Delete the data of ${doomed.join(', ')} (${doomed.length} server${doomed.length === 1 ? '' : 's'}) for good?`;
      if (!opts.confirm) {
        throw new UsageError(`--destroy deletes the datadirs of ${doomed.join(', ')}; add --yes to confirm`, {
          hint: 'nothing was stopped or removed',
        });
      }
      if (!(await opts.confirm(question))) throw new UsageError('not confirmed; nothing was stopped or removed');
    }
  }
  const jobs: Job<StopOutcome>[] = await Promise.all(
    servers.map(async (server) => {
      const driver = await driverFor(server);
      return {
        title: label(server),
        run: (progress: (text: string) => void) =>
          driver.stop(
            server,
            { fleet, stateDir: opts.stateDir, state, env, progress },
            { destroy: destroys(server.name) && server.driver === 'local' },
          ),
        describe: describeStop,
      };
    }),
  );
  const settled = await (opts.runJobs ?? runJobsSilently)(jobs);
  if (opts.destroy && servers.some((s) => s.driver === 'local'))
    await (await import('../runtime/local.js')).removeTemplatesIfUnused(opts.stateDir);
  const results: DownServerResult[] = servers.map((server, i) => {
    const base = { server: server.name, label: label(server), driver: server.driver };
    const s = settled[i]!;
    if (s.status === 'rejected') return { ...base, destroyed: false, error: failureOf(s.reason) };
    const { server: _name, ...outcome } = s.value;
    return { ...base, ...outcome };
  });
  const exitCode = results.reduce<ExitCodeValue>(
    (code, r) => (r.error && r.error.exitCode > code ? r.error.exitCode : code),
    ExitCode.ok,
  );
  return {
    command: 'down',
    servers: results,
    changed: results.some((r) => r.action === 'stopped' || r.action === 'killed' || r.destroyed),
    warnings: results.flatMap((r) => (r.warning ? [r.warning] : [])),
    outcome: exitCode === ExitCode.ok ? 'ok' : 'failed',
    exitCode,
  };
}

/** The line shown when a server's stop job is done. */
export function describeStop(o: StopOutcome): string {
  const removed = o.destroyed ? ', datadir removed' : '';
  switch (o.action) {
    case 'stopped':
      return `stopped${removed}`;
    case 'killed':
      return `killed after the shutdown timeout${removed}`;
    case 'already-stopped':
      return `not running${removed}`;
    case 'left-running':
      return 'external, left running';
  }
}
