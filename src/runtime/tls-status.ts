// What `status` says about TLS: whether the server offers it and how dbps's own session is secured.
// Asked beside the health queries on the same session, so it rides in the same pipelined round trip.
import type { AdminSession, AdminTarget } from './admin.js';
import type { TlsMode } from './tls.js';

export interface ServerTlsStatus {
  /** have_ssl: YES when the server has a certificate and key, DISABLED otherwise. */
  serverTls: boolean;
  /** How dbps reached the server: over its socket (no TLS needed) or TCP with a TLS mode. */
  transport: 'socket' | 'tcp';
  mode?: TlsMode;
  /** The TLS version and cipher of dbps's session (absent: the session is not encrypted). */
  version?: string;
  cipher?: string;
  /** True when the session is encrypted and the server's certificate was checked against a CA. */
  verified: boolean;
}

/** Reads have_ssl and the session's Ssl_version/Ssl_cipher in one statement. */
export async function readTlsStatus(
  session: AdminSession,
  target: Pick<AdminTarget, 'socketPath' | 'tls'>,
): Promise<ServerTlsStatus> {
  const [row] = await session.query<{ have: string; version: string | null; cipher: string | null }>(
    `SELECT @@have_ssl AS have,
       (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_VERSION') AS version,
       (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER') AS cipher`,
  );
  const version = row?.version || undefined;
  const cipher = row?.cipher || undefined;
  const mode = target.socketPath ? undefined : target.tls?.mode;
  return {
    serverTls: row?.have === 'YES',
    transport: target.socketPath ? 'socket' : 'tcp',
    ...(mode ? { mode } : {}),
    ...(version ? { version } : {}),
    ...(cipher ? { cipher } : {}),
    verified: version !== undefined && (mode === 'verify-full' || mode === 'verify-ca'),
  };
}
