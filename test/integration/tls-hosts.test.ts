// TLS across hosts: four simulated hosts (their own CA and certificates, declared as external
// servers with tls.ca) plus a local server started by `dbps up`. Every connection dbps opens is
// encrypted and verified (the servers' own counters and session status say so), a server whose
// certificate comes from another CA is refused, and REQUIRE SSL accounts log in only over TLS.
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chownSync, copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import mariadb, { type Connection, type ConnectionConfig } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/fleets.js';
import { createHosts, type HostNetwork } from '../helpers/hosts.js';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort } from '../helpers/local-fleet.js';
import { startTestServer, stopAllTestServers } from '../helpers/mariadb-server.js';
import { createTestPki, hostTlsArgs, type TestPki } from '../helpers/test-pki.js';

const HOSTS = 4;
let net: HostNetwork;
let pki: TestPki;
let fleet: LocalFleet;
let env: NodeJS.ProcessEnv;

function fleetYaml(caOf: (i: number) => string, extra: Record<number, string> = {}): string {
  const servers = net.hosts
    .map(
      (h, i) =>
        `  h${i}: { driver: external, host: "${h.address}", admin: { user: ${h.admin.user}, passwordEnv: H${i}_PWD }, tls: ${extra[i] ?? `{ ca: "${caOf(i)}" }`} }`,
    )
    .join('\n');
  const services = net.hosts.map((_h, i) => `  svc${i}: { server: h${i} }`).join('\n');
  return `version: 1
fleet: tlsnet
defaults: { basePort: ${randomBasePort()}, localMemory: 256M, accountHost: "%" }
servers:
${servers}
services:
${services}
  orders: {}
`;
}

async function sslCounters(c: Connection): Promise<{ connections: number; tls: number }> {
  const rows = (await c.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Connections', 'Ssl_finished_accepts')")) as {
    Variable_name: string;
    Value: string;
  }[];
  const v = new Map(rows.map((r) => [r.Variable_name, Number(r.Value)]));
  return { connections: v.get('Connections')!, tls: v.get('Ssl_finished_accepts')! };
}

/** Runs a dbps command and returns, per host, how many connections it opened and how many were TLS. */
async function countConnections(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string; per: { connections: number; tls: number }[] }> {
  const watchers = await Promise.all(net.hosts.map((h) => h.connectSocket()));
  try {
    const before = await Promise.all(watchers.map(sslCounters));
    const r = await fleet.run(args, env);
    const after = await Promise.all(watchers.map(sslCounters));
    return {
      ...r,
      per: after.map((a, i) => ({
        connections: a.connections - before[i]!.connections,
        tls: a.tls - before[i]!.tls,
      })),
    };
  } finally {
    await Promise.all(watchers.map((w) => w.end()));
  }
}

