// A copied project must not act on the original's servers: every path dbps acts on derives from the
// state dir it is given, and a state.json entry pointing elsewhere (a `cp -a` of a running project) is
// refused before anything is stopped, moved or backed up.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dbps } from '../helpers/dbps-cli.js';
import { createFleet, destroyAllFleets, randomBasePort } from '../helpers/local-fleet.js';

const copies: string[] = [];
afterAll(async () => {
  // Should a copy ever start servers of its own (the bug this file guards against), none outlives the test.
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (/mariadbd/.test(cmd) && copies.some((c) => cmd.includes(`${c}/`))) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const c of copies) await rm(c, { recursive: true, force: true });
  await destroyAllFleets();
});

describe('a project copied with cp -a', () => {
  it('refuses to stop, restore or back up the original servers from the copy', async () => {
    const fleet = await createFleet(`version: 1
fleet: cp
defaults: { basePort: ${randomBasePort()} }
services:
  orders: { memory: 128M }
`);
    expect((await fleet.run(['up'])).code).toBe(0);
    expect((await fleet.run(['provision'])).code).toBe(0);
    expect((await fleet.run(['backup'])).code).toBe(0);
    const pid = fleet.state().servers.orders!.pid;
    const copy = `${fleet.dir}-copy`;
    copies.push(copy);
    execFileSync('cp', ['-a', fleet.dir, copy]);
    const inCopy = (args: string[]) => dbps(args, { cwd: copy, env: { DBPS_MEMORY_SCALE: '0.01' } });

    for (const args of [['status'], ['restore', 'latest', '--yes'], ['backup'], ['down'], ['up']]) {
      const r = await inCopy(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain('outside this state dir');
      expect(r.stderr).toContain(path.join(fleet.stateDir, 'servers', 'orders'));
    }
    // The original is untouched: same process, nothing moved aside, one backup set.
    expect(fleet.state().servers.orders!.pid).toBe(pid);
    expect(
      readdirSync(path.join(fleet.stateDir, 'servers', 'orders')).filter((n) => n.includes('before-restore')),
    ).toStrictEqual([]);
    expect(readdirSync(path.join(fleet.stateDir, 'backups')).filter((n) => !n.startsWith('.'))).toHaveLength(1);
    expect(existsSync(path.join(copy, '.dbps', 'backups'))).toBe(true);
    expect(readdirSync(path.join(copy, '.dbps', 'backups')).filter((n) => !n.startsWith('.'))).toHaveLength(1);
    expect((await fleet.run(['status'])).code).toBe(0);
  });
});
