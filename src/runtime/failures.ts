// What went wrong with one server, classified once for every command that fans out to the fleet:
// no connection, the admin refused, TLS failed or demanded, no answer in time, or a statement the server refused.
// Pure: it looks only at the error's code and errno, so it is unit-tested without a server.
import { DbpsError, OperationalError } from '../errors.js';

export type FailureKind = 'unreachable' | 'access-denied' | 'tls' | 'tls-required' | 'timeout' | 'sql-error' | 'error';

/** One server's failure, as results and reports carry it. */
export interface ServerFailure {
  server: string;
  kind: FailureKind;
  message: string;
  hint?: string;
}

/** The connection of `server` gave no answer within `timeoutMs` (connecting, or to a statement). */
export class ServerTimeoutError extends OperationalError {
  readonly phase: 'connect' | 'statement' | 'server';
  readonly timeoutMs: number;
  constructor(server: string, phase: 'connect' | 'statement' | 'server', timeoutMs: number, what?: string) {
    const s = formatSeconds(timeoutMs);
    super(
      phase === 'connect'
        ? `server "${server}" did not complete the connection within ${s}`
        : phase === 'statement'
          ? `server "${server}" did not answer ${what ?? 'a statement'} within ${s}`
          : `server "${server}" did not finish within ${s}`,
      {
        server,
        hint: 'check that the host is up and the server not hung or locked (SHOW PROCESSLIST: a LOCK TABLES or FLUSH TABLES WITH READ LOCK), or raise --timeout',
      },
    );
    this.phase = phase;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * What is wrong with a server's TLS, as dbps asked for it: its certificate does not verify against
 * the CA (`certificate`), is for another name (`name`), or the server offers no TLS (`no-tls`).
 */
export type TlsProblem = 'certificate' | 'name' | 'no-tls';

/** The server answered, but its TLS is not what services.yaml asks for; made by the connection code (src/runtime/tls.ts). */
export class TlsConnectionError extends OperationalError {
  readonly problem: TlsProblem;
  constructor(server: string, problem: TlsProblem, message: string, hint: string, cause?: unknown) {
    super(message, { server, hint, cause });
    this.problem = problem;
  }
}

/** `10 s`, `1.5 s`: a timeout as messages say it. */
export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

// MariaDB error numbers (include/mysqld_error.h) and the connector's own (45xxx).
const ACCESS_DENIED = new Set([1045, 1698, 1044]);
const PRIVILEGE_DENIED = new Set([1142, 1143, 1227, 1370]);
/** ER_SECURE_TRANSPORT_REQUIRED (MariaDB 10.5.2+: require_secure_transport=ON). */
const SECURE_TRANSPORT_REQUIRED = 3159;
const CONNECTOR_TIMEOUTS = new Set(['ER_CONNECTION_TIMEOUT', 'ER_SOCKET_TIMEOUT']);
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ER_GET_CONNECTION_TIMEOUT',
  'ER_SOCKET_UNEXPECTED_CLOSE',
]);

interface ErrorFacts {
  code?: string;
  errno?: number;
  sqlMessage?: string;
  message?: string;
}

/** The connector error inside an OperationalError (or the error itself). */
function facts(e: unknown): ErrorFacts {
  const outer = (e ?? {}) as ErrorFacts & { cause?: unknown };
  const inner = (outer.cause ?? {}) as ErrorFacts;
  return {
    ...((inner.code ?? outer.code) ? { code: inner.code ?? outer.code } : {}),
    ...((inner.errno ?? outer.errno) ? { errno: inner.errno ?? outer.errno } : {}),
    ...((inner.sqlMessage ?? outer.sqlMessage) ? { sqlMessage: inner.sqlMessage ?? outer.sqlMessage } : {}),
    message: outer.message ?? String(e),
  };
}

/** The kind of a failure from its error alone. */
export function failureKind(e: unknown): FailureKind {
  if (e instanceof ServerTimeoutError) return 'timeout';
  // Before the codes: the socket error under a TLS failure (ECONNRESET, …) would read as unreachable.
  if (e instanceof TlsConnectionError) return 'tls';
  const f = facts(e);
  if (f.code && CONNECTOR_TIMEOUTS.has(f.code)) return 'timeout';
  if (
    f.errno === SECURE_TRANSPORT_REQUIRED ||
    f.code === 'ER_SECURE_TRANSPORT_REQUIRED' ||
    /insecure transport|secure transport/i.test(f.sqlMessage ?? '')
  )
    return 'tls-required';
  if (f.errno !== undefined && (ACCESS_DENIED.has(f.errno) || PRIVILEGE_DENIED.has(f.errno))) return 'access-denied';
  if (f.code && UNREACHABLE_CODES.has(f.code)) return 'unreachable';
  if (f.errno !== undefined && f.errno > 0 && f.errno < 45000) return 'sql-error';
  // An OperationalError of a driver that already said "not reachable" (no socket, never started …).
  if (e instanceof DbpsError && e.exitCode === 3 && !f.errno) return 'unreachable';
  return 'error';
}

const HINTS: Record<FailureKind, string> = {
  unreachable: 'check that the server runs and the host and port are right (`dbps status`)',
  'access-denied':
    'check the admin user and its password variable in services.yaml, and that it may read mysql.* (GRANT SELECT ON mysql.*)',
  tls: "check tls.ca and tls.mode of this server in services.yaml against the server's certificate",
  'tls-required': 'the server accepts only TLS connections: configure TLS for this server in services.yaml',
  timeout:
    'check that the host is up and the server not hung or locked (SHOW PROCESSLIST: a LOCK TABLES or FLUSH TABLES WITH READ LOCK), or raise --timeout',
  'sql-error': 'see the server error above; rerun with -v for details',
  error: 'rerun with -v for details; if the server is healthy this is a bug in dbps, please report it',
};

/**
 * One sentence per failed server, naming it, with the way out. Messages of dbps's own errors are
 * kept (they already name the server); a connector's is reduced to the server's own words.
 */
export function classifyFailure(server: string, e: unknown): ServerFailure {
  const kind = failureKind(e);
  const f = facts(e);
  let message: string;
  if (e instanceof DbpsError) message = e.message;
  else message = `server "${server}": ${f.sqlMessage ?? f.code ?? f.message ?? 'failed'}`;
  if (!message.includes(`"${server}"`)) message = `server "${server}": ${message}`;
  const own = e instanceof DbpsError ? e.hint : undefined;
  return { server, kind, message, hint: own ?? HINTS[kind] };
}
