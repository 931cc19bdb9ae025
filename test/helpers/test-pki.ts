// A test PKI for servers with TLS: CAs and server certificates made with the openssl CLI in a temp
// dir. `hostTlsArgs(pki)` plugs into createHosts({ args }) so that every simulated host presents a
// certificate for its own address, signed by the test's `fleet` CA (declare `tls: { ca: pki.ca() }`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestPki {
  dir: string;
  /** The CA certificate file of CA `name` (default `fleet`). */
  ca(name?: string): string;
  /** Makes CA `name` (once). */
  makeCa(name: string): void;
  /** A certificate for `address` (an IP) signed by CA `ca`: cert and key files. */
  serverCert(stem: string, address: string, ca?: string): { cert: string; key: string };
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A PKI in a fresh temp dir with a `fleet` CA made. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbps-pki-'));
  const made = new Set<string>();
  const pki: TestPki = {
    dir,
    ca: (name = 'fleet') => path.join(dir, `${name}-ca.pem`),
    makeCa(name) {
      if (made.has(name)) return;
      openssl(
        [
          'req',
          '-x509',
          ...EC,
          '-days',
          '2',
          '-keyout',
          `${name}-ca-key.pem`,
          '-out',
          `${name}-ca.pem`,
          '-subj',
          `/CN=test ${name} CA`,
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign',
        ],
        dir,
      );
      made.add(name);
    },
    serverCert(stem, address, ca = 'fleet') {
      pki.makeCa(ca);
      writeFileSync(path.join(dir, `${stem}.ext`), `subjectAltName=IP:${address}\nextendedKeyUsage=serverAuth\n`);
      openssl(
        ['req', '-new', ...EC, '-keyout', `${stem}-key.pem`, '-out', `${stem}.csr`, '-subj', `/CN=${address}`],
        dir,
      );
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${stem}.csr`,
          '-CA',
          `${ca}-ca.pem`,
          '-CAkey',
          `${ca}-ca-key.pem`,
          '-CAcreateserial',
          '-days',
          '2',
          '-extfile',
          `${stem}.ext`,
          '-out',
          `${stem}-cert.pem`,
        ],
        dir,
      );
      return { cert: path.join(dir, `${stem}-cert.pem`), key: path.join(dir, `${stem}-key.pem`) };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  pki.makeCa('fleet');
  return pki;
}

/** createHosts' `args`: host i gets --ssl-ca/--ssl-cert/--ssl-key for its address, signed by the `fleet` CA. */
export function hostTlsArgs(pki: TestPki): (i: number, host: { address: string }) => string[] {
  return (i, { address }) => {
    const { cert, key } = pki.serverCert(`host${i}`, address);
    return [`--ssl-ca=${pki.ca()}`, `--ssl-cert=${cert}`, `--ssl-key=${key}`];
  };
}