beforeAll(async () => {
  pki = createTestPki();
  pki.makeCa('other');
  // Addresses are known only once the hosts exist, so their certificates are made in the args hook.
  net = await createHosts(HOSTS, { args: hostTlsArgs(pki) });
  env = Object.fromEntries(net.hosts.map((h, i) => [`H${i}_PWD`, h.admin.password]));
  fleet = await createFleet(fleetYaml(() => pki.ca()));
  const up = await fleet.run(['up'], env);
  expect(up.code, up.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await destroyAllFleets();
  await stopAllTestServers();
  await net?.destroy();
  pki?.remove();
}, 120_000);

describe('TLS on every connection dbps opens', () => {
  it('provision, plan, audit-grants and status open only verified TLS sessions to every host', async () => {
    for (const args of [['provision'], ['plan'], ['audit-grants'], ['status', '--json']]) {
      const r = await countConnections(args);
      // audit-grants may report findings (exit 1); what matters here is how it connected.
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(args[0] === 'audit-grants' ? 1 : 0);
      for (const [i, p] of r.per.entries()) {
        expect(p.connections, `${args[0]} host${i}`).toBeGreaterThan(0);
        expect(p.tls, `${args[0]} host${i}: every connection TLS`).toBe(p.connections);
      }
      if (args[0] === 'status') {
        const status = JSON.parse(r.stdout) as {
          servers: {
            server: string;
            tls?: { version?: string; cipher?: string; verified: boolean; serverTls: boolean; transport: string };
          }[];
        };
        for (let i = 0; i < HOSTS; i++) {
          const s = status.servers.find((x) => x.server === `h${i}`)!;
          expect(s.tls).toMatchObject({ verified: true, serverTls: true, transport: 'tcp', mode: 'verify-full' });
          expect(s.tls!.version).toMatch(/^TLSv1\.[23]$/);
          expect(s.tls!.cipher).toBeTruthy();
        }
        // The local server is reached over its socket, and offers TLS to TCP clients.
        const local = status.servers.find((x) => x.server === 'orders')!;
        expect(local.tls).toMatchObject({ serverTls: true, transport: 'socket', verified: false });
      }
    }
  }, 240_000);

  it('dbps connect runs the mariadb client over verified TLS (its session shows the cipher)', async () => {
    const sql = "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME='Ssl_cipher'";
    for (const args of [
      ['connect', 'svc1', '--admin', '-e', sql],
      ['connect', 'svc2', '-e', sql],
      ['connect', 'orders', '-e', sql],
    ]) {
      const r = await fleet.run(args, env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n').pop()).toMatch(/^TLS_|^ECDHE|AES|CHACHA/);
    }
  }, 60_000);

  it('a host presenting a certificate of another CA is refused with a clear error (exit 3)', async () => {
    const wrong = await createFleet(fleetYaml((i) => pki.ca(i === 0 ? 'other' : 'fleet')));
    const r = await wrong.run(['plan', 'svc0'], env);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    // plan reports a server it could not plan in its report, beside the others.
    const out = r.stdout + r.stderr;
    expect(out).toContain('server "h0"');
    expect(out).toMatch(/certificate that does not verify \(tls mode verify-full, CA .*other-ca\.pem\)/);
    expect(out).not.toMatch(/\n\s+at /); // no stack trace
    // The mariadb client of `dbps connect` refuses it too, in verify-full and in verify-ca.
    // The main fleet's state dir holds svc0_app's password.
    const viaClient = await wrong.run(['--state-dir', fleet.stateDir, 'connect', 'svc0', '-e', 'SELECT 1'], env);
    expect(viaClient.code).not.toBe(0);
    expect(viaClient.stdout + viaClient.stderr).toMatch(/certificate|TLS\/SSL error/i);
    const caOnly = await createFleet(
      fleetYaml(() => pki.ca(), {
        0: `{ mode: verify-ca, ca: "${pki.ca('other')}" }`,
      }),
    );
    const viaClientCa = await caOnly.run(['--state-dir', fleet.stateDir, 'connect', 'svc0', '-e', 'SELECT 1'], env);
    expect(viaClientCa.code).not.toBe(0);
    expect(viaClientCa.stdout + viaClientCa.stderr).toMatch(/TLS\/SSL error/);
  }, 60_000);

  it('a server without TLS is refused in mode required: no fallback to clear text (exit 3)', async () => {
    // --skip-ssl: from 11.4 a server without certificate files makes a self-signed one and offers TLS anyway.
    const plain = await startTestServer({ name: 'plain', args: ['--skip-ssl'] });
    try {
      const f = await createFleet(`version: 1
fleet: plain
servers:
  plain: { driver: external, host: 127.0.0.1, port: ${plain.port}, admin: { user: root }, tls: { mode: required } }
services:
  billing: { server: plain }
`);
      const r = await f.run(['plan'], env);
      expect(r.code).toBe(3);
      expect(r.stdout + r.stderr).toMatch(
        /server "plain" at 127\.0\.0\.1:\d+ does not offer TLS, which tls mode required requires/,
      );
      // The same server without `tls:` on loopback: no TLS needed, and it works.
      const loop = await createFleet(`version: 1
fleet: plain
servers:
  plain: { driver: external, host: 127.0.0.1, port: ${plain.port}, admin: { user: root } }
services:
  billing: { server: plain }
`);
      const ok = await loop.run(['plan'], env);
      expect(ok.code, ok.stdout + ok.stderr).toBe(1); // changes to make, planned over clear-text loopback
    } finally {
      await plain.stop();
    }
  }, 60_000);

  it('verify-full without tls.ca trusts NODE_EXTRA_CA_CERTS through the dbps command, which node no longer parses at start', async () => {
    // h0 declares no CA: its certificate (signed by the test CA) is checked against the default roots,
    // which NODE_EXTRA_CA_CERTS extends. bin/dbps hands the variable past node's start to dbps.
    const f = await createFleet(fleetYaml(() => pki.ca(), { 0: '{ mode: verify-full }' }));
    const viaCommand = (extra: NodeJS.ProcessEnv) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          path.join(repoRoot, 'bin', 'dbps'),
          ['status', '--json', 'svc0'],
          { cwd: f.dir, env: { ...process.env, ...env, NO_COLOR: '1', ...extra } },
          (e, stdout, stderr) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }),
        );
      });
    const h0Tls = (stdout: string) =>
      (JSON.parse(stdout) as { servers: { server: string; tls?: { verified: boolean } }[] }).servers.find(
        (x) => x.server === 'h0',
      )?.tls;
    const trusted = await viaCommand({ NODE_EXTRA_CA_CERTS: pki.ca() });
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(h0Tls(trusted.stdout)).toMatchObject({ verified: true });
    // Without it the test CA is unknown: refused (exit 3, a TLS failure). From 11.4.1 the connector
    // instead accepts a server whose certificate it cannot verify when the server proves it by the
    // certificate's fingerprint signed with the password (MariaDB's zero-configuration TLS).
    const unknown = await viaCommand({ NODE_EXTRA_CA_CERTS: '' });
    const w = await net.hosts[0]!.connectSocket();
    const [{ v }] = (await w.query('SELECT VERSION() AS v')) as [{ v: string }];
    await w.end();
    const [major, minor] = v.split('.').map(Number) as [number, number];
    if (major < 11 || (major === 11 && minor < 4)) {
      expect(unknown.code, unknown.stdout).toBe(3);
      expect(unknown.stdout + unknown.stderr).toMatch(/certificate that does not verify/);
    } else expect(unknown.code, unknown.stderr).toBe(0);
    // A file it cannot read is a warning, as node itself makes it, and the check fails as without it.
    const unreadable = await viaCommand({ NODE_EXTRA_CA_CERTS: path.join(pki.dir, 'no-such-bundle.pem') });
    expect(unreadable.stderr).toMatch(/Ignoring extra certs from .*no-such-bundle\.pem/);
  }, 60_000);

  it('a missing CA file or a bad mode is bad input (exit 2)', async () => {
    const missing = await createFleet(fleetYaml(() => path.join(pki.dir, 'no-such-ca.pem')));
    const r = await missing.run(['validate'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tls\.ca .*no-such-ca\.pem does not exist/);
    const bad = await createFleet(fleetYaml(() => pki.ca(), { 0: '{ mode: sometimes }' }));
    const b = await bad.run(['validate'], env);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('mode');
  }, 60_000);
});

