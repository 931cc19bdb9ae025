// TLS modes: from services.yaml to the connector's options and the mariadb client's option lines.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionUrl, connectionVariables } from '../../../src/render/connection-env.js';
import { clientOptionText } from '../../../src/runtime/client-defaults.js';
import {
  ensureFleetCa,
  ensureServerCert,
  localServerNames,
  RENEW_DAYS,
  renewalReason,
  subjectAltName,
} from '../../../src/runtime/local-certs.js';
import { clientTlsLines, connectorSslOptions, serverTls } from '../../../src/runtime/tls.js';
import { fleetOf } from '../../helpers/fleets.js';

const external = (tls: string, host = 'db.internal') =>
  fleetOf(
    `version: 1
fleet: t
servers:
  ext: { driver: external, host: "${host}", admin: { user: root, passwordEnv: P }${tls ? `, tls: ${tls}` : ''} }
services:
  orders: { server: ext }
  own: {}
`,
    '/etc/fleet/services.yaml',
  );

describe('TLS mode of a server', () => {
  it('defaults: verify-full with a CA, required over a network, none on loopback or a socket', () => {
    expect(external('{ ca: certs/ca.pem }').servers[0]!.tls).toStrictEqual({ mode: 'verify-full', ca: 'certs/ca.pem' });
    expect(external('').servers[0]!.tls).toStrictEqual({ mode: 'required' });
    expect(external('', '127.0.0.1').servers[0]!.tls).toStrictEqual({ mode: 'disabled' });
    expect(external('', 'localhost').servers[0]!.tls).toStrictEqual({ mode: 'disabled' });
    expect(external('{ mode: verify-ca, ca: ca.pem }').servers[0]!.tls).toStrictEqual({
      mode: 'verify-ca',
      ca: 'ca.pem',
    });
  });

  it('a CA path is relative to services.yaml; local servers use the fleet CA of the state dir', () => {
    const fleet = external('{ ca: certs/ca.pem }');
    expect(serverTls(fleet.file, fleet.servers[0]!, '/s')).toStrictEqual({
      mode: 'verify-full',
      caFile: '/etc/fleet/certs/ca.pem',
    });
    const own = fleet.servers.find((s) => s.driver === 'local')!;
    expect(serverTls(fleet.file, own, '/s')).toStrictEqual({ mode: 'verify-full', caFile: '/s/tls/ca.pem' });
  });

  it('bad input: an unknown mode, tls on a local server, a CA with mode disabled, requireSsl without TLS', () => {
    expect(() => external('{ mode: sometimes }')).toThrow(/mode/);
    expect(() =>
      fleetOf('version: 1\nfleet: t\nservers:\n  l: { tls: { mode: required } }\nservices:\n  a: { server: l }\n'),
    ).toThrow(/only for driver: external/);
    expect(() => external('{ mode: disabled, ca: ca.pem }')).toThrow(/uses no CA/);
    expect(() =>
      fleetOf(`version: 1
fleet: t
servers:
  ext: { driver: external, host: db.internal, admin: { user: root }, tls: { mode: disabled } }
services:
  orders: { server: ext, users: [ { name: o_app, role: app, requireSsl: true } ] }
`),
    ).toThrow(/requires TLS, but server "ext" is reached without TLS/);
  });

  it('network accounts on external servers with TLS get REQUIRE SSL unless services.yaml says otherwise', () => {
    const accounts = (tls: string, users = '') =>
      fleetOf(`version: 1
fleet: t
servers:
  ext: { driver: external, host: db.internal, admin: { user: root }${tls ? `, tls: ${tls}` : ''} }
services:
  orders: { server: ext${users} }
  own: {}
`).services.flatMap((s) => s.accounts.map((a) => [a.user, a.host, a.requireSsl]));
    expect(accounts('')).toStrictEqual([
      ['orders_app', '%', true],
      ['orders_migrator', '%', true],
      // Local servers listen on 127.0.0.1 only: nothing of theirs is reachable over a network.
      ['own_app', '%', false],
      ['own_migrator', '%', false],
    ]);
    expect(accounts('{ mode: disabled }').slice(0, 2)).toStrictEqual([
      ['orders_app', '%', false],
      ['orders_migrator', '%', false],
    ]);
    expect(
      accounts(
        '',
        ', users: [ { name: a, role: app, host: localhost }, { name: b, role: app, requireSsl: false } ]',
      ).slice(0, 2),
    ).toStrictEqual([
      ['a', 'localhost', false],
      ['b', '%', false],
    ]);
  });
});

