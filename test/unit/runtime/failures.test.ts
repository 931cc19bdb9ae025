// Failure classification of the fleet fan-out: one kind and one sentence per failed server, from the
// error's code and errno only (what the connector and MariaDB return), and the bounds of a command.
import { describe, expect, it } from 'vitest';
import { OperationalError, UsageError } from '../../../src/errors.js';
import { classifyFailure, failureKind, formatSeconds, ServerTimeoutError } from '../../../src/runtime/failures.js';
import {
  boundedTarget,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  resolveTimeouts,
} from '../../../src/runtime/fanout.js';
import { tlsConnectionFailure } from '../../../src/runtime/tls.js';

/** A connector error as the mariadb package makes them. */
function sqlError(errno: number, code: string, sqlMessage?: string) {
  return Object.assign(new Error(`(conn:1, no: ${errno}) ${sqlMessage ?? code}`), {
    errno,
    code,
    ...(sqlMessage ? { sqlMessage } : {}),
  });
}

describe('failureKind', () => {
  it.each([
    ['our own timeout', new ServerTimeoutError('h1', 'statement', 3000), 'timeout'],
    ["the connector's connect timeout", sqlError(45012, 'ER_CONNECTION_TIMEOUT'), 'timeout'],
    ["the connector's socket timeout", sqlError(45026, 'ER_SOCKET_TIMEOUT'), 'timeout'],
    [
      'access denied (password)',
      sqlError(1045, 'ER_ACCESS_DENIED_ERROR', "Access denied for user 'a'@'b'"),
      'access-denied',
    ],
    ['a missing privilege', sqlError(1142, 'ER_TABLEACCESS_DENIED_ERROR', 'SELECT command denied'), 'access-denied'],
    [
      'require_secure_transport',
      sqlError(3159, 'ER_SECURE_TRANSPORT_REQUIRED', 'Connections using insecure transport are prohibited'),
      'tls-required',
    ],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'unreachable'],
    ['no socket file', Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' }), 'unreachable'],
    ['a cut route', Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' }), 'unreachable'],
    ['a statement the server refused', sqlError(1064, 'ER_PARSE_ERROR', 'You have an error'), 'sql-error'],
    ['anything else', new Error('boom'), 'error'],
  ])('%s → %s', (_what, error, kind) => {
    expect(failureKind(error)).toBe(kind);
  });

  it('looks through the OperationalError that wraps a connector error', () => {
    const wrapped = new OperationalError('server "h2": Access denied', {
      server: 'h2',
      cause: sqlError(1045, 'ER_ACCESS_DENIED_ERROR'),
    });
    expect(failureKind(wrapped)).toBe('access-denied');
    const sql = new OperationalError('server "h2": Table x does not exist', {
      server: 'h2',
      cause: sqlError(1146, 'ER_NO_SUCH_TABLE'),
    });
    expect(failureKind(sql)).toBe('sql-error');
  });

  it("a driver's own 'not reachable' error (exit 3, no errno) is unreachable", () => {
    expect(failureKind(new OperationalError('server "x" has never been started', { server: 'x' }))).toBe('unreachable');
    expect(failureKind(new UsageError('bad'))).toBe('error');
  });
});

describe('classifyFailure', () => {
  it("keeps dbps's own sentence and hint, which name the server", () => {
    const e = new OperationalError('server "h1": environment variable X is not set', {
      server: 'h1',
      hint: 'export X',
    });
    expect(classifyFailure('h1', e)).toEqual({
      server: 'h1',
      kind: 'unreachable',
      message: 'server "h1": environment variable X is not set',
      hint: 'export X',
    });
  });

  it("reduces a connector error to the server's own words, naming the server, with a hint of its kind", () => {
    const f = classifyFailure(
      'h3',
      sqlError(1045, 'ER_ACCESS_DENIED_ERROR', "Access denied for user 'root'@'10.0.0.1'"),
    );
    expect(f).toEqual({
      server: 'h3',
      kind: 'access-denied',
      message: `server "h3": Access denied for user 'root'@'10.0.0.1'`,
      hint: expect.stringContaining('admin user'),
    });
    expect(classifyFailure('h3', new Error('boom')).message).toBe('server "h3": boom');
  });

  it('a timeout says what timed out and after how long', () => {
    expect(classifyFailure('h1', new ServerTimeoutError('h1', 'connect', 10_000)).message).toBe(
      'server "h1" did not complete the connection within 10 s',
    );
    expect(classifyFailure('h1', new ServerTimeoutError('h1', 'statement', 1500)).message).toBe(
      'server "h1" did not answer a statement within 1.5 s',
    );
    expect(classifyFailure('h1', new ServerTimeoutError('h1', 'server', 30_000))).toMatchObject({
      kind: 'timeout',
      message: 'server "h1" did not finish within 30 s',
      hint: expect.stringContaining('--timeout'),
    });
    expect(formatSeconds(60_000)).toBe('60 s');
  });
});

describe('TLS failures', () => {
  const tls = { mode: 'verify-full' as const, caFile: '/etc/ca.pem' };
  // As the connector rejects them: Node's tls errors (the socket below them is reset, ECONNRESET-like).
  const chain = Object.assign(new Error('(conn:-1, no: 45009) unable to verify the first certificate'), {
    code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  });
  const name = Object.assign(
    new Error("Hostname/IP does not match certificate's altnames: IP: 10.0.0.11 is not in the cert's list: 10.0.0.250"),
    { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
  );
  const none = Object.assign(
    new Error('(conn:-1, no: 45023) Trying to connect with ssl, but ssl not enabled in the server'),
    {
      errno: 45023,
      code: 'ER_SERVER_SSL_DISABLED',
    },
  );

  it.each([
    ['a certificate of another CA', chain, 'certificate', /certificate chain does not lead to that CA/, /tls\.ca/],
    ['a certificate for another name', name, 'name', /certificate that is not for 10\.0\.0\.11/, /host:.*verify-ca/],
    [
      'a server without TLS',
      none,
      'no-tls',
      /does not offer TLS, which tls mode verify-full requires/,
      /mode: disabled/,
    ],
  ])('%s: kind tls, problem %s, a sentence naming the server and a hint', (_what, e, problem, message, hint) => {
    const f = tlsConnectionFailure('h1', '10.0.0.11:3306', '10.0.0.11', tls, e);
    expect(f).toMatchObject({ problem, server: 'h1', exitCode: 3 });
    expect(failureKind(f)).toBe('tls');
    const c = classifyFailure('h1', f);
    expect(c.kind).toBe('tls');
    expect(c.message).toMatch(/^server "h1" at 10\.0\.0\.11:3306 /);
    expect(c.message).toMatch(message);
    expect(c.hint).toMatch(hint);
  });

  it('is no TLS failure when TLS was not asked for, or the error is not about TLS', () => {
    expect(tlsConnectionFailure('h1', 'x', 'x', { mode: 'disabled' }, chain)).toBeUndefined();
    expect(
      tlsConnectionFailure('h1', 'x', 'x', tls, Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })),
    ).toBeUndefined();
  });
});

