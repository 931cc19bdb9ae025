// Bounded waits across hosts: four simulated hosts (driver: external) and one local server. A host that
// hangs after dbps connected (a lock on mysql.global_priv, FLUSH TABLES WITH READ LOCK) and a host that
// hangs entirely (SIGSTOP) make plan, provision, status and audit-grants exit 3 within --timeout plus a
// second, with the other servers' results printed; a re-run after the hang ends converges.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../../src/runtime/state.js';
import { dbps } from '../helpers/dbps-cli.js';
import { createHosts, type HostNetwork } from '../helpers/hosts.js';
import { freePort } from '../helpers/mariadb-server.js';

const TIMEOUT = 3;
let net: HostNetwork;
let dir: string;
let env: NodeJS.ProcessEnv;

const cli = (args: string[]) => dbps(args, { cwd: dir, env: { ...env, DBPS_MEMORY_SCALE: '0.01' } });

async function timed(args: string[]) {
  const began = Date.now();
  const r = await cli(args);
  return { ...r, ms: Date.now() - began };
}

// The simulated hosts here have no certificates: TLS is tested in tls-hosts.test.ts, not with hangs.
function fleetYaml(localPort: number, extra = ''): string {
  const servers = net.hosts
    .map(
      (h, i) =>
        `  h${i}: { driver: external, host: ${h.address}, port: ${h.port}, admin: { user: ${h.admin.user}, passwordEnv: H${i}_PWD }, tls: { mode: disabled } }`,
    )
    .join('\n');
  const services = net.hosts.map((_, i) => `  s${i}: { server: h${i} }`).join('\n');
  return `version: 1
fleet: across
servers:
${servers}
services:
${services}
  loc: { memory: 128M, port: ${localPort} }
${extra}`;
}

let localPort: number;
/**
 * The whole command: --timeout plus a second, plus starting the CLI (three times a `dbps validate` here,
 * at least 2 s: this machine is shared). The servers' own time inside dbps is checked against --timeout
 * plus a second exactly (`withinTimeout`).
 */
let BOUND: number;
const SERVER_BOUND = (TIMEOUT + 1) * 1000;

/** Every server of a plan/provision document finished (or was given up) within --timeout plus a second. */
function withinTimeout(doc: { servers: { server: string; elapsedMs: number }[] }) {
  for (const s of doc.servers) expect(s.elapsedMs, s.server).toBeLessThan(SERVER_BOUND);
}

beforeAll(async () => {
  net = await createHosts(4);
  env = Object.fromEntries(net.hosts.map((h, i) => [`H${i}_PWD`, h.admin.password]));
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-timeouts-'));
  await chmod(dir, 0o711);
  localPort = await freePort();
  await writeFile(path.join(dir, 'services.yaml'), fleetYaml(localPort));
  const up = await cli(['up']);
  if (up.code !== 0) throw new Error(`dbps up failed: ${up.stderr}`);
  const began = Date.now();
  await cli(['validate']);
  BOUND = SERVER_BOUND + Math.max(2000, 3 * (Date.now() - began));
  const prov = await cli(['provision']);
  if (prov.code !== 0) throw new Error(`provision failed: ${prov.stdout}${prov.stderr}`);
});

afterAll(async () => {
  for (const h of net?.hosts ?? []) {
    try {
      h.thaw();
    } catch {
      // stopped
    }
  }
  if (dir) {
    await cli(['down', '--destroy', '--yes']);
    await rm(dir, { recursive: true, force: true });
  }
  await net?.destroy();
});

/** Everything but `failed` answered, with its results in the document. */
function expectOthersDone(
  doc: { servers: { server: string; error?: unknown; elapsedMs: number }[] },
  failed: string[],
) {
  withinTimeout(doc);
  const names = doc.servers.map((s) => s.server).sort();
  expect(names).toEqual(['h0', 'h1', 'h2', 'h3', 'loc'].sort());
  for (const s of doc.servers) {
    if (failed.includes(s.server)) expect(s.error, s.server).toBeTruthy();
    else expect(s.error, `${s.server}: ${JSON.stringify(s.error)}`).toBeUndefined();
  }
}