describe('connector options', () => {
  const identity = (host: string, cert: PeerCertificate) =>
    cert.subject.CN === host ? undefined : new Error(`not ${host}`);

  it('never TLS-less unless disabled; verify-full checks the name dbps connects to, verify-ca only the chain', () => {
    expect(connectorSslOptions('disabled', 'h', 'CA', identity)).toBeUndefined();
    expect(connectorSslOptions('required', 'h', 'CA', identity)).toStrictEqual({
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    });
    const ca = connectorSslOptions('verify-ca', '10.0.0.1', 'CA', identity)!;
    expect(ca).toMatchObject({ ca: 'CA', rejectUnauthorized: true });
    expect(ca.checkServerIdentity!('localhost', { subject: { CN: 'other' } } as PeerCertificate)).toBeUndefined();
    const full = connectorSslOptions('verify-full', '10.0.0.1', 'CA', identity)!;
    expect(full).toMatchObject({ ca: 'CA', rejectUnauthorized: true });
    expect(full.servername).toBeUndefined(); // SNI cannot carry an address
    // The connector would pass `localhost` for a server addressed by IP: the check uses the real host.
    expect(full.checkServerIdentity!('localhost', { subject: { CN: '10.0.0.1' } } as PeerCertificate)).toBeUndefined();
    expect(full.checkServerIdentity!('localhost', { subject: { CN: 'localhost' } } as PeerCertificate)).toBeInstanceOf(
      Error,
    );
    expect(connectorSslOptions('verify-full', 'db.internal', undefined, identity)!.servername).toBe('db.internal');
  });

  it('the mariadb client option file: the mode as ssl lines over TCP, nothing over a socket', () => {
    const q = (v: string) => `"${v}"`;
    expect(clientTlsLines({ mode: 'verify-full', caFile: '/c/ca.pem' }, q)).toStrictEqual([
      'ssl',
      'ssl-ca="/c/ca.pem"',
      'ssl-verify-server-cert',
    ]);
    expect(clientTlsLines({ mode: 'verify-ca', caFile: '/c/ca.pem' }, q)).toStrictEqual([
      'ssl',
      'ssl-ca="/c/ca.pem"',
      'skip-ssl-verify-server-cert',
    ]);
    expect(clientTlsLines({ mode: 'required' }, q)).toStrictEqual(['ssl', 'skip-ssl-verify-server-cert']);
    expect(clientTlsLines({ mode: 'disabled' }, q)).toStrictEqual(['skip-ssl']);
    const tls = { mode: 'verify-full' as const, caFile: '/c/ca.pem' };
    expect(clientOptionText({ user: 'u', host: 'h', port: 1, tls })).toContain('ssl-verify-server-cert\n');
    expect(clientOptionText({ user: 'u', socket: '/s.sock', tls })).not.toContain('ssl');
  });
});

describe('dbps env: TLS parameters', () => {
  const base = { user: 'u', password: 'p', host: '10.0.0.1', port: 3306, database: 'd', socketOnly: false };
  it('DB_SSL, DB_SSL_MODE, DB_SSL_CA and URL parameters, percent-encoded', () => {
    const c = { ...base, tls: { mode: 'verify-full' as const, ca: '/x y/ca.pem' } };
    expect(connectionUrl(c)).toBe(
      'mariadb://u:p@10.0.0.1:3306/d?ssl=true&sslMode=verify-full&serverSslCert=%2Fx%20y%2Fca.pem',
    );
    expect(connectionVariables(c).slice(-3)).toStrictEqual([
      ['DB_SSL', 'true'],
      ['DB_SSL_MODE', 'verify-full'],
      ['DB_SSL_CA', '/x y/ca.pem'],
    ]);
    expect(connectionUrl({ ...base, tls: { mode: 'required' } })).toBe(
      'mariadb://u:p@10.0.0.1:3306/d?ssl=true&sslMode=trust',
    );
    expect(connectionUrl({ ...base, tls: { mode: 'disabled' } })).toBe('mariadb://u:p@10.0.0.1:3306/d');
    expect(connectionVariables({ ...base, tls: { mode: 'disabled' } }).slice(-1)).toStrictEqual([['DB_SSL', 'false']]);
  });
});

