// A fleet in a temp directory driven through the real CLI (`dbps up/down/...`), with cleanup that
// stops every server it started even when a test fails: `dbps down`, then SIGKILL of any pid left.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BIN, type CliRun, dbps } from './dbps-cli.js';

/** `dbps ...args` as another OS user (root only, via runuser), for the non-root code path. */
function runAsUser(user: string, cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  // DBPS_MARIADB_BINDIR crosses the sudo too: the other user's dbps must run the same MariaDB build.
  const bindir = process.env.DBPS_MARIADB_BINDIR ? { DBPS_MARIADB_BINDIR: process.env.DBPS_MARIADB_BINDIR } : {};
  const vars = Object.entries({ NO_COLOR: '1', PATH: process.env.PATH ?? '', ...bindir, ...env }).map(
    ([k, v]) => `${k}=${v}`,
  );
  return new Promise((resolve) => {
    execFile(
      'runuser',
      ['-u', user, '--', 'env', ...vars, process.execPath, BIN, ...args],
      { cwd, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

export interface LocalFleet {
  dir: string;
  stateDir: string;
  /** Runs `dbps ...args` in the fleet's directory with a small memory scale. */
  run(args: string[], env?: NodeJS.ProcessEnv, nodeArgs?: string[]): Promise<CliRun>;
  /** state.json as written by dbps. */
  state(): { servers: Record<string, { port: number; socket: string; pidFile: string; dir: string; pid?: number }> };
}

const fleets: LocalFleet[] = [];

/** A random base port well away from 3306 and from other test files' fleets. */
export function randomBasePort(): number {
  return 20_000 + Math.floor(Math.random() * 400) * 100;
}

/** Writes services.yaml into a fresh temp dir (optionally nested deep, for long socket paths). */
export async function createFleet(yaml: string, opts: { deep?: boolean; runAs?: string } = {}): Promise<LocalFleet> {
  let dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-up-'));
  const root = dir;
  // Another OS user must be able to create the state dir here; otherwise the server's own account
  // (mysql, when the tests run as root) must be able to pass through it, as below any home directory.
  await chmod(dir, opts.runAs ? 0o777 : 0o711);
  if (opts.deep) {
    dir = path.join(dir, 'a-rather-long-directory-name-for-sockets', 'and-another-level-of-nesting-here');
    await mkdir(dir, { recursive: true });
  }
  await writeFile(path.join(dir, 'services.yaml'), yaml);
  const stateDir = path.join(dir, '.dbps');
  const fleet: LocalFleet & { root: string } = {
    root,
    dir,
    stateDir,
    run: (args, env = {}, nodeArgs = []) =>
      opts.runAs
        ? runAsUser(opts.runAs, dir, args, { DBPS_MEMORY_SCALE: '0.01', HOME: dir, ...env })
        : dbps(args, { cwd: dir, env: { DBPS_MEMORY_SCALE: '0.01', ...env }, nodeArgs }),
    state: () => JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')),
  };
  fleets.push(fleet);
  return fleet;
}

function leftoverPids(stateDir: string): number[] {
  const pids: number[] = [];
  const serversDir = path.join(stateDir, 'servers');
  if (existsSync(serversDir)) {
    for (const name of readdirSync(serversDir)) {
      const pidFile = path.join(serversDir, name, 'mysqld.pid');
      if (existsSync(pidFile)) pids.push(Number(readFileSync(pidFile, 'utf8').trim()));
    }
  }
  try {
    const state = JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as {
      servers: Record<string, { pid?: number }>;
    };
    for (const s of Object.values(state.servers)) if (s.pid) pids.push(s.pid);
  } catch {
    // no state
  }
  return pids.filter((p) => Number.isInteger(p) && p > 0);
}

/** Stops and removes every fleet created by this test file. */
export async function destroyAllFleets(): Promise<void> {
  await Promise.all(
    fleets.splice(0).map(async (fleet) => {
      const pids = leftoverPids(fleet.stateDir);
      await fleet.run(['down', '--destroy', '--yes']).catch(() => undefined);
      for (const pid of pids) {
        try {
          // Only mariadbd processes: a recycled pid must not take an unrelated process down.
          if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(fleet.stateDir)) process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await rm((fleet as LocalFleet & { root: string }).root, { recursive: true, force: true });
    }),
  );
}

/** Runs one statement as root over a local server's socket (test set-up and checks); numbers come back as numbers. */
export async function serverSql<T = Record<string, unknown>>(
  fleet: LocalFleet,
  server: string,
  q: string,
  params?: unknown[],
): Promise<T[]> {
  const { default: mariadb } = await import('mariadb');
  const c = await mariadb.createConnection({
    socketPath: fleet.state().servers[server]!.socket,
    user: 'root',
    bigIntAsNumber: true,
    connectTimeout: 5000,
  });
  try {
    return (await c.query(q, params)) as T[];
  } finally {
    await c.end();
  }
}
