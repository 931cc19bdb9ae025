// Admin sessions to any server of the fleet: the socket of a local server, or an external server's
// admin account. The seam every command that talks SQL goes through.
import type { Connection } from 'mariadb';
import { OperationalError } from '../errors.js';
import type { Fleet, FleetServer } from '../fleet/model.js';
import { burstSocket } from './burst-writes.js';
import { ServerTimeoutError } from './failures.js';
import { interruptedRestoreText } from './restore-record.js';
import { readState } from './state.js';
import { statementWatch } from './statement-watch.js';
import { loadConnectorSsl, serverTls, type TlsTarget, tlsConnectionFailure } from './tls.js';

export interface AdminSession {
  server: string;
  /** Runs one statement with `?` parameters and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], opts?: QueryOptions): Promise<T[]>;
  /** The underlying connection, for batches and transactions. */
  connection: Connection;
  close(): Promise<void>;
}

export interface AdminTarget {
  server: string;
  socketPath?: string;
  host?: string;
  port?: number;
  user: string;
  password?: string;
  /** Milliseconds to wait for the handshake (default 5000); probes of a local socket use less. */
  connectTimeout?: number;
  /** TLS over TCP (src/runtime/tls.ts); never used over a socket. */
  tls?: TlsTarget;
  /**
   * Milliseconds a statement may go unanswered before the connection is destroyed and the statement
   * fails with a ServerTimeoutError (unset: no bound). The connector's own per-query `timeout` is
   * max_statement_time, which a hung host or a cut link never honours; `socketTimeout` also kills idle sessions.
   */
  statementTimeout?: number;
}

/** Per-call options of AdminSession.query. */
export interface QueryOptions {
  /** This statement's own bound (e.g. GET_LOCK waiting longer than the usual statement). */
  timeoutMs?: number;
}

