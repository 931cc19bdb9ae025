// Restore interrupted the way a machine interrupts it, driven by the progress lines dbps prints (no
// test-only hook, so the same file runs against any build, DBPS_TEST_BIN): dbps SIGKILLed while
// mariadb-backup is copying files into the datadir, its whole process group SIGKILLed after the
// copy-back while the restored server starts, and the datadir's file system filling up during the
// copy-back. Each one must never leave a server that `up` starts as if healthy: a kill leaves a record
// that `up`, `status`, `provision` and `backup` refuse until `dbps restore --resume` or `--rollback`,
// and a failure rolls back to the previous datadir by itself.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/dbps-cli.js';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort, serverSql } from '../helpers/local-fleet.js';

function sql<T = Record<string, unknown>>(fleet: LocalFleet, q: string): Promise<T[]> {
  return serverSql<T>(fleet, 'orders', q);
}

async function rows(fleet: LocalFleet): Promise<Record<string, number>> {
  const r = await sql<{ v: string; n: number }>(
    fleet,
    'SELECT v, COUNT(*) AS n FROM orders.items GROUP BY v ORDER BY v',
  );
  return Object.fromEntries(r.map((x) => [x.v, x.n]));
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

/** Live (not zombie) processes whose command line mentions `part`. */
function processesOn(part: string): string[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)
    .filter((n) => {
      try {
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
        return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
      } catch {
        return false;
      }
    })
    .map((n) => `${n}: ${cmdline(Number(n))}`)
    .filter((l) => l.includes(part));
}

async function eventually<T>(what: () => T, done: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = what();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Interrupted {
  /** The progress lines dbps had printed. */
  stderr: string;
  /** What the test saw at the moment it killed (empty: dbps ended before the moment came). */
  at: string;
}

/**
 * Runs `dbps restore ...` in its own process group and watches its progress lines (and the datadir);
 * when `moment` says so, SIGKILLs dbps alone (`group` false) or the whole group. Bounded: 120 s.
 */
function restoreInterrupted(
  fleet: LocalFleet,
  args: string[],
  moment: (stderr: string) => string | undefined,
  group: boolean,
): Promise<Interrupted> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: fleet.dir,
      env: { ...process.env, NO_COLOR: '1', DBPS_MEMORY_SCALE: '0.01' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    let at = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = () => {
      try {
        if (group) process.kill(-child.pid!, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // already gone
      }
    };
    const poll = setInterval(() => {
      if (at) return;
      const hit = moment(stderr);
      if (hit) {
        at = hit;
        kill();
      }
    }, 1);
    const bound = setTimeout(kill, 120_000);
    child.on('exit', () => {
      clearInterval(poll);
      clearTimeout(bound);
      resolve({ stderr, at });
    });
  });
}

interface StateEntry {
  restore?: { phase: string; set: string; movedAside: string };
  history?: string;
  dir: string;
}
const entryOf = (fleet: LocalFleet) => fleet.state().servers.orders as unknown as StateEntry;
const datadirOf = (fleet: LocalFleet) => path.join(entryOf(fleet).dir, 'data');

/** Every file of the backup of orders in set `id`, relative to its directory, with its size. */
function setFiles(fleet: LocalFleet, id: string): Map<string, number> {
  const dir = path.join(fleet.stateDir, 'backups', id);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { servers: { path: string }[] };
  const root = path.join(dir, manifest.servers[0]!.path);
  const out = new Map<string, number>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else out.set(path.relative(root, f), statSync(f).size);
    }
  };
  walk(root);
  return out;
}

/** Asserts that `up`, `status`, `provision` and `backup` refuse the half-restored server and name both ways out. */
async function refusedUntilFinished(fleet: LocalFleet): Promise<void> {
  const st = await fleet.run(['status']);
  expect(st.code, st.stdout + st.stderr).toBe(3);
  expect(st.stdout + st.stderr).toContain('dbps restore --resume');
  expect(st.stdout + st.stderr).toContain('dbps restore --rollback');
  const up = await fleet.run(['up']);
  expect(up.code, up.stdout + up.stderr).toBe(3);
  expect(up.stdout + up.stderr).toContain('dbps restore --resume');
  expect(up.stdout + up.stderr).toContain('dbps restore --rollback');
  for (const args of [['provision'], ['backup']]) {
    const r = await fleet.run(args);
    expect(r.code, `${args[0]}: ${r.stdout}${r.stderr}`).toBe(3);
    expect(r.stdout + r.stderr).toContain('dbps restore --resume');
  }
}

