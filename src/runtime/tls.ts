// TLS on dbps's own connections: which mode and CA a server is reached with, turned into the options
// of the mariadb connector (admin sessions) and of the mariadb client's option file (connect).
//
// Local servers are administered over their socket, where TLS protects nothing (no bytes cross a
// network) and is not used; their certificate (src/runtime/local-certs.ts) serves clients over TCP,
// which dbps reaches verify-full against the fleet CA. External servers use `tls:` of services.yaml.
// No mode falls back to clear text: a server without TLS is refused unless the mode is `disabled`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PeerCertificate, SecureContext } from 'node:tls';
import { OperationalError } from '../errors.js';
import type { FleetServer, TlsMode } from '../fleet/model.js';
import { printable } from '../util/printable.js';
import { TlsConnectionError } from './failures.js';

export type { TlsMode };

/** How one connection is secured: the mode and the CA file (absolute) that verifies the server. */
export interface TlsTarget {
  mode: TlsMode;
  caFile?: string;
}

/** The fleet CA of local servers (its certificate; the key is beside it, 0600). */
export function fleetCaFile(stateDir: string): string {
  return path.join(path.resolve(stateDir), 'tls', 'ca.pem');
}

/** The CA file of an external server, absolute: relative paths are relative to services.yaml. */
export function externalCaFile(fleetFile: string, ca: string): string {
  return path.resolve(path.dirname(path.resolve(fleetFile)), ca);
}

/**
 * TLS of a TCP connection to a server: external servers as services.yaml says (defaults resolved
 * by the config), local servers verify-full against the fleet CA that `dbps up` made.
 */
export function serverTls(fleetFile: string, server: FleetServer, stateDir: string): TlsTarget {
  if (server.driver === 'local') return { mode: 'verify-full', caFile: fleetCaFile(stateDir) };
  const tls = server.tls ?? { mode: 'required' as const };
  return { mode: tls.mode, ...(tls.ca ? { caFile: externalCaFile(fleetFile, tls.ca) } : {}) };
}

/** The `ssl` option of the mariadb connector (Node's tls.connect options), or undefined for no TLS. */
export interface ConnectorSsl {
  ca?: string;
  /** The default roots plus NODE_EXTRA_CA_CERTS, when the launcher deferred that file (below). */
  secureContext?: SecureContext;
  rejectUnauthorized: boolean;
  minVersion: 'TLSv1.2';
  servername?: string;
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

function isIpAddress(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':');
}

/**
 * Connector options for a mode. verify-full checks the name against the host dbps connects to (the
 * connector would otherwise check `localhost` for a server addressed by IP); verify-ca checks only
 * the chain; required encrypts without checking who answers.
 */
export function connectorSslOptions(
  mode: TlsMode,
  host: string,
  caPem: string | undefined,
  checkIdentity: (host: string, cert: PeerCertificate) => Error | undefined,
): ConnectorSsl | undefined {
  switch (mode) {
    case 'disabled':
      return undefined;
    case 'required':
      return { rejectUnauthorized: false, minVersion: 'TLSv1.2' };
    case 'verify-ca':
      return {
        ...(caPem ? { ca: caPem } : {}),
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        checkServerIdentity: () => undefined,
      };
    case 'verify-full':
      return {
        ...(caPem ? { ca: caPem } : {}),
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        // SNI takes names only; an address is checked against the certificate's IP entries.
        ...(isIpAddress(host) ? {} : { servername: host }),
        checkServerIdentity: (_name, cert) => checkIdentity(host, cert),
      };
  }
}

/** Reads the CA file and builds the connector options; an unreadable CA is an operational error naming the server. */
export async function loadConnectorSsl(
  server: string,
  tls: TlsTarget | undefined,
  host: string,
): Promise<ConnectorSsl | undefined> {
  if (!tls || tls.mode === 'disabled') return undefined;
  let caPem: string | undefined;
  if (tls.caFile && tls.mode !== 'required') {
    try {
      caPem = await readFile(tls.caFile, 'utf8');
    } catch (e) {
      throw new OperationalError(
        `server "${server}": cannot read its TLS CA file ${printable(tls.caFile)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        { server, hint: 'check tls.ca in services.yaml (local servers: run `dbps up` to make the fleet CA)', cause: e },
      );
    }
  }
  const { checkServerIdentity } = await import('node:tls');
  const options = connectorSslOptions(tls.mode, host, caPem, checkServerIdentity);
  if (options?.rejectUnauthorized && !caPem) {
    const secureContext = await deferredRootsContext();
    if (secureContext) options.secureContext = secureContext;
  }
  return options;
}

let deferredRoots: Promise<SecureContext | undefined> | undefined;

/**
 * bin/dbps starts node without NODE_EXTRA_CA_CERTS (node would parse that file at start, on every
 * command) and passes it as DBPS_DEFERRED_EXTRA_CA_CERTS. A connection verified against the default
 * roots, not a CA of services.yaml, gets what node would have built: its own roots plus that file's
 * certificates, in one context made once per process. Like node, a file it cannot read is a warning.
 */
export function deferredRootsContext(): Promise<SecureContext | undefined> {
  deferredRoots ??= (async () => {
    const file = process.env.DBPS_DEFERRED_EXTRA_CA_CERTS;
    if (!file) return undefined;
    const tls = await import('node:tls');
    try {
      return tls.createSecureContext({ ca: [...tls.rootCertificates, await readFile(file, 'utf8')] });
    } catch (e) {
      process.emitWarning(
        `Ignoring extra certs from ${printable(file)}, load failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
      return undefined;
    }
  })();
  return deferredRoots;
}

