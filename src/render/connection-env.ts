// A service's connection as environment variables, a URL or JSON (`dbps env`). Pure.
import { UsageError } from '../errors.js';
import { quoted } from '../util/printable.js';
import { shellQuote } from '../util/shell-quote.js';

export const ENV_FORMATS = ['dotenv', 'url', 'json'] as const;
export type EnvFormat = (typeof ENV_FORMATS)[number];

export interface ConnectionParts {
  user: string;
  password: string;
  host: string;
  port: number;
  /** Empty for accounts without a default database (backup, monitor). */
  database: string;
  /** The local server's socket; absent for external servers. */
  socket?: string;
  /** The account connects through the socket only (host `localhost`): the URL names the socket. */
  socketOnly: boolean;
  /** TLS a client must use over TCP: its mode and the CA file that verifies the server. */
  tls?: { mode: 'verify-full' | 'verify-ca' | 'required' | 'disabled'; ca?: string };
  /** Further variables under other names (the compose file's monitor password), printed last. */
  extra?: Array<[string, string]>;
}

/**
 * `mariadb://user:password@host:port/db`, every part percent-encoded (encodeURIComponent leaves only
 * `A-Za-z0-9-_.!~*'()` as they are, so `@ : / ? # %` in a password cannot change the URL's shape). A
 * socket-only account gets `?socketPath=…`, the MariaDB connectors' name for it.
 */
export function connectionUrl(c: ConnectionParts): string {
  const e = encodeURIComponent;
  const query = c.socketOnly && c.socket ? `?socketPath=${e(c.socket)}` : tlsQuery(c.tls);
  return `mariadb://${e(c.user)}:${e(c.password)}@${e(c.host)}:${c.port}/${e(c.database)}${query}`;
}

/** Connector/J's sslMode names for a mode (Connector/Node reads `ssl=true`; the CA comes from DB_SSL_CA). */
const URL_SSL_MODE = { 'verify-full': 'verify-full', 'verify-ca': 'verify-ca', required: 'trust' } as const;

/** `?ssl=true&sslMode=…&serverSslCert=…` for a TLS connection, empty without TLS. */
function tlsQuery(tls: ConnectionParts['tls']): string {
  if (!tls || tls.mode === 'disabled') return '';
  const e = encodeURIComponent;
  return `?ssl=true&sslMode=${URL_SSL_MODE[tls.mode]}${tls.ca && tls.mode !== 'required' ? `&serverSslCert=${e(tls.ca)}` : ''}`;
}

/** DB_SSL, DB_SSL_MODE and DB_SSL_CA: what a client needs to reach the server over TLS. */
function tlsVariables(c: ConnectionParts): Array<[string, string]> {
  if (!c.tls || c.socketOnly) return [];
  if (c.tls.mode === 'disabled') return [['DB_SSL', 'false']];
  return [
    ['DB_SSL', 'true'],
    ['DB_SSL_MODE', c.tls.mode],
    ...(c.tls.ca && c.tls.mode !== 'required' ? ([['DB_SSL_CA', c.tls.ca]] as Array<[string, string]>) : []),
  ];
}

/** The variables in output order: DATABASE_URL first, then each part; DB_SOCKET only for local servers. */
export function connectionVariables(c: ConnectionParts): Array<[string, string]> {
  return [
    ['DATABASE_URL', connectionUrl(c)],
    ['DB_HOST', c.host],
    ['DB_PORT', String(c.port)],
    ['DB_NAME', c.database],
    ['DB_USER', c.user],
    ['DB_PASSWORD', c.password],
    ...(c.socket ? ([['DB_SOCKET', c.socket]] as Array<[string, string]>) : []),
    ...tlsVariables(c),
    ...(c.extra ?? []),
  ];
}

/**
 * What keeps a value from one `KEY='value'` line that bash and docker compose both read exactly, or
 * undefined. Bash takes everything between the quotes literally and has no way to write `'` inside
 * them (`'\''` closes, escapes and reopens); compose's env-file parser takes single-quoted values
 * literally too (no interpolation) but ends them at the first `'` not preceded by a backslash and
 * knows nothing of `'\''`. So a value must hold no `'`, must not end in a backslash (compose would
 * read `\'` as an escaped quote and never close the value), and stays on one line.
 */
export function dotenvProblem(value: string): string | undefined {
  if (value.includes("'")) return 'a single quote';
  if (/[\r\n\0]/.test(value)) return 'a line break or NUL';
  if (value.endsWith('\\')) return 'a backslash at its end';
  return undefined;
}

/** `KEY='value'` lines for `set -a; . FILE` and `docker compose --env-file FILE`; refuses what neither can hold. */
export function dotenvLines(vars: Array<[string, string]>, account: string): string {
  // The parts first: DATABASE_URL holds what they hold, and the message should name the cause.
  for (const [k, v] of [...vars.filter(([k]) => k !== 'DATABASE_URL'), ...vars.filter(([k]) => k === 'DATABASE_URL')]) {
    const problem = dotenvProblem(v);
    if (problem)
      throw new UsageError(
        `${k} of account ${quoted(account)} holds ${problem}, which no env file can hold so that both a shell (\`set -a; . FILE\`) and \`docker compose --env-file\` read it exactly`,
        {
          hint: 'use --format json or --format url, or give the account a password without single quotes, line breaks or a trailing backslash',
        },
      );
  }
  return `${vars.map(([k, v]) => `${k}=${shellQuote(v)}`).join('\n')}\n`;
}

/**
 * The text `dbps env` prints. dotenv: `KEY='value'` lines, which `set -a; . FILE` and
 * `docker compose --env-file FILE` both read literally (no `$` expansion, no word splitting).
 */
export function renderConnection(c: ConnectionParts, format: EnvFormat): string {
  const vars = connectionVariables(c);
  switch (format) {
    case 'dotenv':
      return dotenvLines(vars, c.user);
    case 'url':
      return `${connectionUrl(c)}\n`;
    case 'json':
      return `${JSON.stringify(Object.fromEntries(vars), null, 2)}\n`;
  }
}
