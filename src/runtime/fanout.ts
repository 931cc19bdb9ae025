// One fan-out for the fleet: runs a job on every selected server at once, each wait on a server
// bounded (connecting, and every statement), failures classified once (src/runtime/failures.ts), and
// one result per server, so a command reports the servers that failed while the others finish.
// plan, provision, status, audit-grants and rotate go through fanOut; backup and the logical restore
// (external servers) through fanOutJobs: their jobs run tools as the backup account, not admin sessions.
import type { Fleet, FleetServer } from '../fleet/model.js';
import { serverLabel } from '../fleet/select.js';
import { type AdminSession, type AdminTarget, adminTarget, connectAdmin } from './admin.js';
import { classifyFailure, type ServerFailure, ServerTimeoutError } from './failures.js';
import { type JobRunner, runJobsSilently } from './jobs.js';

/** How long dbps waits for a server: the handshake, and an answer to a statement. */
export interface Timeouts {
  connectMs: number;
  statementMs: number;
}

/** Connecting across a slow or lossy network (TCP retransmits take seconds) still fits in 10 s. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** A statement: catalog reads of thousands of accounts take well under a second; DDL waits for locks. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000;

/**
 * The bounds of a command: `--timeout` (seconds) bounds both waits; otherwise connecting waits
 * `defaults.connectTimeout` of services.yaml (or 10 s) and a statement 60 s.
 */
export function resolveTimeouts(fleet: Pick<Fleet, 'connectTimeoutMs'>, timeoutSeconds?: number): Timeouts {
  if (timeoutSeconds !== undefined) {
    const ms = Math.round(timeoutSeconds * 1000);
    return { connectMs: ms, statementMs: ms };
  }
  return {
    connectMs: fleet.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    statementMs: DEFAULT_STATEMENT_TIMEOUT_MS,
  };
}

/** A target with the command's bounds (a local socket probe keeps its own shorter connect bound). */
export function boundedTarget(target: AdminTarget, timeouts: Timeouts): AdminTarget {
  return {
    ...target,
    connectTimeout: Math.min(target.connectTimeout ?? timeouts.connectMs, timeouts.connectMs),
    statementTimeout: timeouts.statementMs,
  };
}

/** What a job gets for its server. */
export interface FanOutContext {
  server: FleetServer;
  timeouts: Timeouts;
  progress(text: string): void;
  /** An admin session with the command's bounds; closed (or destroyed) by the fan-out when the job ends. */
  open(): Promise<AdminSession>;
}

/** One server's outcome: its job's value, or why it failed. */
export type ServerOutcome<T> = { server: string; label: string; elapsedMs: number } & (
  | { ok: true; value: T }
  | { ok: false; failure: ServerFailure; error: unknown }
);

export interface FanOutOptions<T> {
  fleet: Fleet;
  stateDir: string;
  env?: NodeJS.ProcessEnv;
  timeouts: Timeouts;
  /** A bound on the whole job of one server (audit-grants --timeout: connect and read together). */
  deadlineMs?: number;
  runner?: JobRunner;
  /** The progress display's line for a server done. */
  describe?: (value: T) => string;
}

/** Runs `job` on every server concurrently; never throws for one server's failure. */
export async function fanOut<T>(
  servers: readonly FleetServer[],
  job: (ctx: FanOutContext) => Promise<T>,
  opts: FanOutOptions<T>,
): Promise<ServerOutcome<T>[]> {
  return fanOutJobs(
    servers.map((s) => ({ server: s.name, label: serverLabel(s) })),
    (i, progress) => runBounded(servers[i]!, job, opts, progress),
    opts,
  );
}

/**
 * The fan-out itself, for work that is not an admin session per server (backup and restore run their
 * own tools as the backup account): every job at once through `runner`, one outcome per server, each
 * failure classified once. The job bounds its own waits.
 */
export async function fanOutJobs<T>(
  units: readonly { server: string; label: string }[],
  job: (index: number, progress: (text: string) => void) => Promise<T>,
  opts: { runner?: JobRunner; describe?: (value: T) => string },
): Promise<ServerOutcome<T>[]> {
  const runner = opts.runner ?? runJobsSilently;
  const settled = await runner(
    units.map((u, i) => ({
      title: u.label,
      run: async (progress: (text: string) => void): Promise<ServerOutcome<T>> => {
        const started = Date.now();
        const base = { server: u.server, label: u.label };
        try {
          const value = await job(i, progress);
          return { ...base, elapsedMs: Date.now() - started, ok: true, value };
        } catch (e) {
          return {
            ...base,
            elapsedMs: Date.now() - started,
            ok: false,
            failure: classifyFailure(u.server, e),
            error: e,
          };
        }
      },
      describe: (o: ServerOutcome<T>) =>
        o.ok ? (opts.describe?.(o.value) ?? 'done') : `failed (${o.failure.kind}): ${o.failure.message}`,
    })),
  );
  return settled.map((s, i) =>
    s.status === 'fulfilled'
      ? s.value
      : {
          server: units[i]!.server,
          label: units[i]!.label,
          elapsedMs: 0,
          ok: false,
          failure: classifyFailure(units[i]!.server, s.reason),
          error: s.reason,
        },
  );
}

/** One server's job with its admin sessions and the whole-job deadline; throws its failure. */
async function runBounded<T>(
  server: FleetServer,
  job: (ctx: FanOutContext) => Promise<T>,
  opts: FanOutOptions<T>,
  progress: (text: string) => void,
): Promise<T> {
  const sessions: AdminSession[] = [];
  let over = false;
  const ctx: FanOutContext = {
    server,
    timeouts: opts.timeouts,
    progress,
    async open() {
      const target = await adminTarget(opts.fleet, server, opts.stateDir, opts.env ?? process.env);
      const session = await connectAdmin(boundedTarget(target, opts.timeouts));
      if (over) {
        session.connection.destroy();
        throw new ServerTimeoutError(server.name, 'server', opts.deadlineMs ?? 0);
      }
      sessions.push(session);
      return session;
    },
  };
  let timer: NodeJS.Timeout | undefined;
  const work = job(ctx);
  work.catch(() => undefined);
  try {
    return await (opts.deadlineMs === undefined
      ? work
      : Promise.race([
          work,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              over = true;
              for (const s of sessions) s.connection.destroy();
              reject(new ServerTimeoutError(server.name, 'server', opts.deadlineMs!));
            }, opts.deadlineMs);
          }),
        ]));
  } finally {
    clearTimeout(timer);
    await Promise.all(sessions.map((s) => (over ? s.connection.destroy() : s.close())));
  }
}
