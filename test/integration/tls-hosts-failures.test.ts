// TLS failures across hosts are their own kind: four simulated hosts, declared with the test's fleet CA
// (verify-full). host0 presents a certificate of another CA, host1 one of the fleet CA for another
// address, host2 offers no TLS at all, host3 is right. status, plan, provision and audit-grants report
// the first three as `tls` (not `unreachable`), each with a sentence naming the server and what is wrong
// (the certificate chain, the name, no TLS offered) and a hint naming tls.ca / tls.mode; host3 is done.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHosts, type HostNetwork } from '../helpers/hosts.js';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort } from '../helpers/local-fleet.js';
import { createTestPki, type TestPki } from '../helpers/test-pki.js';

let net: HostNetwork;
let pki: TestPki;
let fleet: LocalFleet;
let env: NodeJS.ProcessEnv;

/** What each broken host's sentence must say, and what its hint must name. */
const EXPECTED: Record<string, { message: RegExp; hint: RegExp }> = {
  h0: {
    message:
      /server "h0" at [\d.]+:3306 presented a certificate that does not verify \(tls mode verify-full, CA .*fleet-ca\.pem\): its certificate chain does not lead to that CA/,
    hint: /tls\.ca/,
  },
  h1: { message: /server "h1" at [\d.]+:3306 .*certificate .*not for [\d.]+/, hint: /tls\.mode|host/ },
  h2: { message: /server "h2" at [\d.]+:3306 does not offer TLS/, hint: /tls: \{ mode: disabled \}|tls\.mode/ },
};
const BROKEN = Object.keys(EXPECTED);

beforeAll(async () => {
  pki = createTestPki();
  pki.makeCa('other');
  net = await createHosts(4, {
    args: (i, { address }) => {
      if (i === 2) return ['--skip-ssl'];
      // host1's certificate names another address of the same network; host0's is signed by another CA.
      const named = i === 1 ? address.replace(/\.\d+$/, '.250') : address;
      const { cert, key } = pki.serverCert(`host${i}`, named, i === 0 ? 'other' : 'fleet');
      return [`--ssl-ca=${pki.ca()}`, `--ssl-cert=${cert}`, `--ssl-key=${key}`];
    },
  });
  env = Object.fromEntries(net.hosts.map((h, i) => [`H${i}_PWD`, h.admin.password]));
  const servers = net.hosts
    .map(
      (h, i) =>
        `  h${i}: { driver: external, host: "${h.address}", admin: { user: ${h.admin.user}, passwordEnv: H${i}_PWD }, tls: { ca: "${pki.ca()}" } }`,
    )
    .join('\n');
  fleet = await createFleet(`version: 1
fleet: tlsbad
defaults: { basePort: ${randomBasePort()}, accountHost: "%" }
servers:
${servers}
services:
${net.hosts.map((_h, i) => `  s${i}: { server: h${i} }`).join('\n')}
`);
}, 180_000);

afterAll(async () => {
  await destroyAllFleets();
  await net?.destroy();
  pki?.remove();
}, 120_000);

function expectTls(server: string, kind: unknown, message: string, hint: string | undefined) {
  expect(kind, `${server}: ${message}`).toBe('tls');
  expect(message).toMatch(EXPECTED[server]!.message);
  expect(hint ?? '', `${server} hint`).toMatch(EXPECTED[server]!.hint);
}

describe('TLS failures are their own kind, naming the server and what is wrong', () => {
  it('plan and provision --json: kind tls for each broken host, exit 3; the good host is done', async () => {
    for (const cmd of ['plan', 'provision']) {
      const r = await fleet.run([cmd, '--json', '--timeout', '5'], env);
      expect(r.code, `${cmd}: ${r.stdout}${r.stderr}`).toBe(3);
      const doc = JSON.parse(r.stdout) as {
        servers: { server: string; error?: { kind: string; message: string; hint?: string } }[];
      };
      for (const s of doc.servers) {
        if (!BROKEN.includes(s.server)) {
          expect(s.error, `${cmd} ${s.server}`).toBeUndefined();
          continue;
        }
        expectTls(s.server, s.error?.kind, s.error?.message ?? '', s.error?.hint);
      }
    }
    // The text report says the same, hint included.
    const text = await fleet.run(['plan', '--timeout', '5'], env);
    expect(text.code).toBe(3);
    expect(text.stdout + text.stderr).toMatch(/h1.*error: .*certificate .*not for/);
    expect(text.stdout + text.stderr).not.toMatch(/not reachable/);
  }, 120_000);

  it('status --json: failure tls for each broken host (exit 3), the good host running', async () => {
    const r = await fleet.run(['status', '--json', '--timeout', '5'], env);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const doc = JSON.parse(r.stdout) as {
      servers: { server: string; state: string; failure?: string; detail?: string }[];
    };
    for (const s of doc.servers) {
      if (!BROKEN.includes(s.server)) {
        expect(s.state).toBe('running');
        continue;
      }
      expect(s.state).toBe('unreachable');
      const [message, hint] = (s.detail ?? '').split('; ');
      expectTls(s.server, s.failure, message ?? '', hint);
    }
  }, 60_000);

  it('audit-grants --json: reason tls for each broken host, exit 3; the good host audited', async () => {
    const r = await fleet.run(['audit-grants', '--json', '--timeout', '5'], env);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const doc = JSON.parse(r.stdout) as {
      servers: { server: string; status: string; reason?: string; error?: string; hint?: string }[];
    };
    for (const s of doc.servers) {
      if (!BROKEN.includes(s.server)) {
        expect(s.status).toBe('audited');
        continue;
      }
      expect(s.status).toBe('unreachable');
      expectTls(s.server, s.reason, s.error ?? '', s.hint);
    }
    const text = await fleet.run(['audit-grants', '--timeout', '5'], env);
    expect(text.stdout + text.stderr).toMatch(/TLS failed on server h0 \(s0\): server "h0"/);
  }, 60_000);
});
