// kill -9 at random moments, many rounds: dbps up, provision, backup, restore --to-time and the named
// kill points of restore. After each kill the fleet is recovered the way a user would (status tells
// what to run: `restore --resume`/`--rollback` or `up`), and then: status is healthy, a re-run of the
// killed command converges, and no committed row is lost. Bounded: DBPS_RANDOM_KILL_ROUNDS (default 10).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/dbps-cli.js';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort } from '../helpers/local-fleet.js';

let fleet: LocalFleet;
let inserted = 0;
const seed = Number(process.env.DBPS_TEST_SEED ?? Date.now() % 100_000);
let rnd = seed;
/** Small deterministic PRNG (the seed is printed on failure, so a round can be replayed). */
function random(): number {
  rnd = (rnd * 1_103_515_245 + 12_345) % 2 ** 31;
  return rnd / 2 ** 31;
}

async function sql<T = Record<string, unknown>>(q: string): Promise<T[]> {
  const c = await mariadb.createConnection({
    socketPath: fleet.state().servers.orders!.socket,
    user: 'root',
    bigIntAsNumber: true,
    connectTimeout: 5000,
  });
  try {
    return (await c.query(q)) as T[];
  } finally {
    await c.end();
  }
}

async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
}

/** Runs dbps and SIGKILLs it after `ms` (or at a named kill point); resolves when it has exited. */
function runKilled(args: string[], ms: number, env: NodeJS.ProcessEnv = {}): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: fleet.dir,
      env: { ...process.env, NO_COLOR: '1', DBPS_MEMORY_SCALE: '0.01', ...env },
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

beforeAll(async () => {
  fleet = await createFleet(`version: 1
fleet: rk
defaults: { basePort: ${randomBasePort()} }
services:
  orders: { memory: 128M }
`);
  expect((await fleet.run(['up'])).code).toBe(0);
  expect((await fleet.run(['provision'])).code).toBe(0);
  await sql('CREATE TABLE orders.items (id INT PRIMARY KEY)');
  expect((await fleet.run(['backup'])).code).toBe(0);
}, 240_000);

afterAll(async () => {
  await destroyAllFleets();
});

describe('random kill -9 of dbps', () => {
  it('always leaves a fleet that recovers with the command status names, without losing a committed row', async () => {
    const rounds = Number(process.env.DBPS_RANDOM_KILL_ROUNDS ?? 10);
    const log: string[] = [`seed ${seed}`];
    for (let round = 0; round < rounds; round++) {
      // Point-in-time needs a set of the current binlog history (a completed restore begins a new one).
      const history = (fleet.state().servers.orders as unknown as { history?: string }).history;
      const setsOfHistory = () =>
        readdirSync(path.join(fleet.stateDir, 'backups'))
          .filter((n) => !n.startsWith('.'))
          .filter((n) => {
            const m = JSON.parse(readFileSync(path.join(fleet.stateDir, 'backups', n, 'manifest.json'), 'utf8'));
            return m.servers[0]?.status === 'ok' && m.servers[0]?.history === history;
          });
      if (setsOfHistory().length === 0) expect((await fleet.run(['backup'])).code).toBe(0);
      const sets = setsOfHistory();
      // Committed rows first; the point-in-time target lies after all of them.
      const from = inserted + 1;
      inserted += 20;
      await sql(`INSERT INTO orders.items SELECT seq FROM orders.seq_${from}_to_${inserted}`);
      await nextSecond();
      const at = new Date().toISOString();
      await nextSecond();
      const set = sets[Math.floor(random() * sets.length)]!;
      const choices: [string[], NodeJS.ProcessEnv][] = [
        [['up'], {}],
        [['provision'], {}],
        [['backup'], {}],
        [['restore', set, '--to-time', at, '--yes'], {}],
        [['restore', set, '--to-time', at, '--yes'], { DBPS_TEST_KILL_AT: 'restore:stop' }],
        [['restore', set, '--to-time', at, '--yes'], { DBPS_TEST_KILL_AT: 'restore:copy-back' }],
        [['restore', set, '--to-time', at, '--yes'], { DBPS_TEST_KILL_AT: 'restore:replay' }],
      ];
      const [args, env] = choices[Math.floor(random() * choices.length)]!;
      if (args[0] === 'up') expect((await fleet.run(['down'])).code).toBe(0);
      const delay = Math.floor(random() * 2500);
      await runKilled(args, env.DBPS_TEST_KILL_AT ? 120_000 : delay, env);
      const status = await fleet.run(['status']);
      const said = status.stdout + status.stderr;
      let recovery: string[];
      if (said.includes('dbps restore --resume'))
        recovery = random() < 0.5 ? ['restore', '--resume', '--yes'] : ['restore', '--rollback', '--yes'];
      else recovery = ['up'];
      log.push(
        `round ${round}: ${args.join(' ')} ${env.DBPS_TEST_KILL_AT ?? `killed after ${delay} ms`}; status ${status.code}; ${recovery.join(' ')}`,
      );
      const rec = await fleet.run(recovery);
      log.push(`  ${rec.stdout.trim().replace(/\n/g, ' / ')}`);
      expect(rec.code, `${log.join('\n')}\n${rec.stderr}`).toBe(0);
      const again = await fleet.run(args);
      if (again.code !== 0)
        log.push(
          again.stdout + again.stderr,
          JSON.stringify(fleet.state().servers.orders),
          readdirSync(path.join(fleet.stateDir, 'servers', 'orders')).join(' '),
          readdirSync(path.join(fleet.stateDir, 'servers', 'orders', 'data'))
            .filter((f) => f.includes('bin'))
            .join(' '),
        );
      expect(again.code, `${log.join('\n')}\nre-run: ${again.stderr}`).toBe(0);
      expect((await fleet.run(['status'])).code, log.join('\n')).toBe(0);
      const n = (await sql<{ n: number }>('SELECT COUNT(*) AS n FROM orders.items'))[0]!.n;
      expect(n, log.join('\n')).toBe(inserted);
    }
    console.log(log.join('\n'));
    // The last backup leaves no half-written set behind, whatever the rounds left.
    expect((await fleet.run(['backup'])).code).toBe(0);
    expect(readdirSync(path.join(fleet.stateDir, 'backups')).filter((x) => x.startsWith('.tmp-'))).toStrictEqual([]);
  }, 600_000);
});