/** Lines of the mariadb client's [client] group for a TCP connection in this mode. */
export function clientTlsLines(tls: TlsTarget, quote: (value: string) => string): string[] {
  switch (tls.mode) {
    case 'disabled':
      return ['skip-ssl'];
    case 'required':
      // 11.4+ clients verify by default: required means encrypted, not verified.
      return ['ssl', 'skip-ssl-verify-server-cert'];
    case 'verify-ca':
      return ['ssl', ...(tls.caFile ? [`ssl-ca=${quote(tls.caFile)}`] : []), 'skip-ssl-verify-server-cert'];
    case 'verify-full':
      return ['ssl', ...(tls.caFile ? [`ssl-ca=${quote(tls.caFile)}`] : []), 'ssl-verify-server-cert'];
  }
}

/** True when a connector or socket error is about the server's certificate (chain, name, expiry). */
export function isCertificateError(e: unknown): boolean {
  const err = e as { code?: string; message?: string; cause?: { code?: string } };
  const text = `${err.code ?? ''} ${err.cause?.code ?? ''} ${err.message ?? ''}`;
  return /CERT|certificate|self[- ]signed|ALTNAME|identif|UNABLE_TO_(GET|VERIFY)/i.test(text);
}

/** True when the server refused or lacks TLS where dbps asked for it. */
export function isTlsUnavailableError(e: unknown): boolean {
  const err = e as { errno?: number; code?: string; message?: string };
  return err.errno === 45023 || err.code === 'ER_SERVER_SSL_DISABLED' || /ssl not enabled/i.test(err.message ?? '');
}

/** True when the certificate verified but names another host than the one dbps connected to. */
function isNameMismatch(e: unknown): boolean {
  const err = e as { code?: string; message?: string; cause?: { code?: string } };
  return (
    err.code === 'ERR_TLS_CERT_ALTNAME_INVALID' ||
    err.cause?.code === 'ERR_TLS_CERT_ALTNAME_INVALID' ||
    /altnames|does not match certificate/i.test(err.message ?? '')
  );
}

/** OpenSSL's reasons for a chain that does not lead to the trusted CA (as Node's tls names them). */
const CHAIN_CODES =
  /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|unable to verify the first certificate|unable to get (local )?issuer certificate|self[- ]signed certificate/i;

/**
 * The TLS failure of a connection dbps opened with `tls` to `host` (shown as `where`), or undefined when
 * the error is not about TLS: the server offers none, its certificate chain does not lead to the CA, or
 * the certificate is for another name. One sentence naming the server and what is wrong, with the way out.
 */
export function tlsConnectionFailure(
  server: string,
  where: string,
  host: string,
  tls: TlsTarget | undefined,
  e: unknown,
): TlsConnectionError | undefined {
  if (isTlsUnavailableError(e)) {
    return new TlsConnectionError(
      server,
      'no-tls',
      `server "${server}" at ${where} does not offer TLS, which tls mode ${tls?.mode ?? 'required'} requires (dbps never falls back to clear text)`,
      `give the server a certificate (ssl_cert, ssl_key), or set tls: { mode: disabled } on server "${server}" in services.yaml if the network is trusted`,
      e,
    );
  }
  if (!tls || tls.mode === 'disabled' || !isCertificateError(e)) return undefined;
  const reason = ((e as Error).message ?? String(e)).replace(/^\(conn[^)]*\)\s*/, '');
  const how = `tls mode ${tls.mode}${tls.caFile ? `, CA ${printable(tls.caFile)}` : ''}`;
  if (isNameMismatch(e)) {
    return new TlsConnectionError(
      server,
      'name',
      `server "${server}" at ${where} presented a certificate that is not for ${host} (${how}): ${reason}`,
      `set host: of server "${server}" in services.yaml to a name or address its certificate holds, or give the server a certificate for ${host}; tls.mode verify-ca checks the chain without the name`,
      e,
    );
  }
  const code = `${(e as { code?: string }).code ?? ''} ${(e as { cause?: { code?: string } }).cause?.code ?? ''}`;
  return new TlsConnectionError(
    server,
    'certificate',
    `server "${server}" at ${where} presented a certificate that does not verify (${how}): ${CHAIN_CODES.test(`${code} ${reason}`) ? `its certificate chain does not lead to that CA (${reason})` : reason}`,
    `set tls.ca of server "${server}" in services.yaml to the CA that signed the server's certificate (and check that the certificate has not expired)`,
    e,
  );
}
