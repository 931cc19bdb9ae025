// kill -9 at random moments, many rounds: dbps up, provision, backup, restore (of a set taken just
// before), restore --to-time, the named kill points of restore and `backups verify` (at a random delay, or while its scratch server runs).
// After each kill the fleet is recovered the way a user would (status tells what to run:
// `restore --resume`/`--rollback` or `up`), and then: status is healthy, a re-run of the killed command
// converges, no committed row is lost, no password file and no scratch server (nor any other process
// on the state dir but the fleet's own servers) is left, and `nobody` cannot read a byte of data.
// Bounded: DBPS_RANDOM_KILL_ROUNDS (default 10).
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/dbps-cli.js';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort, serverSql } from '../helpers/local-fleet.js';

let fleet: LocalFleet;
let inserted = 0;
/** Stands for the id of a backup taken right before the command runs. */
const FRESH_SET = '<fresh set>';
const seed = Number(process.env.DBPS_TEST_SEED ?? Date.now() % 100_000);
let rnd = seed;
/** Small deterministic PRNG (the seed is printed on failure, so a round can be replayed). */
function random(): number {
  rnd = (rnd * 1_103_515_245 + 12_345) % 2 ** 31;
  return rnd / 2 ** 31;
}

function sql<T = Record<string, unknown>>(q: string): Promise<T[]> {
  return serverSql<T>(fleet, 'orders', q);
}

async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Start time of a live (not zombie) process, undefined when it is gone. */
function startOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return /^[ZX]$/.test(fields[0]!) ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** Live processes whose command line mentions `part`. */
function processesOn(part: string): { pid: number; line: string }[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => pid !== process.pid && startOf(pid) !== undefined)
    .map((pid) => ({ pid, line: cmdline(pid) }))
    .filter((p) => p.line.includes(part));
}

/** The scratch server of `backups verify` (no grant tables, datadir in the backups' work dir). */
function scratchServers(): { pid: number; line: string }[] {
  return processesOn(path.join(fleet.stateDir, 'backups', '.work')).filter(
    (p) => p.line.includes('mariadbd') && p.line.includes('--skip-grant-tables'),
  );
}

/** Runs a command as `nobody`; resolves with its exit code, stdout and stderr, never rejects. */
function asNobody(cmd: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('runuser', ['-u', 'nobody', '--', ...cmd], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        stdout: String(stdout),
        stderr: String(stderr),
      });
    });
  });
}

const clientFiles = () => readdirSync(os.tmpdir()).filter((n) => n.startsWith('dbps-client-'));
/** Left by dbps versions before the run dir (or by other users of this machine): not this test's business. */
let clientFilesBefore: Set<string>;

interface Killed {
  /** The scratch server that answered before the kill (trigger 'scratch'). */
  scratch?: number;
  /** It still ran when dbps was killed (not already stopped by a verify that had finished its checks). */
  scratchRanAtKill?: boolean;
  /** Killed (rather than finished before the kill). */
  killed: boolean;
  /** The killed dbps had its own run directory (option files, child records) at the kill. */
  hadRunDir?: boolean;
  /** How long it ran. */
  ms: number;
}

/**
 * Runs dbps and SIGKILLs it `ms` after its start (or at a named kill point), or with trigger 'scratch',
 * `ms` after its verify scratch server answers on its socket; resolves when it has exited.
 */
function runKilled(args: string[], ms: number, env: NodeJS.ProcessEnv = {}, trigger?: 'scratch'): Promise<Killed> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: fleet.dir,
      env: { ...process.env, NO_COLOR: '1', DBPS_MEMORY_SCALE: '0.01', ...env },
      stdio: 'ignore',
    });
    const startedAt = Date.now();
    const killed: Killed = { killed: false, ms: 0 };
    const kill = () => {
      const run = path.join(fleet.stateDir, 'run');
      killed.hadRunDir = existsSync(run) && readdirSync(run).some((n) => n.startsWith(`${child.pid}-`));
      if (killed.scratch) killed.scratchRanAtKill = cmdline(killed.scratch).includes('--skip-grant-tables');
      killed.killed = child.kill('SIGKILL');
    };
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    if (trigger === 'scratch') {
      poll = setInterval(() => {
        const s = scratchServers()[0];
        const socket = s && /--socket=(\S+)/.exec(s.line)?.[1];
        if (!s || !socket || !existsSync(socket)) return;
        clearInterval(poll);
        killed.scratch = s.pid;
        timer = setTimeout(kill, ms);
      }, 10);
    } else timer = setTimeout(kill, ms);
    child.on('exit', () => {
      clearTimeout(timer);
      clearInterval(poll);
      killed.ms = Date.now() - startedAt;
      resolve(killed);
    });
  });
}