/** How to reach a server as admin, from services.yaml, the state dir and the environment. */
export async function adminTarget(
  fleet: Fleet,
  server: FleetServer,
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AdminTarget> {
  if (server.driver === 'external') {
    const admin = server.admin!;
    // An empty value counts as unset: it is almost always a variable that was meant to be filled.
    const password = admin.passwordEnv ? env[admin.passwordEnv] || undefined : undefined;
    if (admin.passwordEnv && password === undefined) {
      throw new OperationalError(
        `server "${server.name}": environment variable ${admin.passwordEnv} (admin password) is ${env[admin.passwordEnv] === '' ? 'empty' : 'not set'}`,
        {
          server: server.name,
          // dbps reads only its own environment; a .env file is for docker compose, not for dbps.
          hint: `export ${admin.passwordEnv}=... in the shell that runs dbps and run again`,
        },
      );
    }
    return {
      server: server.name,
      ...(admin.socket ? { socketPath: admin.socket } : { host: server.host!, port: server.port ?? 3306 }),
      user: admin.user,
      ...(password !== undefined ? { password } : {}),
      ...(admin.socket ? {} : { tls: serverTls(fleet.file, server, stateDir) }),
    };
  }
  const state = await readState(stateDir);
  const local = state.servers[server.name];
  if (!local) {
    throw new OperationalError(`server "${server.name}" has never been started`, {
      server: server.name,
      hint: `run \`dbps up ${server.services[0] ?? server.name}\``,
    });
  }
  if (local.restore) {
    // provision, plan and audit on a half-restored server would work on data that is neither old nor restored.
    const { message, hint } = interruptedRestoreText(server.name, local.restore);
    throw new OperationalError(message, { server: server.name, hint });
  }
  void fleet;
  return { server: server.name, socketPath: local.socket, user: local.adminUser };
}

/** Opens an admin session; failures become an OperationalError naming the server and the way out. */
export async function openAdmin(fleet: Fleet, server: FleetServer, stateDir: string): Promise<AdminSession> {
  const target = await adminTarget(fleet, server, stateDir);
  return connectAdmin(target);
}

/** Connects to an explicit target (tests and commands that already resolved one). */
export async function connectAdmin(target: AdminTarget): Promise<AdminSession> {
  const { createConnection } = await import('mariadb');
  const ssl = target.socketPath
    ? undefined
    : await loadConnectorSsl(target.server, target.tls, target.host ?? '127.0.0.1');
  const where = target.socketPath
    ? { socketPath: target.socketPath }
    : { host: target.host ?? '127.0.0.1', port: target.port ?? 3306 };
  // The session opens its own socket (given to the connector as its stream) to send each burst of
  // statements in one write; host and port stay in the options for TLS's name check.
  const socket = burstSocket(where);
  let connection: Connection;
  try {
    connection = await createConnection({
      ...(ssl ? { ssl } : {}),
      ...('host' in where ? where : {}),
      stream: () => socket.open(),
      user: target.user,
      ...(target.password !== undefined ? { password: target.password } : {}),
      connectTimeout: target.connectTimeout ?? 5000,
      // utf8mb4 named in the handshake itself (collation id 224 fits its one byte): the connector then
      // sends no `SET NAMES` after login, which it otherwise does on a server whose default character
      // set is not utf8mb4, one more round trip per connection. The session gets what dbps's own
      // servers give it today; collation-sensitive queries name their collation (PASSWORD_MISMATCH_SQL).
      collation: 'UTF8MB4_UNICODE_CI',
      multipleStatements: false,
      bigIntAsNumber: true,
      insertIdAsNumber: true,
      decimalAsNumber: true,
    });
  } catch (e) {
    throw connectionError(target, e);
  }
  const watch = statementWatch(target, connection);
  return {
    server: target.server,
    connection,
    async query<T>(sql: string, params?: unknown[], opts?: QueryOptions) {
      try {
        socket.hold();
        return (await watch(connection.query(sql, params), opts?.timeoutMs)) as T[];
      } catch (e) {
        if (e instanceof ServerTimeoutError) throw e;
        throw new OperationalError(
          `server "${target.server}": ${(e as { sqlMessage?: string }).sqlMessage ?? (e as Error).message}`,
          {
            server: target.server,
            cause: e,
          },
        );
      }
    },
    close: async () => {
      const waiting = watch.stop();
      // A statement still waiting (or a server that stopped answering): QUIT would wait for it too.
      if (waiting) {
        connection.destroy();
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          connection.end(),
          new Promise<void>((resolve) => {
            timer = setTimeout(() => {
              connection.destroy();
              resolve();
            }, target.statementTimeout ?? 10_000);
            timer.unref();
          }),
        ]);
      } catch {
        connection.destroy();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function connectionError(target: AdminTarget, e: unknown): OperationalError {
  const err = e as { code?: string; errno?: number; sqlMessage?: string; message: string };
  if (err.code === 'ER_CONNECTION_TIMEOUT')
    return new ServerTimeoutError(target.server, 'connect', target.connectTimeout ?? 5000);
  const where = target.socketPath ? `socket ${target.socketPath}` : `${target.host}:${target.port}`;
  const withTls = !target.socketPath && target.tls !== undefined && target.tls.mode !== 'disabled';
  // require_secure_transport=ON refuses a connection without TLS before any password is checked.
  if (err.errno === 3159 || err.errno === 4145 || /insecure transport/i.test(err.sqlMessage ?? err.message)) {
    return new OperationalError(
      `server "${target.server}" requires TLS (require_secure_transport) and dbps connected to ${where} without it`,
      {
        server: target.server,
        hint: `set tls: { ca: FILE } (or mode: required) on server "${target.server}" in services.yaml`,
        cause: e,
      },
    );
  }
  const tlsFailure = tlsConnectionFailure(
    target.server,
    where,
    target.host ?? '127.0.0.1',
    target.socketPath ? undefined : target.tls,
    e,
  );
  if (tlsFailure) return tlsFailure;
  if (err.code === 'ER_ACCESS_DENIED_ERROR' || err.errno === 1045 || err.errno === 1698) {
    return new OperationalError(
      `server "${target.server}": access denied for admin user ${target.user} at ${where}${withTls || target.socketPath ? '' : ' over a connection without TLS'}`,
      {
        server: target.server,
        hint:
          withTls || target.socketPath
            ? 'check the admin user and its password variable in services.yaml'
            : `if the admin account has REQUIRE SSL or the server require_secure_transport=ON (MariaDB then reports only "access denied"), TLS is required: set tls: { ca: FILE } (or mode: required) on server "${target.server}"; else check the admin user and its password variable`,
        cause: e,
      },
    );
  }
  return new OperationalError(`server "${target.server}" is not reachable at ${where} (${err.code ?? err.message})`, {
    server: target.server,
    hint: target.socketPath
      ? 'start it with `dbps up`, or see `dbps status`'
      : 'check that the server runs and the host and port are right',
    cause: e,
  });
}
