// dbps connect: the mariadb client on a service's own database, as one of its accounts or as the
// server's admin. The child inherits the terminal; its exit code is the result.
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import { loadFleet } from '../config/load.js';
import { OperationalError, UsageError } from '../errors.js';
import { desiredServer } from '../fleet/desired.js';
import { type Fleet, type FleetAccount, type FleetServer, type FleetService, serverOf } from '../fleet/model.js';
import { adminTarget, connectAdmin } from '../runtime/admin.js';
import { requireBinary } from '../runtime/binaries.js';
import { type ClientConnection, writeClientDefaults } from '../runtime/client-defaults.js';
import { localServerPid } from '../runtime/local.js';
import { diesWithParent } from '../runtime/run-dir.js';
import { passwordFor, readSecrets, type SecretOwner } from '../runtime/secrets.js';
import { readState } from '../runtime/state.js';
import { quoted } from '../util/printable.js';
import { didYouMean, someNames } from '../util/suggest.js';

export interface ConnectOptions {
  file: string;
  stateDir: string;
  service: string;
  /** One of the service's accounts; default its `app` account. */
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

function findService(services: FleetService[], name: string, file: string): FleetService {
  const service = services.find((s) => s.name === name);
  if (!service) {
    throw new UsageError(
      `${quoted(name)} is not a service in ${file}${didYouMean(
        name,
        services.map((s) => s.name),
      )}`,
      {
        hint: `services: ${someNames(services.map((s) => s.name))}`,
      },
    );
  }
  return service;
}

function pickAccount(service: FleetService, user: string | undefined): FleetAccount {
  if (user !== undefined) {
    const account = service.accounts.find((a) => a.user === user);
    if (!account) {
      throw new UsageError(
        `"${user}" is not an account of service "${service.name}"${didYouMean(
          user,
          service.accounts.map((a) => a.user),
        )}`,
        {
          hint: `its accounts: ${service.accounts.map((a) => a.user).join(', ')}; or use --admin`,
        },
      );
    }
    return account;
  }
  const account = service.accounts.find((a) => a.role === 'app') ?? service.accounts[0];
  if (!account)
    throw new UsageError(`service "${service.name}" has no accounts`, {
      hint: 'use --admin, or add users: in services.yaml',
    });
  return account;
}

/** Where a service account connects: the local server over TCP (as the service would), or the external host. */
export async function accountConnection(
  server: FleetServer,
  account: FleetAccount,
  stateDir: string,
): Promise<Omit<ClientConnection, 'user' | 'password'>> {
  if (server.driver === 'external') return { host: server.host!, port: server.port ?? 3306 };
  const local = (await readState(stateDir)).servers[server.name];
  if (!local) {
    throw new OperationalError(`server "${server.name}" has never been started`, {
      server: server.name,
      hint: `run \`dbps up ${server.services[0] ?? server.name}\``,
    });
  }
  // The client's own ERROR 2002 would not say what to do: dbps knows whether its server runs.
  if ((await localServerPid(stateDir, server.name, local)) === undefined) {
    throw new OperationalError(
      `server "${server.name}" is not running${local.wanted === 'stopped' ? ' (stopped by `dbps down`)' : ''}`,
      { server: server.name, hint: `run \`dbps up ${server.services[0] ?? server.name}\`` },
    );
  }
  return account.host === 'localhost' ? { socket: local.socket } : { host: '127.0.0.1', port: local.port };
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
  const service = findService(fleet.services, opts.service, opts.file);
  const server = serverOf(fleet, service);
  const mariadb = requireBinary('mariadb', env);

  let connection: ClientConnection;
  let database: string | undefined = service.database;
  if (opts.admin) {
    const target = await adminTarget(fleet, server, opts.stateDir, env);
    // Connecting first gives dbps's own error (not running, access denied) and tells whether the database exists yet.
    const session = await connectAdmin(target);
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
        : { host: target.host ?? '127.0.0.1', port: target.port ?? 3306 }),
    };
  } else {
    const account = pickAccount(service, opts.user);
    const password = passwordFor(
      { server: server.name, user: account.user, ...(account.passwordEnv ? { passwordEnv: account.passwordEnv } : {}) },
      await readSecrets(opts.stateDir),
      env,
      fleetSecretOwners(fleet),
    );
    if (password === undefined) {
      throw new OperationalError(
        account.passwordEnv
          ? `account ${account.user}: environment variable ${account.passwordEnv} (its password) is ${env[account.passwordEnv] === '' ? 'empty' : 'not set'}`
          : `account ${account.user} has no password yet (it is created by \`dbps provision\`)`,
        {
          server: server.name,
          hint: account.passwordEnv
            ? `export ${account.passwordEnv}=...`
            : `run \`dbps provision\`, or use \`dbps connect ${service.name} --admin\``,
        },
      );
    }
    connection = { user: account.user, password, ...(await accountConnection(server, account, opts.stateDir)) };
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

/** Every account whose password dbps generates, fleet-wide: decides whether an old secrets.env key is ambiguous. */
export function fleetSecretOwners(fleet: Fleet): SecretOwner[] {
  return fleet.servers.flatMap((s) =>
    desiredServer(fleet, s)
      .accounts.filter((a) => !a.passwordEnv)
      .map((a) => ({ server: s.name, user: a.user })),
  );
}