async function eventually(what: () => string[], ms = 15_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = what();
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * What a killed dbps must not leave once the next dbps command has run: option files with passwords,
 * scratch servers or other children, and any byte of data readable by another OS user.
 */
async function checkLeftovers(why: string): Promise<void> {
  // No password file: the run dir holds nothing of a dead process (no dbps runs now, so nothing at all
  // of a dead pid), no option file in /tmp, and no file with a password line under the state dir but
  // the secrets file itself.
  const run = path.join(fleet.stateDir, 'run');
  const deadRunDirs = (existsSync(run) ? readdirSync(run) : []).filter((n) => {
    const m = /^(\d+)-(\d+)$/.exec(n);
    return !m || startOf(Number(m[1])) !== m[2];
  });
  expect(deadRunDirs, `${why}: run dir entries of dead processes`).toStrictEqual([]);
  expect(
    clientFiles().filter((n) => !clientFilesBefore.has(n)),
    `${why}: option files in /tmp`,
  ).toStrictEqual([]);
  const passwordFiles: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.isFile() && f !== path.join(fleet.stateDir, 'secrets.env') && statSync(f).size < 65_536) {
        if (/^\s*password\s*=/im.test(readFileSync(f, 'latin1'))) passwordFiles.push(f);
      }
    }
  };
  walk(fleet.stateDir);
  expect(passwordFiles, `${why}: files with a password`).toStrictEqual([]);

  // No scratch server, nor any other process on the state dir but the servers state.json records.
  const entry = fleet.state().servers.orders!;
  const own = new Set<number>();
  if (entry.pid) own.add(entry.pid);
  if (existsSync(entry.pidFile)) own.add(Number(readFileSync(entry.pidFile, 'utf8').trim()));
  const stray = await eventually(() =>
    processesOn(fleet.stateDir)
      .filter((p) => !own.has(p.pid))
      .map((p) => `${p.pid}: ${p.line}`),
  );
  expect(stray, `${why}: processes left on the state dir`).toStrictEqual([]);
  expect(scratchServers(), `${why}: scratch servers`).toStrictEqual([]);
  expect(
    existsSync(path.join(fleet.stateDir, 'backups', '.work'))
      ? readdirSync(path.join(fleet.stateDir, 'backups', '.work'))
      : [],
    `${why}: copies of a backup left in .work by verify or restore`,
  ).toStrictEqual([]);

  // Nobody reads a byte: a datadir file, the error log, the secrets, a backup data file, the state.
  const sets = readdirSync(path.join(fleet.stateDir, 'backups')).filter((n) => !n.startsWith('.'));
  const set = sets[sets.length - 1]!;
  const manifest = JSON.parse(readFileSync(path.join(fleet.stateDir, 'backups', set, 'manifest.json'), 'utf8'));
  const backupPath = path.join(fleet.stateDir, 'backups', set, manifest.servers[0].path as string);
  const targets = [
    path.join(entry.dir, 'data', 'orders', 'items.ibd'),
    path.join(entry.dir, 'error.log'),
    path.join(fleet.stateDir, 'secrets.env'),
    backupPath.endsWith('.tar.zst') ? backupPath : path.join(backupPath, 'orders', 'items.ibd'),
    path.join(fleet.stateDir, 'state.json'),
  ];
  // Datadirs a restore moved aside hold the same data.
  for (const n of readdirSync(entry.dir).filter((x) => x.startsWith('data.before-restore')))
    targets.push(path.join(entry.dir, n, 'orders', 'items.ibd'));
  for (const target of targets) {
    expect(existsSync(target), `${why}: ${target} exists`).toBe(true);
    const r = await asNobody(['cat', target]);
    expect(r.code, `${why}: nobody read ${target}: ${r.stdout.slice(0, 200)}`).not.toBe(0);
    expect(r.stdout.length, `${why}: bytes of ${target} nobody read`).toBe(0);
    expect(r.stderr, `${why}: ${target}`).toContain('Permission denied');
  }
}

beforeAll(async () => {
  clientFilesBefore = new Set(clientFiles());
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
  // The other user's reads work at all: the project's own services.yaml (0644, in a 0711 dir) is readable.
  const control = await asNobody(['cat', path.join(fleet.dir, 'services.yaml')]);
  expect(control.code, control.stderr).toBe(0);
  expect(control.stdout).toContain('fleet: rk');
}, 240_000);

afterAll(async () => {
  await destroyAllFleets();
});