describe('resolveTimeouts', () => {
  it('without --timeout: defaults.connectTimeout (else 10 s) for connecting, 60 s per statement', () => {
    expect(resolveTimeouts({})).toEqual({
      connectMs: DEFAULT_CONNECT_TIMEOUT_MS,
      statementMs: DEFAULT_STATEMENT_TIMEOUT_MS,
    });
    expect(DEFAULT_CONNECT_TIMEOUT_MS).toBe(10_000);
    expect(DEFAULT_STATEMENT_TIMEOUT_MS).toBe(60_000);
    expect(resolveTimeouts({ connectTimeoutMs: 25_000 })).toEqual({ connectMs: 25_000, statementMs: 60_000 });
  });

  it('--timeout bounds both waits and beats services.yaml', () => {
    expect(resolveTimeouts({ connectTimeoutMs: 25_000 }, 3)).toEqual({ connectMs: 3000, statementMs: 3000 });
    expect(resolveTimeouts({}, 0.5)).toEqual({ connectMs: 500, statementMs: 500 });
  });

  it('a target gets the bounds; a shorter connect bound of its own (a local probe) is kept', () => {
    const t = { server: 's', host: 'h', port: 1, user: 'u' };
    expect(boundedTarget(t, { connectMs: 3000, statementMs: 4000 })).toEqual({
      ...t,
      connectTimeout: 3000,
      statementTimeout: 4000,
    });
    expect(boundedTarget({ ...t, connectTimeout: 500 }, { connectMs: 3000, statementMs: 4000 }).connectTimeout).toBe(
      500,
    );
  });
});
