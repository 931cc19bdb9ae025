// Password rotation without downtime on a simulated host (driver: external): a client that logs in
// every 100 ms never fails from the first step through --finish while it switches to the new password,
// --finish refuses while a session from before the rotation remains, and the old password is refused
// afterwards. provision leaves the account alone meanwhile; audit-grants reports a rotation left too long.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mariadb, { type Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbps } from '../helpers/dbps-cli.js';
import { createHosts, type HostNetwork } from '../helpers/hosts.js';

let net: HostNetwork;
let dir: string;
const baseEnv: NodeJS.ProcessEnv = {};

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => dbps(args, { cwd: dir, env: { ...baseEnv, ...env } });

// The simulated hosts here have no certificates: TLS is tested in tls-hosts.test.ts, not with hangs.
function yaml(extraDefaults = ''): string {
  const h = net.hosts[0]!;
  return `version: 1
fleet: rot
defaults: { accountHost: "%"${extraDefaults} }
servers:
  h0: { driver: external, host: ${h.address}, port: ${h.port}, admin: { user: ${h.admin.user}, passwordEnv: H0_PWD }, tls: { mode: disabled } }
services:
  orders:
    server: h0
    users:
      - { name: orders_app, role: app }
      - { name: orders_migrator, role: migrator, passwordEnv: ORDERS_MIG_PWD }
`;
}

async function passwordOf(user: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await cli(['env', 'orders', '--user', user, '--format', 'json'], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).DB_PASSWORD as string;
}

function login(user: string, password: string): Promise<Connection> {
  const h = net.hosts[0]!;
  return mariadb.createConnection({ host: h.address, port: h.port, user, password, connectTimeout: 3000 });
}

async function canLogin(user: string, password: string): Promise<boolean> {
  try {
    const c = await login(user, password);
    await c.end();
    return true;
  } catch (e) {
    expect((e as { errno?: number }).errno).toBe(1045);
    return false;
  }
}