describe('random kill -9 of dbps', () => {
  it('always leaves a fleet that recovers with the command status names, without losing a committed row', async () => {
    const rounds = Number(process.env.DBPS_RANDOM_KILL_ROUNDS ?? 10);
    const log: string[] = [`seed ${seed}`];
    let scratchKills = 0;
    let otherRounds = 0;
    const took = new Map<string, number>();
    /** The commands dbps was really killed in (not finished before the kill). */
    const killedKinds = new Set<string>();
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
      const verify: [string[], NodeJS.ProcessEnv, 'scratch'?][] = [
        [['backups', 'verify', set], {}],
        [['backups', 'verify', set], {}, 'scratch'],
      ];
      const choices: [string[], NodeJS.ProcessEnv, 'scratch'?][] = [
        [['up'], {}],
        [['provision'], {}],
        [['backup'], {}],
        [['restore', set, '--to-time', at, '--yes'], {}],
        [['restore', set, '--to-time', at, '--yes'], { DBPS_TEST_KILL_AT: 'restore:stop' }],
        [['restore', set, '--to-time', at, '--yes'], { DBPS_TEST_KILL_AT: 'restore:copy-back' }],
        [['restore', set, '--to-time', at, '--yes'], { DBPS_TEST_KILL_AT: 'restore:replay' }],
        // A plain restore, of a set taken just now (it holds every committed row).
        [['restore', FRESH_SET, '--yes'], {}],
        [['restore', FRESH_SET, '--yes'], { DBPS_TEST_KILL_AT: 'restore:copy-back' }],
        ...verify,
      ];
      // Every third round kills a verify, alternately while its scratch server runs and at a random delay;
      // the other rounds begin with one of each command (up, provision, backup, restore --to-time, restore),
      // then pick at random.
      const first = [0, 1, 2, 3, 7];
      const pick = round % 3 === 1 ? undefined : (first[otherRounds++] ?? Math.floor(random() * choices.length));
      const [chosen, env, trigger] = pick === undefined ? verify[round % 2]! : choices[pick]!;
      let args = chosen;
      if (args.includes(FRESH_SET)) {
        const b = await fleet.run(['--json', 'backup']);
        expect(b.code, b.stderr).toBe(0);
        const id = (JSON.parse(b.stdout) as { id: string }).id;
        args = args.map((a) => (a === FRESH_SET ? id : a));
      }
      if (args[0] === 'up') expect((await fleet.run(['down'])).code).toBe(0);
      // A random moment within the command's run: as long as its last run took when it finished before
      // the kill (2.5 s at first), tried again then.
      const kind = `${args[0]}${args.includes('--to-time') ? ' --to-time' : ''}`;
      let delay = trigger ? Math.floor(random() * 150) : Math.floor(random() * (took.get(kind) ?? 2500));
      let killed = await runKilled(args, env.DBPS_TEST_KILL_AT ? 120_000 : delay, env, trigger);
      for (let attempt = 0; !trigger && !env.DBPS_TEST_KILL_AT && !killed.killed && attempt < 3; attempt++) {
        took.set(kind, killed.ms);
        if (args[0] === 'up') expect((await fleet.run(['down'])).code).toBe(0);
        delay = Math.floor(random() * killed.ms);
        killed = await runKilled(args, delay, env);
      }
      // A verify of this small set may finish within the delay: then catch its scratch server again, at once.
      for (let attempt = 0; trigger && !(killed.killed && killed.scratchRanAtKill) && attempt < 5; attempt++)
        killed = await runKilled(args, 0, env, trigger);
      if (trigger) {
        expect(killed.killed, `${log.join('\n')}\nverify always finished before the kill`).toBe(true);
        expect(killed.scratchRanAtKill, `${log.join('\n')}\nthe scratch server always stopped before the kill`).toBe(
          true,
        );
        expect(killed.scratch, `${log.join('\n')}\nthe scratch server was never seen`).toBeDefined();
        expect(killed.hadRunDir, 'the killed verify had no run dir').toBe(true);
        scratchKills++;
      }
      const status = await fleet.run(['status']);
      const said = status.stdout + status.stderr;
      let recovery: string[];
      if (said.includes('dbps restore --resume'))
        recovery = random() < 0.5 ? ['restore', '--resume', '--yes'] : ['restore', '--rollback', '--yes'];
      else {
        // Status either is healthy or says exactly what to run.
        if (status.code !== 0) expect(said, `${log.join('\n')}\nstatus names no command`).toContain('run `dbps up`');
        recovery = ['up'];
      }
      log.push(
        `round ${round}: ${args.join(' ')} ${env.DBPS_TEST_KILL_AT ?? `killed ${delay} ms after ${trigger ? `its scratch server ${killed.scratch} answered` : 'its start'}${killed.killed ? '' : ' (it had finished)'}`}; status ${status.code}; ${recovery.join(' ')}`,
      );
      const rec = await fleet.run(recovery);
      log.push(`  ${rec.stdout.trim().replace(/\n/g, ' / ')}`);
      expect(rec.code, `${log.join('\n')}\n${rec.stderr}`).toBe(0);
      const again = await fleet.run(args);
      if (killed.killed) killedKinds.add(kind);
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
      await checkLeftovers(log.join('\n'));
      if (killed.scratch) expect(startOf(killed.scratch), 'the killed scratch server').toBeUndefined();
    }
    console.log(log.join('\n'));
    if (rounds >= 2) expect(scratchKills, 'no round killed a verify while its scratch server ran').toBeGreaterThan(0);
    // With the default rounds, each command was killed at least once.
    if (rounds >= 8)
      expect([...killedKinds].sort(), log.join('\n')).toStrictEqual([
        'backup',
        'backups',
        'provision',
        'restore',
        'restore --to-time',
        'up',
      ]);
    // The last backup leaves no half-written set behind, whatever the rounds left.
    expect((await fleet.run(['backup'])).code).toBe(0);
    expect(readdirSync(path.join(fleet.stateDir, 'backups')).filter((x) => x.startsWith('.tmp-'))).toStrictEqual([]);
  }, 600_000);
});
