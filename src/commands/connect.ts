// dbps connect: the mariadb client on a service's own database, as one of its accounts or as the
// server's admin. The child inherits the terminal; its exit code is the result.
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import { loadFleet } from '../config/load.js';
import { DbpsError, ExitCode, OperationalError, UsageError } from '../errors.js';
import { chooseAccount, findService } from '../fleet/account-choice.js';
import { type FleetServer, type FleetService, serverOf } from '../fleet/model.js';
import { hostPatternMatches } from '../grants/effective.js';
import { accountEndpoint, accountPassword } from '../runtime/account-connection.js';
import { adminTarget, connectAdmin } from '../runtime/admin.js';
import { requireBinary } from '../runtime/binaries.js';
import { type ClientConnection, writeClientDefaults } from '../runtime/client-defaults.js';
import { boundedTarget, resolveTimeouts } from '../runtime/fanout.js';
import { localServerPid } from '../runtime/local.js';
import { diesWithParent } from '../runtime/run-dir.js';
import { readState } from '../runtime/state.js';
import { loadConnectorSsl } from '../runtime/tls.js';

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
  /** `--json`: run `execute` through the connector and return its results as data, not the client's text. */
  json?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** One statement's outcome under --json: the rows of a result set, or what a statement changed. */
export type StatementResult =
  | { columns: string[]; rows: Record<string, unknown>[] }
  | { affectedRows: number; insertId?: number | string; warnings: number };

export interface ConnectResult {
  command: 'connect';
  service: string;
  server: string;
  user: string;
  /** The default database of the session; absent for --admin before the database exists. */
  database?: string;
  exitCode: number;
  /** --json: one entry per statement of `-e`, in order. */
  results?: StatementResult[];
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

/** Where a connection goes, for messages: the socket, or host:port. */
function whereOf(c: ClientConnection): string {
  return c.socket ? `socket ${c.socket}` : `${c.host ?? '127.0.0.1'}:${c.port ?? 3306}`;
}

/** The connector's session for a client connection (the same user, password and endpoint as the client's). */
async function openSession(
  server: FleetServer,
  c: ClientConnection,
  database: string | undefined,
  multipleStatements: boolean,
) {
  const { createConnection } = await import('mariadb');
  // TLS as the client's option file has it: over TCP only, verified the same way.
  const ssl = c.socket ? undefined : await loadConnectorSsl(server.name, c.tls, c.host ?? '127.0.0.1');
  return createConnection({
    ...(ssl ? { ssl } : {}),
    ...(c.socket ? { socketPath: c.socket } : { host: c.host ?? '127.0.0.1', port: c.port ?? 3306 }),
    user: c.user,
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(database ? { database } : {}),
    connectTimeout: 5000,
    multipleStatements,
    dateStrings: true,
  });
}

interface SqlFailure {
  errno?: number;
  sqlState?: string;
  sqlMessage?: string;
  code?: string;
  message: string;
}

/**
 * An account whose host (from services.yaml) does not match where dbps connects from: the server's
 * `Access denied` (1045) then means the host, not the password, and the message says so. Undefined when
 * the host matches (a wrong password, say), so that the client reports it as before.
 */
function hostLimitError(
  e: SqlFailure,
  declaredHost: string,
  c: ClientConnection,
  server: FleetServer,
  service: FleetService,
): OperationalError | undefined {
  // 1045, or 1698 when no account row of that user matches the client's host at all.
  if (e.errno !== 1045 && e.errno !== 1698) return undefined;
  // The server names the client as it saw it: 'user'@'host'.
  const from = /'@'([^']*)'/.exec(e.sqlMessage ?? '')?.[1];
  if (from === undefined || hostPatternMatches(declaredHost, from)) return undefined;
  return new OperationalError(
    `server "${server.name}": account ${c.user} is limited to host ${declaredHost} (services.yaml), ` +
      `but the server sees dbps connect from ${from} (to ${whereOf(c)}), so it refuses the login (Access denied)`,
    {
      server: server.name,
      hint: `run it from a host that matches ${declaredHost}, use \`dbps connect ${service.name} --admin\`, or give the account a host that includes this one in services.yaml and run \`dbps provision\``,
    },
  );
}

/** A value of a row as JSON holds it: BIGINTs as numbers when exact (else strings), bytes as text or base64. */
function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Buffer.isBuffer(v)) {
    const text = v.toString('utf8');
    return Buffer.from(text, 'utf8').equals(v) ? text : { base64: v.toString('base64') };
  }
  return v;
}

function statementResult(r: unknown): StatementResult {
  if (Array.isArray(r)) {
    const meta = (r as unknown as { meta?: { name(): string }[] }).meta ?? [];
    const columns = meta.map((m) => m.name());
    return {
      columns,
      rows: r.map((row: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, jsonValue(v)])),
      ),
    };
  }
  const ok = r as { affectedRows?: number | bigint; insertId?: number | bigint; warningStatus?: number };
  const insertId = ok.insertId === undefined ? undefined : jsonValue(ok.insertId);
  return {
    affectedRows: Number(ok.affectedRows ?? 0),
    ...(insertId ? { insertId: insertId as number | string } : {}),
    warnings: ok.warningStatus ?? 0,
  };
}