describe('local server certificates', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbps-certs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const state = path.join(dir, 'state');
  const serverDir = path.join(dir, 'server');

  it('names what a local server listens on', () => {
    expect(localServerNames('build-7.example')).toStrictEqual({
      dns: ['localhost', 'build-7.example'],
      ip: ['127.0.0.1', '::1'],
    });
    expect(localServerNames('bad name!')).toStrictEqual({ dns: ['localhost'], ip: ['127.0.0.1', '::1'] });
    expect(subjectAltName({ dns: ['localhost'], ip: ['127.0.0.1'] })).toBe('DNS:localhost,IP:127.0.0.1');
  });

  it('a fleet CA and a server certificate it signed, keys 0600, kept until RENEW_DAYS are left', async () => {
    const ca = await ensureFleetCa(state, 'shop');
    expect(ca.ca).toBe(true);
    expect(statSync(path.join(state, 'tls', 'ca-key.pem')).mode & 0o777).toBe(0o600);
    const first = await ensureServerCert(state, 'shop', 'orders', serverDir);
    expect(first.renewed).toBe('no certificate yet');
    expect(statSync(first.files.key).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(first.files.cert));
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(readFileSync(first.files.ca, 'utf8')).toBe(readFileSync(path.join(state, 'tls', 'ca.pem'), 'utf8'));
    // Again: nothing to do. Close to expiry: renewed.
    expect((await ensureServerCert(state, 'shop', 'orders', serverDir)).renewed).toBeUndefined();
    const names = localServerNames();
    expect(renewalReason(cert, ca, names, new Date())).toBeUndefined();
    const late = new Date(new Date(cert.validTo).getTime() - (RENEW_DAYS - 1) * 86_400_000);
    expect(renewalReason(cert, ca, names, late)).toMatch(/^expires /);
    const renewed = await ensureServerCert(state, 'shop', 'orders', serverDir, late);
    expect(renewed.renewed).toMatch(/^expires /);
    expect(new X509Certificate(readFileSync(renewed.files.cert)).serialNumber).not.toBe(cert.serialNumber);
  });

  it('servers started together share one fleet CA: each certificate is signed by the CA on disk', async () => {
    // `dbps up` asks for every server's certificate at once; two CAs made side by side left a server
    // with a certificate of the one that lost ("unable to get local issuer certificate" for clients).
    const fresh = path.join(dir, 'together');
    const servers = ['a', 'b', 'c', 'd', 'e'];
    const outcomes = await Promise.all(
      servers.map((s) => ensureServerCert(fresh, 'shop', s, path.join(dir, `together-${s}`))),
    );
    const ca = new X509Certificate(readFileSync(path.join(fresh, 'tls', 'ca.pem')));
    for (const o of outcomes) {
      expect(new X509Certificate(readFileSync(o.files.cert)).checkIssued(ca)).toBe(true);
      expect(readFileSync(o.files.ca, 'utf8')).toBe(readFileSync(path.join(fresh, 'tls', 'ca.pem'), 'utf8'));
    }
  });

  it('a certificate of another CA is replaced', async () => {
    const other = path.join(dir, 'other');
    const otherCa = await ensureFleetCa(other, 'x');
    const cert = new X509Certificate(readFileSync(path.join(serverDir, 'tls', 'server-cert.pem')));
    expect(renewalReason(cert, otherCa, localServerNames(), new Date())).toBe('not signed by the fleet CA');
  });
});
