// Certificates of local servers: one fleet CA in <stateDir>/tls (its key 0600, never in generated
// files) and one certificate per server in <server dir>/tls, signed by it, naming what the server
// listens on. Made with the openssl CLI (node:crypto cannot issue X.509 certificates); checked with
// node:crypto's X509Certificate and renewed on `dbps up` when fewer than RENEW_DAYS are left.
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { OperationalError } from '../errors.js';
import type { ServerTlsFiles } from '../mycnf/render.js';
import { fleetCaFile } from './tls.js';

const execFileAsync = promisify(execFile);

/** A certificate with fewer days left than this is replaced at the next `dbps up`. */
export const RENEW_DAYS = 30;
const CA_DAYS = 3650;
// 397 days: the longest validity clients that follow the CA/Browser rules accept.
const SERVER_DAYS = 397;
const DAY_MS = 24 * 3600 * 1000;

/** Names and addresses a local server's certificate covers: it listens on 127.0.0.1 of this machine. */
export function localServerNames(hostname: string = os.hostname()): { dns: string[]; ip: string[] } {
  const dns = ['localhost'];
  // Only a valid DNS name can go into a certificate; an odd host name is simply left out.
  if (/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(hostname)) {
    if (hostname.toLowerCase() !== 'localhost') dns.push(hostname);
  }
  return { dns, ip: ['127.0.0.1', '::1'] };
}

/** The subjectAltName extension line for openssl. */
export function subjectAltName(names: { dns: string[]; ip: string[] }): string {
  return [...names.dns.map((d) => `DNS:${d}`), ...names.ip.map((i) => `IP:${i}`)].join(',');
}

/** Why a certificate must be (re)made, or undefined when it is good: pure, for tests. */
export function renewalReason(
  cert: X509Certificate | undefined,
  ca: X509Certificate,
  names: { dns: string[]; ip: string[] },
  now: Date,
): string | undefined {
  if (!cert) return 'no certificate yet';
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not signed by the fleet CA';
  const left = new Date(cert.validTo).getTime() - now.getTime();
  if (left < RENEW_DAYS * DAY_MS) return `expires ${cert.validTo}`;
  const san = cert.subjectAltName ?? '';
  for (const d of names.dns) if (!san.includes(`DNS:${d}`)) return `does not name ${d}`;
  for (const ip of names.ip) {
    const shown = ip === '::1' ? '0:0:0:0:0:0:0:1' : ip;
    if (!san.includes(`IP Address:${ip}`) && !san.includes(`IP Address:${shown}`)) return `does not name ${ip}`;
  }
  return undefined;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd, timeout: 60_000 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    throw new OperationalError(
      err.code === 'ENOENT'
        ? 'cannot make TLS certificates for local servers: the openssl program is not installed'
        : `openssl failed while making TLS certificates: ${(err.stderr ?? err.message).trim().split('\n')[0]}`,
      { hint: err.code === 'ENOENT' ? 'install it (`apt-get install openssl`) and run again' : undefined, cause: e },
    );
  }
}

async function readCert(file: string): Promise<X509Certificate | undefined> {
  try {
    return new X509Certificate(await readFile(file));
  } catch {
    return undefined;
  }
}

/** A private scratch directory beside the final files, so that rename() never crosses file systems. */
async function workDir(parent: string): Promise<string> {
  return mkdtemp(path.join(parent, '.work-'));
}

/** A random positive 128-bit serial (RFC 5280 wants unique, unpredictable serials). */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return `0x${b.toString('hex')}`;
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

// `dbps up` starts its servers concurrently and each asks for the fleet CA: one making of it per state
// dir at a time, or two CAs race and a server gets a certificate of the one that lost (its clients then
// fail with "unable to get local issuer certificate"). Other processes are kept out by the fleet lock.
const caInFlight = new Map<string, Promise<X509Certificate>>();

/** The fleet CA: made once, remade when it is about to expire (servers then get new certificates). */
export function ensureFleetCa(stateDir: string, fleetName: string, now = new Date()): Promise<X509Certificate> {
  const key = fleetCaFile(stateDir);
  const running = caInFlight.get(key);
  if (running) return running;
  const made = makeFleetCa(stateDir, fleetName, now).finally(() => caInFlight.delete(key));
  caInFlight.set(key, made);
  return made;
}

