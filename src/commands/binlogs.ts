// dbps binlogs pull|follow: archive every selected server's binlogs (local and external) into the
// backup root, as the backup account, over the replication protocol. Returns results; never prints.
import path from 'node:path';
import { type BinlogSource, followBinlogs, type PullResult, pullBinlogs } from '../backup/archive-pull.js';
import { newHistoryId } from '../backup/manifest.js';
import { defaultBackupRoot } from '../backup/targets.js';
import { loadFleet } from '../config/load.js';
import { ExitCode, type ExitCodeValue, OperationalError } from '../errors.js';
import type { FleetServer } from '../fleet/model.js';
import { BACKUP_USER } from '../fleet/roles.js';
import { selectServers } from '../fleet/select.js';
import { passwordFor, readSecrets } from '../runtime/secrets.js';
import { type FleetState, readState, updateState } from '../runtime/state.js';
import { serverTls } from '../runtime/tls.js';
import { requireDirPath } from '../util/dir-arg.js';

export interface BinlogsOptions {
  file: string;
  stateDir: string;
  services: string[];
  dest?: string;
  /** pull --timeout: seconds for connecting, for SHOW BINARY LOGS and for a fetch that receives nothing. */
  timeoutSeconds?: number;
  env?: NodeJS.ProcessEnv;
  progress?: (server: string, text: string) => void;
}

export interface BinlogsPullResult {
  command: 'binlogs pull';
  root: string;
  servers: (PullResult & { error?: string })[];
  exitCode: ExitCodeValue;
}

/** Where each selected server's binlogs are read from, as the backup account. */
export async function binlogSources(
  servers: FleetServer[],
  stateDir: string,
  env: NodeJS.ProcessEnv,
  fleetFile: string,
): Promise<BinlogSource[]> {
  let state: FleetState = await readState(stateDir);
  // Local servers tag archived binlogs with the history state.json records (it changes at a restore).
  if (servers.some((s) => s.driver === 'local' && state.servers[s.name] && !state.servers[s.name]!.history)) {
    state = await updateState(stateDir, (st) => {
      for (const s of servers) {
        const e = st.servers[s.name];
        if (s.driver === 'local' && e && !e.history) e.history = newHistoryId(new Date());
      }
    });
  }
  const secrets = await readSecrets(stateDir);
  return servers.map((server) => {
    const password = passwordFor({ server: server.name, user: BACKUP_USER }, secrets, env);
    if (password === undefined)
      throw new OperationalError(
        `server "${server.name}": the backup account ${BACKUP_USER} has no password in ${path.join(stateDir, 'secrets.env')}`,
        { server: server.name, hint: 'run `dbps provision` first; it creates the backup account' },
      );
    if (server.driver === 'external') {
      return {
        server: server.name,
        credentials: {
          user: BACKUP_USER,
          password,
          host: server.host!,
          port: server.port ?? 3306,
          tls: serverTls(fleetFile, server, stateDir),
        },
      };
    }
    const entry = state.servers[server.name];
    if (!entry)
      throw new OperationalError(`server "${server.name}" has never been started, so it has no binlogs`, {
        server: server.name,
        hint: `run \`dbps up ${server.services[0] ?? server.name}\``,
      });
    return {
      server: server.name,
      credentials: { user: BACKUP_USER, password, socket: entry.socket },
      ...(entry.history ? { history: entry.history } : {}),
    };
  });
}

async function prepare(opts: BinlogsOptions) {
  const env = opts.env ?? process.env;
  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  const selected = selectServers(fleet, opts.services);
  const root = path.resolve(opts.dest ?? defaultBackupRoot(opts.stateDir));
  await requireDirPath('--dest', root);
  return { root, sources: await binlogSources(selected, opts.stateDir, env, fleet.file) };
}

/** One pull of every selected server at once; a server that fails is reported while the others finish. */
export async function pull(opts: BinlogsOptions): Promise<BinlogsPullResult> {
  const { root, sources } = await prepare(opts);
  const bound = opts.timeoutSeconds === undefined ? undefined : Math.round(opts.timeoutSeconds * 1000);
  const settled = await Promise.allSettled(
    sources.map((s) =>
      pullBinlogs(s, root, {
        progress: (t) => opts.progress?.(s.server, t),
        ...(bound !== undefined ? { connectMs: bound, stallMs: bound } : {}),
      }),
    ),
  );
  const servers: BinlogsPullResult['servers'] = settled.map((r, i) =>
    r.status === 'fulfilled'
      ? r.value
      : {
          server: sources[i]!.server,
          history: sources[i]!.history ?? '',
          archived: [],
          warnings: [],
          error: r.reason instanceof Error ? r.reason.message : String(r.reason),
        },
  );
  const failed = servers.some((s) => s.error !== undefined || s.gap !== undefined);
  return { command: 'binlogs pull', root, servers, exitCode: failed ? ExitCode.operational : ExitCode.ok };
}

/** Follows every selected server until `signal` aborts (SIGTERM/SIGINT); lines go to `progress`. */
export async function follow(opts: BinlogsOptions & { signal: AbortSignal }): Promise<ExitCodeValue> {
  const { root, sources } = await prepare(opts);
  const settled = await Promise.allSettled(
    sources.map((s) =>
      followBinlogs(s, root, {
        signal: opts.signal,
        event: (t) => opts.progress?.(s.server, t),
      }),
    ),
  );
  for (const [i, r] of settled.entries())
    if (r.status === 'rejected')
      opts.progress?.(sources[i]!.server, r.reason instanceof Error ? r.reason.message : String(r.reason));
  return settled.some((r) => r.status === 'rejected') ? ExitCode.operational : ExitCode.ok;
}
