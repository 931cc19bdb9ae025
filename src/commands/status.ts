// dbps status: probe every server (local and external) and report its state and health.
import { loadFleet } from '../config/load.js';
import { orphanServer, orphanServerNames, selectServers } from '../fleet/select.js';
import { driverFor, type ServerProbe } from '../runtime/driver.js';
import { fanOut, resolveTimeouts } from '../runtime/fanout.js';
import { interruptedRestoreText } from '../runtime/restore-record.js';
import { readState } from '../runtime/state.js';

export interface StatusOptions {
  file: string;
  stateDir: string;
  services: string[];
  env?: NodeJS.ProcessEnv;
  /** --timeout: seconds for connecting and for each statement. */
  timeoutSeconds?: number;
}

export interface StatusResult {
  command: 'status';
  fleet: string;
  servers: ServerProbe[];
  /** Servers that should run (started and not stopped, or external) but do not answer. */
  down: string[];
  outcome: 'ok' | 'failed';
}

/** Probes the selected servers in parallel; never starts or stops anything. */
export async function run(opts: StatusOptions): Promise<StatusResult> {
  const env = opts.env ?? process.env;
  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  const state = await readState(opts.stateDir);
  // Orphans are named on the command line like servers; with no names every one is shown.
  const orphans = orphanServerNames(fleet, Object.keys(state.servers));
  const namedOrphans = opts.services.filter((n) => orphans.includes(n));
  const servers = [
    ...(opts.services.length === 0 || namedOrphans.length < opts.services.length
      ? selectServers(
          fleet,
          opts.services.filter((n) => !orphans.includes(n)),
        )
      : []),
    ...(opts.services.length === 0 ? orphans : namedOrphans).map(orphanServer),
  ];
  const timeouts = resolveTimeouts(fleet, opts.timeoutSeconds);
  const outcomes = await fanOut(
    servers,
    async ({ server }) => {
      const probe = await (await driverFor(server)).probe(server, {
        fleet,
        stateDir: opts.stateDir,
        state,
        env,
        timeouts,
        progress: () => undefined,
      });
      return orphans.includes(server.name) ? { ...probe, orphan: true, shouldRun: false } : probe;
    },
    { fleet, stateDir: opts.stateDir, env, timeouts },
  );
  // A server that stopped answering mid-probe is unreachable, with the one sentence of the fan-out.
  const probes = outcomes.map((o, i): ServerProbe => {
    if (o.ok) return o.value;
    const server = servers[i]!;
    return {
      server: server.name,
      driver: server.driver,
      services: server.services,
      host: server.host ?? '',
      ...(server.port !== undefined ? { port: server.port } : {}),
      state: 'unreachable',
      detail: `${o.failure.message}; ${o.failure.hint}`,
      shouldRun: server.driver === 'external' || state.servers[server.name]?.wanted === 'running',
      health: [],
      failure: o.failure.kind,
    };
  });
  // A server whose restore was interrupted may even answer, but holds neither its old nor its restored data.
  for (const p of probes) {
    const r = p.driver === 'local' ? state.servers[p.server]?.restore : undefined;
    if (r) {
      const { message, hint } = interruptedRestoreText(p.server, r);
      p.restoreInterrupted = { set: r.set, phase: r.phase, movedAside: r.movedAside };
      p.detail = `${message}; ${hint}`;
    }
  }
  const down = probes
    .filter((p) => (p.shouldRun && p.state !== 'running') || p.restoreInterrupted)
    .map((p) => p.server);
  return { command: 'status', fleet: fleet.name, servers: probes, down, outcome: down.length ? 'failed' : 'ok' };
}