/** Whether a query's value is several statements' results (multipleStatements) rather than one. */
function isMultiResult(r: unknown): r is unknown[] {
  return Array.isArray(r) && (r as unknown as { meta?: unknown }).meta === undefined;
}

/** Runs `-e` through the connector: each statement's rows or counts; an SQL error is exit 1, as the client's. */
async function runAsJson(
  c: ClientConnection,
  database: string | undefined,
  sql: string,
  server: FleetServer,
): Promise<StatementResult[]> {
  let session: Awaited<ReturnType<typeof openSession>>;
  try {
    session = await openSession(server, c, database, true);
  } catch (e) {
    if (e instanceof DbpsError) throw e;
    const err = e as SqlFailure;
    throw new OperationalError(
      `server "${server.name}": account ${c.user} cannot connect at ${whereOf(c)}: ${err.sqlMessage ?? err.code ?? err.message}`,
      { server: server.name, hint: 'see `dbps status` and `dbps doctor`', cause: e },
    );
  }
  try {
    const value: unknown = await session.query({ sql, rowsAsArray: false });
    return (isMultiResult(value) ? value : [value]).map(statementResult);
  } catch (e) {
    const err = e as SqlFailure;
    // The client's own wording for a failed statement, and its exit code.
    const text = err.errno
      ? `ERROR ${err.errno} (${err.sqlState ?? 'HY000'}): ${err.sqlMessage ?? err.message}`
      : err.message;
    throw new DbpsError(`server "${server.name}": ${text}`, ExitCode.findings, { cause: e });
  } finally {
    await session.end().catch(() => session.destroy());
  }
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
  if (opts.json && opts.execute === undefined)
    throw new UsageError('--json needs -e: an interactive session has no JSON form', {
      hint: `e.g. \`dbps --json connect ${opts.service} -e 'SELECT 1'\``,
    });
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
    // An account limited to another host would get the client's bare `Access denied`: say why first.
    if (account.host !== '%') {
      const refused = await openSession(server, connection, undefined, false).then(
        async (session) => {
          await session.end().catch(() => session.destroy());
          return undefined;
        },
        (e: SqlFailure) => hostLimitError(e, account.host, connection, server, service),
      );
      if (refused) throw refused;
    }
  }

  const head = {
    command: 'connect' as const,
    service: service.name,
    server: server.name,
    user: connection.user,
    ...(database ? { database } : {}),
  };
  if (opts.json && opts.execute !== undefined)
    return { ...head, exitCode: 0, results: await runAsJson(connection, database, opts.execute, server) };

  // Watching starts before the credentials file exists, so no signal can come between the two.
  const signals = watchSignals();
  const defaults = await writeClientDefaults(connection).catch((e: unknown) => {
    signals.dispose();
    throw e;
  });
  try {
    const result = head;
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