async function makeFleetCa(stateDir: string, fleetName: string, now: Date): Promise<X509Certificate> {
  const caFile = fleetCaFile(stateDir);
  const dir = path.dirname(caFile);
  const keyFile = path.join(dir, 'ca-key.pem');
  const existing = existsSync(keyFile) ? await readCert(caFile) : undefined;
  if (existing && new Date(existing.validTo).getTime() - now.getTime() >= RENEW_DAYS * DAY_MS) return existing;
  // 0711: clients of other users may read the CA certificate by its path; the key stays 0600.
  await mkdir(dir, { recursive: true, mode: 0o711 });
  await chmod(dir, 0o711);
  const work = await workDir(dir);
  try {
    const subject = `/CN=dbps fleet CA ${fleetName.replace(/[^A-Za-z0-9 _.-]/g, '_')}`;
    await openssl(
      [
        'req',
        '-x509',
        ...KEY_ARGS,
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-days',
        String(CA_DAYS),
        '-subj',
        subject,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      work,
    );
    await chmod(path.join(work, 'key.pem'), 0o600);
    await chmod(path.join(work, 'cert.pem'), 0o644);
    // Key first: a CA certificate on disk always has its key beside it.
    await rename(path.join(work, 'key.pem'), keyFile);
    await rename(path.join(work, 'cert.pem'), caFile);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return new X509Certificate(await readFile(caFile));
}

/** Where a local server's certificate files live (inside its directory, which the server's OS user owns). */
export function serverTlsFiles(serverDir: string): ServerTlsFiles {
  const dir = path.join(serverDir, 'tls');
  return {
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'server-cert.pem'),
    key: path.join(dir, 'server-key.pem'),
  };
}

export interface ServerCertOutcome {
  files: ServerTlsFiles;
  /** Why the certificate was made now (absent: the existing one was kept). */
  renewed?: string;
}

/**
 * The server's certificate and key, made or renewed as needed. The key is 0600; the caller hands the
 * server's directory to the server's OS user (chownTree), so only that user (and root) can read it.
 */
export async function ensureServerCert(
  stateDir: string,
  fleetName: string,
  serverName: string,
  serverDir: string,
  now = new Date(),
): Promise<ServerCertOutcome> {
  const ca = await ensureFleetCa(stateDir, fleetName, now);
  const files = serverTlsFiles(serverDir);
  const names = localServerNames();
  const reason = renewalReason(await readCert(files.cert), ca, names, now);
  const caPem = await readFile(fleetCaFile(stateDir), 'utf8');
  await mkdir(path.dirname(files.cert), { recursive: true, mode: 0o700 });
  if ((await readFile(files.ca, 'utf8').catch(() => '')) !== caPem) await writeFile(files.ca, caPem, { mode: 0o644 });
  if (!reason && existsSync(files.key)) return { files };
  const work = await workDir(path.dirname(files.cert));
  try {
    const caDir = path.dirname(fleetCaFile(stateDir));
    await writeFile(
      path.join(work, 'ext.cnf'),
      [
        `subjectAltName=${subjectAltName(names)}`,
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        '',
      ].join('\n'),
    );
    const cn = `/CN=${serverName.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
    await openssl(['req', '-new', ...KEY_ARGS, '-keyout', 'key.pem', '-out', 'req.csr', '-subj', cn], work);
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        'req.csr',
        '-CA',
        path.join(caDir, 'ca.pem'),
        '-CAkey',
        path.join(caDir, 'ca-key.pem'),
        '-set_serial',
        serialNumber(),
        '-days',
        String(SERVER_DAYS),
        '-extfile',
        'ext.cnf',
        '-out',
        'cert.pem',
      ],
      work,
    );
    await chmod(path.join(work, 'key.pem'), 0o600);
    await chmod(path.join(work, 'cert.pem'), 0o644);
    await rename(path.join(work, 'key.pem'), files.key);
    await rename(path.join(work, 'cert.pem'), files.cert);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { files, renewed: reason ?? 'no key' };
}
