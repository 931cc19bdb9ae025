// One writer per fleet: commands that change servers or state take <state-dir>/fleet.lock (pid, start
// time, command); a second writer waits up to --lock-timeout and then names the holder, a lock left by
// a killed dbps is taken over at once, and read-only commands never wait. Real mariadbd throughout.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/dbps-cli.js';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort } from '../helpers/local-fleet.js';

afterAll(async () => {
  await destroyAllFleets();
});

const yaml = (base: number) => `version: 1
fleet: lk
defaults: { basePort: ${base} }
services:
  orders: { memory: 128M }
  customers: { memory: 128M }
`;

/** Live mariadbd processes started with this server's my.cnf, found through /proc (not through dbps). */
function mariadbdOf(fleet: LocalFleet, server: string): number[] {
  const cnf = path.join(fleet.stateDir, 'servers', server, 'my.cnf');
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (cmd.includes(`--defaults-file=${cnf}`) && /mariadbd|mysqld/.test(cmd) && !/\) [ZX] /.test(stat))
        pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function startTimeOf(pid: number): string {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19]!;
}

/** A pid that ran and has exited (reaped), so no process owns it now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

async function waitFor(what: () => boolean, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the fleet lock', () => {
  it('two concurrent `dbps up` start exactly one mariadbd per server and record its pid', async () => {
    const fleet = await createFleet(yaml(randomBasePort()));
    const [a, b] = await Promise.all([fleet.run(['up']), fleet.run(['up'])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    for (const s of ['orders', 'customers']) {
      const pids = mariadbdOf(fleet, s);
      expect(pids).toHaveLength(1);
      expect(fleet.state().servers[s]!.pid).toBe(pids[0]);
    }
    expect(existsSync(path.join(fleet.stateDir, 'fleet.lock'))).toBe(false);

    // A live holder: this test process, recorded as a restore. A writer gives up and names it; readers do not wait.
    const lock = path.join(fleet.stateDir, 'fleet.lock');
    const since = new Date().toISOString();
    await writeFile(
      lock,
      JSON.stringify({ pid: process.pid, startTime: startTimeOf(process.pid), command: 'restore latest', since }),
    );
    const blocked = await fleet.run(['--lock-timeout', '1', 'down']);
    expect(blocked.code).toBe(3);
    expect(blocked.stderr).toContain(`dbps restore latest (pid ${process.pid}, since ${since})`);
    expect(blocked.stderr).toContain('--lock-timeout');
    expect(mariadbdOf(fleet, 'orders')).toHaveLength(1);
    // status, plan and validate read only: they run while the lock is held (a wait would time out: exit 3).
    expect((await fleet.run(['--lock-timeout', '0', 'status'])).code).toBe(0);
    expect((await fleet.run(['--lock-timeout', '0', 'validate'])).code).toBe(0);

    // The same pid with another start time is a reused pid, not the owner: taken over at once.
    await writeFile(lock, JSON.stringify({ pid: process.pid, startTime: '1', command: 'up', since }));
    const reused = await fleet.run(['--lock-timeout', '0', 'up']);
    expect(reused.code, reused.stderr).toBe(0);

    const bad = await fleet.run(['--lock-timeout', 'soon', 'up']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--lock-timeout "soon"');
  });

  it('a lock left by a kill -9 of dbps is taken over at once', async () => {
    const fleet = await createFleet(yaml(randomBasePort()));
    const lock = path.join(fleet.stateDir, 'fleet.lock');
    const child = spawn(process.execPath, [BIN, 'up'], {
      cwd: fleet.dir,
      env: { ...process.env, DBPS_MEMORY_SCALE: '0.01', NO_COLOR: '1' },
      stdio: 'ignore',
    });
    await waitFor(() => existsSync(lock), 30_000);
    const holder = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number; command: string };
    expect(holder).toMatchObject({ pid: child.pid, command: 'up' });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(existsSync(lock)).toBe(true);
    // --lock-timeout 0: a live holder would fail this at once; a dead one is simply replaced.
    const up = await fleet.run(['--lock-timeout', '0', 'up']);
    expect(up.code, up.stderr).toBe(0);
    for (const s of ['orders', 'customers']) expect(mariadbdOf(fleet, s)).toHaveLength(1);
    expect(existsSync(lock)).toBe(false);
  });

  it('a secrets.env.lock of a dead provision does not block the next one', async () => {
    const fleet = await createFleet(yaml(randomBasePort()));
    expect((await fleet.run(['up'])).code).toBe(0);
    await mkdir(fleet.stateDir, { recursive: true });
    const lock = path.join(fleet.stateDir, 'secrets.env.lock');
    await writeFile(
      lock,
      JSON.stringify({ pid: await deadPid(), command: 'store passwords', since: new Date().toISOString() }),
    );
    // Before owners were recorded, this waited 30 s and failed (exit 3) until someone deleted the file.
    const prov = await fleet.run(['provision']);
    expect(prov.code, prov.stderr).toBe(0);
    expect(existsSync(lock)).toBe(false);
    // A boolean, so a failure never prints the file (it holds passwords).
    const stored = readFileSync(path.join(fleet.stateDir, 'secrets.env'), 'utf8');
    expect(/^DBPS_PASSWORD__orders__orders_app='/m.test(stored), "secrets.env holds orders_app's password").toBe(true);
  });

  it('a --state-dir that is a file is bad input naming the path (exit 2)', async () => {
    const fleet = await createFleet(yaml(randomBasePort()));
    const file = path.join(fleet.dir, 'not-a-dir');
    await writeFile(file, 'x');
    const r = await fleet.run(['--state-dir', file, 'up']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).not.toMatch(/bug in dbps/);
  });
});