describe('REQUIRE SSL', () => {
  it("network accounts on external servers get REQUIRE SSL and log in with dbps env's parameters only", async () => {
    const rows = await net.hosts[1]!.query<{ ssl_type: string }>(
      "SELECT JSON_VALUE(Priv, '$.ssl_type') AS ssl_type FROM mysql.global_priv WHERE User = 'svc1_app'",
    );
    expect(Number(rows[0]?.ssl_type)).toBe(1); // ANY: REQUIRE SSL
    const r = await fleet.run(['env', 'svc1', '--format', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const vars = JSON.parse(r.stdout) as Record<string, string>;
    expect(vars.DB_SSL).toBe('true');
    expect(vars.DB_SSL_MODE).toBe('verify-full');
    expect(vars.DATABASE_URL).toContain('ssl=true');
    const base = {
      host: vars.DB_HOST!,
      port: Number(vars.DB_PORT),
      user: vars.DB_USER!,
      password: vars.DB_PASSWORD!,
      database: vars.DB_NAME!,
      connectTimeout: 5000,
    };
    // verify-full against an address: the name checked is the host's address, not the connector's `localhost`.
    const c = await mariadb.createConnection({
      ...base,
      ssl: {
        ca: readFileSync(vars.DB_SSL_CA!, 'utf8'),
        rejectUnauthorized: true,
        checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(base.host, cert),
      } as unknown as ConnectionConfig['ssl'],
    });
    const [row] = (await c.query(
      "SELECT VARIABLE_VALUE AS v FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME='Ssl_version'",
    )) as { v: string }[];
    expect(row!.v).toMatch(/^TLSv1\.[23]$/);
    await c.end();
    await expect(mariadb.createConnection(base)).rejects.toMatchObject({ errno: 1045 });
  }, 60_000);

  it('network-without-tls reports a network account without REQUIRE SSL, and not those dbps provisioned', async () => {
    const clean = await fleet.run(['audit-grants', 'svc0', '--json'], env);
    const rules = (r: { stdout: string }) =>
      (JSON.parse(r.stdout) as { findings: { rule: string; account: string }[] }).findings
        .filter((f) => f.rule === 'network-without-tls')
        .map((f) => f.account);
    expect(rules(clean)).not.toContain("'svc0_app'@'%'");
    await net.hosts[0]!.query("ALTER USER 'svc0_app'@'%' REQUIRE NONE");
    try {
      const found = await fleet.run(['audit-grants', 'svc0', '--json'], env);
      expect(rules(found)).toContain("'svc0_app'@'%'");
      // provision puts the requirement back.
      const p = await fleet.run(['provision', 'svc0'], env);
      expect(p.code, p.stdout + p.stderr).toBe(0);
      expect(rules(await fleet.run(['audit-grants', 'svc0', '--json'], env))).not.toContain("'svc0_app'@'%'");
    } finally {
      await net.hosts[0]!.query("ALTER USER 'svc0_app'@'%' REQUIRE SSL");
    }
  }, 60_000);

  it('an admin with REQUIRE SSL and require_secure_transport=ON still work with dbps; without TLS the message says TLS is required', async () => {
    const h2 = net.hosts[2]!;
    const h3 = net.hosts[3]!;
    await h2.query('ALTER USER ?@? REQUIRE SSL', [h2.admin.user, net.hostPattern]);
    await h3.query('SET GLOBAL require_secure_transport = ON');
    try {
      const ok = await fleet.run(['plan', 'svc2', 'svc3'], env);
      expect(ok.code, ok.stderr).toBe(0);
      const clear = await createFleet(fleetYaml(() => pki.ca(), { 2: '{ mode: disabled }', 3: '{ mode: disabled }' }));
      const r2 = await clear.run(['plan', 'svc2'], env);
      expect(r2.code, r2.stdout + r2.stderr).toBe(3);
      expect(r2.stdout + r2.stderr).toMatch(/access denied for admin user .* over a connection without TLS/);
      expect(r2.stdout + r2.stderr).toMatch(/TLS is required/);
      const r3 = await clear.run(['plan', 'svc3'], env);
      expect(r3.code).toBe(3);
      // 11.x names require_secure_transport; 10.11 answers a plain "access denied", whose hint names both causes.
      const out3 = r3.stdout + r3.stderr;
      if (/server "h3" requires TLS/.test(out3))
        expect(out3).toMatch(/require_secure_transport\) and dbps connected to .* without it/);
      else
        expect(out3).toMatch(
          /server "h3": access denied .* without TLS[\s\S]*require_secure_transport=ON .*TLS is required/,
        );
    } finally {
      await h2.query('ALTER USER ?@? REQUIRE NONE', [h2.admin.user, net.hostPattern]);
      await h3.query('SET GLOBAL require_secure_transport = OFF');
    }
  }, 60_000);

  it('the local server offers TLS with its fleet certificate: have_ssl=YES, clients verify-full on 127.0.0.1', async () => {
    const r = await fleet.run(['env', 'orders', '--format', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const vars = JSON.parse(r.stdout) as Record<string, string>;
    const c = await mariadb.createConnection({
      host: vars.DB_HOST!,
      port: Number(vars.DB_PORT),
      user: vars.DB_USER!,
      password: vars.DB_PASSWORD!,
      ssl: { ca: readFileSync(vars.DB_SSL_CA!, 'utf8'), rejectUnauthorized: true },
    });
    const [row] = (await c.query(
      "SELECT @@have_ssl AS h, VARIABLE_VALUE AS v FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME='Ssl_version'",
    )) as { h: string; v: string }[];
    expect(row).toMatchObject({ h: 'YES' });
    expect(row!.v).toMatch(/^TLSv1\.[23]$/);
    await c.end();
    // The key is the server's alone: 0600, owned by the account the server runs as.
    const key = path.join(fleet.stateDir, 'servers', 'orders', 'tls', 'server-key.pem');
    const st = statSync(key);
    expect(st.mode & 0o777).toBe(0o600);
    if (process.getuid?.() === 0) expect(st.uid).not.toBe(0);
  }, 60_000);

  it('dbps up renews a certificate close to expiry, and the running server serves the new one (FLUSH SSL)', async () => {
    const tlsDir = path.join(fleet.stateDir, 'servers', 'orders', 'tls');
    const caDir = path.join(fleet.stateDir, 'tls');
    const port = fleet.state().servers.orders!.port;
    // A certificate of the fleet CA that expires in 2 days, put in place of the server's own.
    const short = path.join(pki.dir, 'short');
    writeFileSync(`${short}.ext`, 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n');
    execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        `${short}-key.pem`,
        '-out',
        `${short}.csr`,
        '-subj',
        '/CN=orders',
      ],
      { stdio: 'ignore' },
    );
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        `${short}.csr`,
        '-CA',
        path.join(caDir, 'ca.pem'),
        '-CAkey',
        path.join(caDir, 'ca-key.pem'),
        '-set_serial',
        '7',
        '-days',
        '2',
        '-extfile',
        `${short}.ext`,
        '-out',
        `${short}-cert.pem`,
      ],
      { stdio: 'ignore' },
    );
    const before = statSync(path.join(tlsDir, 'server-key.pem'));
    copyFileSync(`${short}-cert.pem`, path.join(tlsDir, 'server-cert.pem'));
    copyFileSync(`${short}-key.pem`, path.join(tlsDir, 'server-key.pem'));
    chownSync(path.join(tlsDir, 'server-key.pem'), before.uid, before.gid);
    chownSync(path.join(tlsDir, 'server-cert.pem'), before.uid, before.gid);
    await fleet.run(['connect', 'orders', '--admin', '-e', 'FLUSH SSL'], env);
    const served = () =>
      new X509Certificate(
        execFileSync('openssl', ['s_client', '-starttls', 'mysql', '-connect', `127.0.0.1:${port}`, '-showcerts'], {
          input: '',
          encoding: 'utf8',
          stdio: ['pipe', 'pipe', 'ignore'],
          timeout: 10_000,
        }).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0],
      );
    expect(served().serialNumber).toBe('07');
    const up = await fleet.run(['up', 'orders'], env);
    expect(up.code, up.stderr).toBe(0);
    const renewed = served();
    expect(renewed.serialNumber).not.toBe('07');
    expect(new Date(renewed.validTo).getTime() - Date.now()).toBeGreaterThan(300 * 86_400_000);
    expect(statSync(path.join(tlsDir, 'server-key.pem')).mode & 0o777).toBe(0o600);
  }, 60_000);
});