describe(`fleet commands bound every wait (--timeout ${TIMEOUT})`, () => {
  it('a host that hangs after connecting (LOCK TABLES mysql.global_priv WRITE): plan, provision, status, audit-grants exit 3 in time; the rest finish', async () => {
    const locker: Connection = await net.hosts[1]!.connectSocket();
    try {
      await locker.query('LOCK TABLES mysql.global_priv WRITE');
      const t = String(TIMEOUT);
      const plan = await timed(['plan', '--json', '--timeout', t]);
      expect(plan.code, plan.stderr).toBe(3);
      expect(plan.ms).toBeLessThan(BOUND);
      const planDoc = JSON.parse(plan.stdout);
      expectOthersDone(planDoc, ['h1']);
      const h1 = planDoc.servers.find((s: { server: string }) => s.server === 'h1');
      expect(h1.error).toMatchObject({ kind: 'timeout' });
      expect(h1.error.message).toMatch(/server "h1" did not answer a statement within 3 s/);

      const prov = await timed(['provision', '--json', '--timeout', t]);
      expect(prov.code, prov.stderr).toBe(3);
      expect(prov.ms).toBeLessThan(BOUND);
      expectOthersDone(JSON.parse(prov.stdout), ['h1']);

      const audit = await timed(['audit-grants', '--json', '--timeout', t]);
      expect(audit.code, audit.stderr).toBe(3);
      expect(audit.ms).toBeLessThan(BOUND);
      const auditDoc = JSON.parse(audit.stdout);
      expect(
        auditDoc.servers
          .filter((s: { status: string }) => s.status === 'audited')
          .map((s: { server: string }) => s.server)
          .sort(),
      ).toEqual(['h0', 'h2', 'h3', 'loc']);
      expect(auditDoc.servers.find((s: { server: string }) => s.server === 'h1')).toMatchObject({
        status: 'unreachable',
        reason: 'timeout',
      });

      // status reads no privilege table: a lock on the status query's own tables would be needed; the
      // processlist and SCHEMATA still answer, so this host is healthy for status.
      const status = await timed(['status', '--json', '--timeout', t]);
      expect(status.ms).toBeLessThan(BOUND);
      expect(status.code, status.stdout).toBe(0);
    } finally {
      await locker.query('UNLOCK TABLES').catch(() => undefined);
      await locker.end();
    }
    const again = await cli(['plan', '--json']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
  });

  it('a host that hangs mid-provision (FLUSH TABLES WITH READ LOCK): provision says what ran, exits 3; after the lock a re-run converges', async () => {
    // A new service on h2: provision has DDL to run there, which the read lock stops.
    await writeFile(
      path.join(dir, 'services.yaml'),
      fleetYaml(localPort, '  s2b: { server: h2 }\n  s0b: { server: h0 }\n'),
    );
    const locker: Connection = await net.hosts[2]!.connectSocket();
    try {
      await locker.query('FLUSH TABLES WITH READ LOCK');
      const prov = await timed(['provision', '--json', '--timeout', String(TIMEOUT)]);
      expect(prov.code, prov.stderr).toBe(3);
      expect(prov.ms).toBeLessThan(BOUND);
      const doc = JSON.parse(prov.stdout);
      expectOthersDone(doc, ['h2']);
      const h2 = doc.servers.find((s: { server: string }) => s.server === 'h2');
      expect(h2.applied).toBe(0);
      expect(h2.error.kind).toBe('timeout');
      expect(h2.interrupted.running).toBe('database s2b');
      expect(h2.error.message).toMatch(/0 of \d+ changes applied, database s2b was running/);
      // h0's new service was provisioned meanwhile.
      const h0 = doc.servers.find((s: { server: string }) => s.server === 'h0');
      expect(h0.applied).toBeGreaterThan(0);
      expect(h0.applied).toBe(h0.changes);
    } finally {
      await locker.query('UNLOCK TABLES').catch(() => undefined);
      await locker.end();
    }
    const rerun = await cli(['provision', '--json']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    const plan = await cli(['plan']);
    expect(plan.code, plan.stdout).toBe(0);
    const [db] = await net.hosts[2]!.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 's2b'",
    );
    expect(Number(db!.n)).toBe(1);
  });

  it('a frozen host and a frozen local server (SIGSTOP): every command exits 3 in time, the others answer; thawed, a re-run converges', async () => {
    await writeFile(path.join(dir, 'services.yaml'), fleetYaml(localPort, '  s3b: { server: h3 }\n'));
    const state = await readState(path.join(dir, '.dbps'));
    const localPid = state.servers.loc!.pid!;
    expect(localPid).toBeGreaterThan(0);
    net.hosts[3]!.freeze();
    process.kill(localPid, 'SIGSTOP');
    try {
      const t = String(TIMEOUT);
      for (const args of [
        ['plan', '--json', '--timeout', t],
        ['provision', '--json', '--timeout', t],
      ]) {
        const r = await timed(args);
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(3);
        expect(r.ms, args[0]).toBeLessThan(BOUND);
        const doc = JSON.parse(r.stdout);
        expectOthersDone(doc, ['h3', 'loc']);
        expect(doc.servers.find((s: { server: string }) => s.server === 'h3').error.message).toMatch(
          /server "h3" did not complete the connection within 3 s/,
        );
      }
      const status = await timed(['status', '--json', '--timeout', t]);
      expect(status.code).toBe(3);
      expect(status.ms).toBeLessThan(BOUND);
      const sdoc = JSON.parse(status.stdout);
      expect(sdoc.down.sort()).toEqual(['h3', 'loc']);
      expect(sdoc.servers.filter((s: { state: string }) => s.state === 'running').length).toBe(3);
      const audit = await timed(['audit-grants', '--json', '--timeout', t]);
      expect(audit.code).toBe(3);
      expect(audit.ms).toBeLessThan(BOUND);
      const adoc = JSON.parse(audit.stdout);
      expect(
        adoc.servers
          .filter((s: { status: string }) => s.status === 'unreachable')
          .map((s: { server: string }) => s.server)
          .sort(),
      ).toEqual(['h3', 'loc']);
    } finally {
      net.hosts[3]!.thaw();
      process.kill(localPid, 'SIGCONT');
    }
    const rerun = await cli(['provision', '--json']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect((await cli(['plan'])).code).toBe(0);
    expect((await cli(['status'])).code).toBe(0);
  });

  it('a cut link mid-session: status and plan give up within --timeout', async () => {
    net.hosts[0]!.cutLink();
    try {
      const r = await timed(['plan', '--json', '--timeout', String(TIMEOUT)]);
      expect(r.code).toBe(3);
      expect(r.ms).toBeLessThan(BOUND);
      expectOthersDone(JSON.parse(r.stdout), ['h0']);
    } finally {
      net.hosts[0]!.restoreLink();
    }
    expect((await cli(['plan'])).code).toBe(0);
  });
});
