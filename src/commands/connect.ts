// dbps connect: the mariadb client on a service's own database, as one of its accounts or as the
// server's admin. The child inherits the terminal; its exit code is the result.
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import { loadFleet } from '../config/load.js';
import { OperationalError, UsageError } from '../errors.js';
import { chooseAccount, findService } from '../fleet/account-choice.js';
import { type FleetServer, type FleetService, serverOf } from '../fleet/model.js';
import { accountEndpoint, accountPassword } from '../runtime/account-connection.js';
import { adminTarget, connectAdmin } from '../runtime/admin.js';
import { requireBinary } from '../runtime/binaries.js';
import { type ClientConnection, writeClientDefaults } from '../runtime/client-defaults.js';
import { boundedTarget, resolveTimeouts } from '../runtime/fanout.js';
import { localServerPid } from '../runtime/local.js';
import { diesWithParent } from '../runtime/run-dir.js';
import { readState } from '../runtime/state.js';

export interface ConnectOptions {
  file: string;
  stateDir: string;
  service: string;
  /** One of the service's accounts, or the server's dbps_backup / dbps_monitor; default its `app` account. */
  user?: string;
  /** Use the server's admin access instead of a service account. */
  admin: boolean;
  /** SQL to run instead of an interactive session (`-e`). */
  execute?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ConnectResult {
  command: 'connect';
  service: string;
  server: string;
  user: string;
  /** The default database of the session; absent for --admin before the database exists. */
  database?: string;
  exitCode: number;
}

/** A local server that is not running: dbps's own error (the client's ERROR 2002 would not say what to do). */
async function requireRunning(server: FleetServer, service: FleetService, stateDir: string): Promise<void> {
  const entry = (await readState(stateDir)).servers[server.name];
  if ((await localServerPid(stateDir, server.name, entry)) !== undefined) return;
  throw new OperationalError(
    `server "${server.name}" is not running${entry?.wanted === 'stopped' ? ' (stopped by `dbps down`)' : ''}`,
    { server: server.name, hint: `run \`dbps up ${service.name}\`` },
  );
}

/** Signals that end dbps: forwarded to the client, then the temp file is removed before dbps exits. */
const FORWARDED = ['SIGTERM', 'SIGHUP'] as const;

/** `128 + n`, the shell's code for death by signal n. */
function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + (os.constants.signals[sig] ?? 1);
}

/**
 * Watches SIGINT/SIGTERM/SIGHUP for the life of the client. Ctrl-C (SIGINT) reaches the client from
 * the terminal by itself and is ignored here; SIGTERM and SIGHUP, which would kill dbps at once and
 * leave the credentials file behind, are forwarded to the client and recorded, so that dbps waits for
 * it, removes the file and exits with 128 + the signal number.
 */
function watchSignals() {
  let received: NodeJS.Signals | undefined;
  let child: ChildProcess | undefined;
  let escalation: NodeJS.Timeout | undefined;
  const forward = (sig: NodeJS.Signals) => {
    received ??= sig;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill(sig);
      // A client that ignores the signal must not keep the credentials on disk for ever.
      escalation ??= setTimeout(() => child?.kill('SIGKILL'), 5000);
    }
  };
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  for (const sig of FORWARDED) process.on(sig, forward);
  return {
    get received() {
      return received;
    },
    attach(c: ChildProcess) {
      child = c;
      if (received) forward(received);
    },
    dispose() {
      if (escalation) clearTimeout(escalation);
      process.off('SIGINT', ignore);
      for (const sig of FORWARDED) process.off(sig, forward);
    },
  };
}

type SignalWatch = ReturnType<typeof watchSignals>;

/** Runs the client and waits for it; its exit code, or 128 + n when a signal ended it (or dbps). */
function runClient(bin: string, args: string[], env: NodeJS.ProcessEnv, signals: SignalWatch): Promise<number> {
  return new Promise((resolve, reject) => {
    // setpriv execs the client in place (same pid): signals still reach it, and it dies with dbps.
    const [file, argv] = diesWithParent(bin, args);
    const child = spawn(file, argv, { stdio: 'inherit', env });
    signals.attach(child);
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      if (signals.received) resolve(signalExitCode(signals.received));
      else resolve(code ?? (sig ? signalExitCode(sig) : 1));
    });
  });
}

/** Opens the client (or runs `-e`) and returns its exit code. */
export async function run(opts: ConnectOptions): Promise<ConnectResult> {
  const env = opts.env ?? process.env;
  if (opts.admin && opts.user !== undefined) throw new UsageError('--user and --admin exclude each other');
  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  const service = findService(fleet, opts.service);
  const server = serverOf(fleet, service);
  const mariadb = requireBinary('mariadb', env);

  let connection: ClientConnection;
  let database: string | undefined = service.database;
  if (opts.admin) {
    const target = await adminTarget(fleet, server, opts.stateDir, env);
    // Connecting first gives dbps's own error (not running, access denied) and tells whether the database exists yet.
    const session = await connectAdmin(boundedTarget(target, resolveTimeouts(fleet)));
    try {
      const rows = await session.query('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [
        service.database,
      ]);
      if (rows.length === 0) database = undefined;
    } finally {
      await session.close();
    }
    connection = {
      user: target.user,
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.socketPath
        ? { socket: target.socketPath }
        : { host: target.host ?? '127.0.0.1', port: target.port ?? 3306, ...(target.tls ? { tls: target.tls } : {}) }),
    };
  } else {
    const account = chooseAccount(fleet, service, opts.user);
    const password = await accountPassword(fleet, server, service, account, opts.stateDir, env);
    const endpoint = await accountEndpoint(server, service, account, opts.stateDir, fleet.file);
    if (server.driver === 'local') await requireRunning(server, service, opts.stateDir);
    database = account.database;
    connection = {
      user: account.user,
      password,
      ...(endpoint.socketOnly && endpoint.socket
        ? { socket: endpoint.socket }
        : { host: endpoint.host, port: endpoint.port, tls: endpoint.tls }),
    };
  }

  // Watching starts before the credentials file exists, so no signal can come between the two.
  const signals = watchSignals();
  const defaults = await writeClientDefaults(connection).catch((e: unknown) => {
    signals.dispose();
    throw e;
  });
  try {
    const result = {
      command: 'connect' as const,
      service: service.name,
      server: server.name,
      user: connection.user,
      ...(database ? { database } : {}),
    };
    if (signals.received) return { ...result, exitCode: signalExitCode(signals.received) };
    // --defaults-extra-file must come first; it keeps the password out of argv.
    const args = [
      `--defaults-extra-file=${defaults.path}`,
      ...(opts.execute !== undefined ? ['-e', opts.execute] : []),
      ...(database ? [database] : []),
    ];
    return { ...result, exitCode: await runClient(mariadb, args, env, signals) };
  } finally {
    await defaults.remove();
    signals.dispose();
  }
}