describe('restore interrupted by kill -9 or a full disk', () => {
  let fleet: LocalFleet;
  let setId: string;
  let allRowsAt: Date;
  const everything = { after: 50, before: 100 };

  beforeAll(async () => {
    fleet = await createFleet(`version: 1
fleet: ri
defaults: { basePort: ${randomBasePort()} }
services:
  orders: { memory: 256M }
`);
    expect((await fleet.run(['up'])).code).toBe(0);
    expect((await fleet.run(['provision'])).code).toBe(0);
    await sql(fleet, 'CREATE TABLE orders.items (id INT PRIMARY KEY, v VARCHAR(20))');
    await sql(fleet, "INSERT INTO orders.items SELECT seq, 'before' FROM orders.seq_1_to_100");
    // Enough bytes that the copy-back takes a while: the kill lands while files are being copied.
    await sql(fleet, 'CREATE TABLE orders.filler (id INT PRIMARY KEY, b LONGBLOB)');
    await sql(fleet, 'INSERT INTO orders.filler SELECT seq, REPEAT(MD5(seq), 32768) FROM orders.seq_1_to_64');
    const b = await fleet.run(['--json', 'backup']);
    expect(b.code, b.stderr).toBe(0);
    setId = (JSON.parse(b.stdout) as { id: string }).id;
    await sql(fleet, "INSERT INTO orders.items SELECT seq, 'after' FROM orders.seq_101_to_150");
    await nextSecond();
    allRowsAt = new Date();
    await nextSecond();
  }, 240_000);

  afterAll(async () => {
    await destroyAllFleets();
  });

  /** Kills dbps (alone) once its copy-back has written some but not all of the set's files into the datadir. */
  async function killMidCopy(): Promise<Interrupted> {
    const datadir = datadirOf(fleet);
    const files = setFiles(fleet, setId);
    const biggest = [...files].sort((a, b) => b[1] - a[1])[0]!;
    expect(biggest[1], 'the filler table makes the copy take a while').toBeGreaterThan(8 * 1024 * 1024);
    const r = await restoreInterrupted(
      fleet,
      ['restore', setId, '--yes'],
      (stderr) => {
        if (!stderr.includes('orders: copy-back')) return undefined;
        let names: string[];
        try {
          names = readdirSync(datadir);
        } catch {
          return undefined;
        }
        return names.length > 0 ? names.join(' ') : undefined;
      },
      false,
    );
    expect(r.at, `dbps ended before its copy-back wrote a file:\n${r.stderr}`).not.toBe('');
    // Killed mid-copy: some file of the set is not (or not wholly) in the datadir.
    const copied = [...files].filter(([f, size]) => {
      try {
        return statSync(path.join(datadir, f)).size === size;
      } catch {
        return false;
      }
    });
    expect(copied.length, `copied ${copied.length} of ${files.size} files: not mid-copy`).toBeLessThan(files.size);
    // The mariadb-backup copying the files ended with dbps.
    const left = await eventually(
      () => processesOn('--copy-back').filter((l) => l.includes(fleet.stateDir)),
      (l) => l.length === 0,
    );
    expect(left, 'mariadb-backup --copy-back outlived dbps').toStrictEqual([]);
    return r;
  }

  it('dbps killed while files are copied into the datadir: refused until --rollback, which brings every row back', async () => {
    const historyBefore = entryOf(fleet).history;
    await killMidCopy();
    await refusedUntilFinished(fleet);
    expect(entryOf(fleet).restore).toMatchObject({ set: setId });
    // The restore's new history is recorded already: the old binlog history id is not reused.
    expect(entryOf(fleet).history).not.toBe(historyBefore);
    const rb = await fleet.run(['restore', '--rollback', '--yes']);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(entryOf(fleet).restore).toBeUndefined();
    expect(entryOf(fleet).history).toBe(historyBefore);
    expect(await rows(fleet)).toStrictEqual(everything);
    expect((await fleet.run(['status'])).code).toBe(0);
  });

  it('dbps killed while files are copied into the datadir: --resume finishes the restore, and point-in-time after it stays on one timeline', async () => {
    await killMidCopy();
    await refusedUntilFinished(fleet);
    const res = await fleet.run(['restore', '--resume', '--yes']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(entryOf(fleet).restore).toBeUndefined();
    expect(await rows(fleet)).toStrictEqual({ before: 100 });
    expect((await fleet.run(['status'])).code).toBe(0);
    // The resumed server writes a new timeline; a point-in-time restore to before it replays the old one
    // only: never rows of the new timeline on top of the old.
    await sql(fleet, "INSERT INTO orders.items SELECT seq, 'new-timeline' FROM orders.seq_101_to_120");
    const pitr = await fleet.run(['restore', setId, '--to-time', allRowsAt.toISOString(), '--yes']);
    expect(pitr.code, pitr.stdout + pitr.stderr).toBe(0);
    expect(await rows(fleet)).toStrictEqual(everything);
  });

  it('the process group killed after the copy-back, while the restored server starts: refused until --rollback or --resume', async () => {
    const historyBefore = entryOf(fleet).history;
    for (const way of ['--rollback', '--resume'] as const) {
      const r = await restoreInterrupted(
        fleet,
        ['restore', setId, '--yes'],
        (stderr) => (stderr.includes('orders: start') ? 'start' : undefined),
        true,
      );
      expect(r.at, `dbps ended before it started the restored server:\n${r.stderr}`).toBe('start');
      // Whatever the killed group left running on the state dir is not the fleet's healthy server.
      await refusedUntilFinished(fleet);
      const fin = await fleet.run(['restore', way, '--yes']);
      expect(fin.code, `${way}: ${fin.stdout}${fin.stderr}`).toBe(0);
      expect(entryOf(fleet).restore).toBeUndefined();
      expect((await fleet.run(['status'])).code).toBe(0);
      if (way === '--rollback') {
        expect(entryOf(fleet).history).toBe(historyBefore);
        expect(await rows(fleet)).toStrictEqual(everything);
      } else {
        expect(await rows(fleet)).toStrictEqual({ before: 100 });
      }
      // No second mariadbd of this server survives: exactly the one state.json records.
      const servers = processesOn(path.join(entryOf(fleet).dir, 'my.cnf')).filter((l) => l.includes('mariadbd'));
      expect(servers, servers.join('\n')).toHaveLength(1);
    }
  });

  it('dbps killed during a point-in-time replay: status exits 3; the same restore run again finishes it, another one is refused', async () => {
    const r = await restoreInterrupted(
      fleet,
      ['restore', setId, '--to-time', allRowsAt.toISOString(), '--yes'],
      (stderr) => (stderr.includes('orders: replay') ? 'replay' : undefined),
      false,
    );
    expect(r.at, `dbps ended before its replay:\n${r.stderr}`).toBe('replay');
    // Half-replayed (or not at all) and answering: that is not healthy.
    const st = await fleet.run(['status']);
    expect(st.code, st.stdout + st.stderr).toBe(3);
    expect(st.stdout + st.stderr).toContain('dbps restore --resume');
    // The same restore again finishes it (as --resume would), the live binlogs read from the datadir
    // moved aside: every committed row.
    const again = await fleet.run(['restore', setId, '--to-time', allRowsAt.toISOString(), '--yes']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(entryOf(fleet).restore).toBeUndefined();
    expect(await rows(fleet)).toStrictEqual(everything);
    expect((await fleet.run(['status'])).code).toBe(0);
    // A different restore than the interrupted one is refused until that one is finished or rolled back.
    const cut = await restoreInterrupted(
      fleet,
      ['restore', setId, '--to-time', allRowsAt.toISOString(), '--yes'],
      (stderr) => (stderr.includes('orders: replay') ? 'replay' : undefined),
      false,
    );
    expect(cut.at, cut.stderr).toBe('replay');
    const other = await fleet.run(['restore', setId, '--yes']);
    expect(other.code, other.stdout + other.stderr).toBe(3);
    expect(other.stderr).toContain('dbps restore --resume');
    const rb = await fleet.run(['restore', '--rollback', '--yes']);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(await rows(fleet)).toStrictEqual(everything);
  });

  it('while a restore runs, provision waits for it and then works, and a second restore names the holder', async () => {
    // A restore that is sure to be running: it holds the fleet lock, or (a dbps without one) stops the server.
    const child = spawn(process.execPath, [BIN, 'restore', setId, '--yes'], {
      cwd: fleet.dir,
      env: { ...process.env, NO_COLOR: '1', DBPS_MEMORY_SCALE: '0.01' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const lock = path.join(fleet.stateDir, 'fleet.lock');
    const holder = () => {
      try {
        return (JSON.parse(readFileSync(lock, 'utf8')) as { pid: number }).pid;
      } catch {
        return 0;
      }
    };
    const running = await eventually(
      () => holder() === child.pid || stderr.includes('orders: stop'),
      (yes) => yes,
      60_000,
    );
    expect(running, stderr).toBe(true);
    const [second, provision] = await Promise.all([
      // The wait through the environment: a dbps without a fleet lock runs the same commands.
      fleet.run(['restore', setId, '--yes'], { DBPS_LOCK_TIMEOUT: '0' }),
      fleet.run(['provision'], { DBPS_LOCK_TIMEOUT: '120' }),
    ]);
    expect(await exited, stderr).toBe(0);
    // The second restore neither raced the first (no raw ENOTEMPTY) nor waited forever: it names the holder.
    expect(second.code, second.stdout + second.stderr).toBe(3);
    expect(second.stderr).toMatch(new RegExp(`is held by dbps restore ${setId} \\(pid ${child.pid}, since `));
    expect(second.stderr).not.toContain('ENOTEMPTY');
    // provision waited until the restore was done, then found the server up (not "unreachable").
    expect(provision.code, provision.stdout + provision.stderr).toBe(0);
    expect(await rows(fleet)).toStrictEqual({ before: 100 });
    expect((await fleet.run(['status'])).code).toBe(0);
  });

  it('a manifest path outside the set is refused before anything is stopped; the server keeps its data', async () => {
    const before = await rows(fleet);
    const file = path.join(fleet.stateDir, 'backups', setId, 'manifest.json');
    const good = readFileSync(file, 'utf8');
    const manifest = JSON.parse(good);
    manifest.servers[0].path = '../../servers/orders/data';
    await writeFile(file, JSON.stringify(manifest));
    try {
      const r = await fleet.run(['restore', setId, '--yes', '--no-verify-checksums']);
      expect(r.code, r.stdout + r.stderr).toBe(3);
      expect(r.stderr).toContain('outside the set directory; nothing was stopped');
    } finally {
      await writeFile(file, good);
    }
    expect(entryOf(fleet).restore).toBeUndefined();
    expect(await rows(fleet)).toStrictEqual(before);
    const st = await fleet.run(['status']);
    expect(st.code, st.stdout + st.stderr).toBe(0);
  });
});

describe('restore with the disk filling up during the copy-back', () => {
  let fleet: LocalFleet;
  let mountPoint = '';
  let setId: string;

  beforeAll(async () => {
    fleet = await createFleet(`version: 1
fleet: rd
defaults: { basePort: ${randomBasePort()} }
services:
  orders: { memory: 128M }
`);
    // The server's directory on a small file system of its own (torn down in afterAll).
    mountPoint = path.join(fleet.stateDir, 'servers', 'orders');
    await mkdir(mountPoint, { recursive: true });
    execFileSync('chmod', ['0711', fleet.stateDir, path.dirname(mountPoint)]);
    const uid = execFileSync('id', ['-u', 'mysql'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'mysql'], { encoding: 'utf8' }).trim();
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=300m,mode=0700,uid=${uid},gid=${gid}`, 'tmpfs', mountPoint]);
    expect((await fleet.run(['up'])).code).toBe(0);
    expect((await fleet.run(['provision'])).code).toBe(0);
    await sql(fleet, 'CREATE TABLE orders.items (id INT PRIMARY KEY, v VARCHAR(20))');
    await sql(fleet, "INSERT INTO orders.items SELECT seq, 'before' FROM orders.seq_1_to_100");
    // A set of some 40 MiB: the copy-back runs out of space well inside its data files.
    await sql(fleet, 'CREATE TABLE orders.filler (id INT PRIMARY KEY, b LONGBLOB)');
    await sql(fleet, 'INSERT INTO orders.filler SELECT seq, REPEAT(MD5(seq), 32768) FROM orders.seq_1_to_28');
    const b = await fleet.run(['--json', 'backup']);
    expect(b.code, b.stderr).toBe(0);
    setId = (JSON.parse(b.stdout) as { id: string }).id;
    await sql(fleet, "INSERT INTO orders.items SELECT seq, 'after' FROM orders.seq_101_to_150");
    // Room for what the restore's free-space check asks (the set and 64 MiB) and some more, whatever the
    // MariaDB version's datadir takes.
    const used = Number(
      execFileSync('df', ['-B1', '--output=used', mountPoint], { encoding: 'utf8' }).trim().split('\n').pop(),
    );
    const size = Math.ceil((used + setSize(fleet, setId) + 64 * 1024 * 1024) / 1048576) + 40;
    execFileSync('mount', ['-o', `remount,size=${size}m`, mountPoint]);
  }, 240_000);

  afterAll(async () => {
    // The servers stop before the file system under them goes; the temp dir goes after it.
    await fleet?.run(['down', '--destroy', '--yes']).catch(() => undefined);
    if (mountPoint)
      execFileSync('sh', ['-c', 'umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true', 'sh', mountPoint]);
    await destroyAllFleets();
  });

  it('rolls back by itself: every row is there, status is healthy, no restore record and nothing moved aside', async () => {
    const filler = path.join(mountPoint, 'filler');
    const free = () => {
      const out = execFileSync('df', ['-B1', '--output=avail', mountPoint], { encoding: 'utf8' });
      return Number(out.trim().split('\n').pop());
    };
    // Room enough for the copy when the restore checks (before stopping anything); then something else
    // takes the space while it copies.
    expect(free(), 'the free-space check would refuse').toBeGreaterThan(setSize(fleet, setId) + 64 * 1024 * 1024);
    let filled = false;
    const r = await restoreInterrupted(
      fleet,
      ['restore', setId, '--yes'],
      (stderr) => {
        if (!filled && stderr.includes('orders: stop')) {
          filled = true;
          // Half the room the copy needs; what the copied part frees again lets the rollback start the
          // previous server (its temporary tablespace).
          const mb = Math.floor((free() - setSize(fleet, setId) / 2) / 1048576);
          try {
            execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', `count=${mb}`, 'status=none']);
          } catch {
            // full already (a copy-back that began at once): that is the point
          }
        }
        return undefined;
      },
      false,
    );
    expect(filled, r.stderr).toBe(true);
    await writeFile(filler, '');
    expect(r.stderr).toMatch(/copy-back failed: .*No space left on device/);
    expect(r.stderr).toContain('rolled back');
    expect(entryOf(fleet).restore).toBeUndefined();
    expect(readdirSync(mountPoint).filter((n) => n.startsWith('data.before-restore'))).toStrictEqual([]);
    expect(await rows(fleet)).toStrictEqual({ after: 50, before: 100 });
    const st = await fleet.run(['status']);
    expect(st.code, st.stdout + st.stderr).toBe(0);
    // And `up` on it is a no-op that keeps the data.
    expect((await fleet.run(['up'])).code).toBe(0);
    expect(await rows(fleet)).toStrictEqual({ after: 50, before: 100 });
  });
});

function setSize(fleet: LocalFleet, id: string): number {
  let n = 0;
  for (const size of setFiles(fleet, id).values()) n += size;
  return existsSync(path.join(fleet.stateDir, 'backups', id)) ? n : 0;
}