/** A client of the service: logs in every 100 ms with `current()`, and counts the failures. */
function clientLoop(user: string, current: () => string) {
  let stop = false;
  const failures: string[] = [];
  let logins = 0;
  const done = (async () => {
    while (!stop) {
      try {
        const c = await login(user, current());
        await c.query('SELECT 1');
        await c.end();
        logins++;
      } catch (e) {
        failures.push((e as Error).message);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    failures,
    logins: () => logins,
    async stop() {
      stop = true;
      await done;
    },
  };
}

beforeAll(async () => {
  net = await createHosts(1);
  baseEnv.H0_PWD = net.hosts[0]!.admin.password;
  baseEnv.ORDERS_MIG_PWD = 'migrator-first-Password-1';
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-rotate-'));
  await chmod(dir, 0o711);
  await writeFile(path.join(dir, 'services.yaml'), yaml());
  const r = await cli(['provision']);
  if (r.code !== 0) throw new Error(`provision failed: ${r.stdout}${r.stderr}`);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await net?.destroy();
});

describe('dbps rotate', () => {
  it('a generated password: no login fails from the first step through --finish; --finish waits for old sessions', async () => {
    const oldPassword = await passwordOf('orders_app');
    // An instance that is not redeployed: its session was opened before the rotation.
    const oldInstance = await login('orders_app', oldPassword);
    let current = oldPassword;
    const loop = clientLoop('orders_app', () => current);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const start = await cli(['rotate', 'orders', '--user', 'orders_app']);
      expect(start.code, start.stdout + start.stderr).toBe(0);
      expect(start.stdout).toMatch(/'orders_app'@'%': new password added beside the old one/);
      const newPassword = await passwordOf('orders_app');
      expect(newPassword).not.toBe(oldPassword);
      for (const out of [start.stdout, start.stderr]) {
        expect(out).not.toContain(newPassword);
        expect(out).not.toContain(oldPassword);
      }
      expect(await canLogin('orders_app', oldPassword)).toBe(true);
      expect(await canLogin('orders_app', newPassword)).toBe(true);
      expect(await canLogin('orders_app', 'neither-of-them')).toBe(false);
      const state = await readFile(path.join(dir, '.dbps', 'rotations.json'), 'utf8');
      expect(state).not.toContain(newPassword);
      expect(state).not.toContain(oldPassword);

      // provision leaves the account mid-rotation alone: no drift, and both passwords still log in.
      const plan = await cli(['plan', '--json']);
      expect(plan.code, plan.stdout).toBe(0);
      expect((await cli(['provision'])).code).toBe(0);
      expect(await canLogin('orders_app', oldPassword)).toBe(true);
      // Repeating the first step changes nothing.
      const again = await cli(['rotate', 'orders', '--user', 'orders_app']);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/rotation already started/);
      expect(await passwordOf('orders_app')).toBe(newPassword);

      // The session of before still runs: --finish refuses (exit 3) and names it.
      const refused = await cli(['rotate', 'orders', '--user', 'orders_app', '--finish', '--json']);
      expect(refused.code).toBe(3);
      const doc = JSON.parse(refused.stdout);
      expect(doc.accounts).toMatchObject([{ user: 'orders_app', status: 'refused', oldSessions: 1 }]);
      const [{ id }] = await oldInstance.query('SELECT CONNECTION_ID() AS id');
      expect(doc.accounts[0].oldSessionIds).toEqual([Number(id)]);
      expect(await canLogin('orders_app', oldPassword)).toBe(true);

      // Redeployed: the loop switches to the new password, the old instance goes away.
      current = newPassword;
      await new Promise((r) => setTimeout(r, 300));
      await oldInstance.end();
      const finish = await cli(['rotate', 'orders', '--user', 'orders_app', '--finish']);
      expect(finish.code, finish.stdout + finish.stderr).toBe(0);
      expect(finish.stdout).toMatch(/old password dropped/);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await loop.stop();
      await oldInstance.end().catch(() => undefined);
    }
    expect(loop.failures).toEqual([]);
    expect(loop.logins()).toBeGreaterThan(10);
    expect(await canLogin('orders_app', oldPassword)).toBe(false);
    expect(await canLogin('orders_app', await passwordOf('orders_app'))).toBe(true);
    expect(JSON.parse(await readFile(path.join(dir, '.dbps', 'rotations.json'), 'utf8')).rotations).toEqual([]);
    expect((await cli(['plan'])).code).toBe(0);
  });

  it('a passwordEnv account rotates to the variable new value in the same two steps; --force finishes with an old session open', async () => {
    const oldPassword = baseEnv.ORDERS_MIG_PWD!;
    const newPassword = 'migrator-second-Password-2';
    const oldInstance = await login('orders_migrator', oldPassword);
    try {
      const unchanged = await cli(['rotate', 'orders', '--user', 'orders_migrator']);
      expect(unchanged.code).toBe(2);
      expect(unchanged.stderr).toMatch(/ORDERS_MIG_PWD still holds the current password/);
      const start = await cli(['rotate', 'orders', '--user', 'orders_migrator'], { ORDERS_MIG_PWD: newPassword });
      expect(start.code, start.stderr).toBe(0);
      expect(await canLogin('orders_migrator', oldPassword)).toBe(true);
      expect(await canLogin('orders_migrator', newPassword)).toBe(true);
      // Instances still on the old value and provision with the new: neither breaks the other.
      expect((await cli(['plan'], { ORDERS_MIG_PWD: newPassword })).code).toBe(0);
      const forced = await cli(['rotate', 'orders', '--user', 'orders_migrator', '--finish', '--force'], {
        ORDERS_MIG_PWD: newPassword,
      });
      expect(forced.code, forced.stdout + forced.stderr).toBe(0);
      expect(forced.stdout).toMatch(/--force: 1 session from before the rotation still open/);
      // The open session goes on; new logins need the new password.
      expect(await oldInstance.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      expect(await canLogin('orders_migrator', oldPassword)).toBe(false);
      expect(await canLogin('orders_migrator', newPassword)).toBe(true);
    } finally {
      await oldInstance.end().catch(() => undefined);
    }
    baseEnv.ORDERS_MIG_PWD = newPassword;
  });

  it('audit-grants reports a rotation left unfinished longer than defaults.rotationMaxAge', async () => {
    const start = await cli(['rotate', 'orders', '--user', 'orders_app']);
    expect(start.code).toBe(0);
    const fresh = await cli(['audit-grants', '--json']);
    const rule = (r: { stdout: string }) =>
      JSON.parse(r.stdout).findings.filter((f: { rule: string }) => f.rule === 'rotation-unfinished');
    expect(rule(fresh)).toEqual([]);
    // 0.00001 days is under a second: the rotation just started is already overdue.
    await writeFile(path.join(dir, 'services.yaml'), yaml(', rotationMaxAge: 0.00001'));
    await new Promise((r) => setTimeout(r, 1200));
    const late = await cli(['audit-grants', '--json']);
    expect(late.code).toBe(1);
    expect(rule(late)).toMatchObject([
      { server: 'h0', account: "'orders_app'@'%'", severity: 'warning', service: 'orders' },
    ]);
    const finish = await cli(['rotate', 'orders', '--finish']);
    expect(finish.code, finish.stdout).toBe(0);
    expect(rule(await cli(['audit-grants', '--json']))).toEqual([]);
    await writeFile(path.join(dir, 'services.yaml'), yaml());
  });
});
