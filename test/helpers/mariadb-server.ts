// Throwaway mariadbd servers for integration tests: temp datadir, free port, small buffer pool,
// stopped afterwards even when a test fails. Never touches a server already running on 3306.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mariadb, { type Connection, type ConnectionConfig } from 'mariadb';
import { searchDirs } from '../../src/runtime/binaries.js';
import { parseVersion, type ServerVersion } from '../../src/util/version.js';

const run = promisify(execFile);

/** The MariaDB programs the tests run themselves (dbps finds its own the same way). */
export type MariadbProgram =
  | 'mariadbd'
  | 'mariadb-install-db'
  | 'mariadb-binlog'
  | 'mariadb'
  | 'mariadb-backup'
  | 'mariadb-dump';

/**
 * Absolute path of a MariaDB program, searched as dbps searches: DBPS_MARIADB_BINDIR when set (CI's
 * MariaDB 11.8 wrappers), else PATH plus /usr/sbin. Tests run this, never a bare name from PATH, so a
 * run with DBPS_MARIADB_BINDIR tests that build and only that build.
 */
export function mariadbProgram(name: MariadbProgram): string {
  for (const dir of searchDirs(process.env)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  const where = process.env.DBPS_MARIADB_BINDIR ? `DBPS_MARIADB_BINDIR=${process.env.DBPS_MARIADB_BINDIR}` : 'PATH';
  throw new Error(`${name} not found in ${where}`);
}

let testedVersion: ServerVersion | undefined;

/** The version of the mariadbd the tests run (`mariadbd --version`), read once per process. */
export function testedMariadbVersion(): ServerVersion {
  testedVersion ??= parseVersion(
    /(\d+\.\d+\.\d+)-MariaDB/.exec(
      execFileSync(mariadbProgram('mariadbd'), ['--version'], { encoding: 'utf8' }),
    )?.[1] ?? '0.0.0',
  );
  return testedVersion;
}

export interface TestServer {
  name: string;
  dir: string;
  datadir: string;
  port: number;
  socket: string;
  pid: number;
  /** Runs one statement as root (passwordless, test only) and returns the rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A fresh connection as root; the caller closes it. */
  connect(opts?: Partial<ConnectionConfig>): Promise<Connection>;
  /** Clean shutdown; safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
}

export interface StartOptions {
  name?: string;
  /** Extra mariadbd options, e.g. ['--log-bin=test-bin', '--server-id=7']. */
  args?: string[];
  bufferPool?: string;
}

const running = new Set<TestServer>();
let templateDir: Promise<string> | undefined;

/** A free TCP port on 127.0.0.1 (the OS picks one). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** Runs as root needs --user=root; as anyone else mariadbd runs as that user. */
export function userArgs(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : [];
}

// One initialised datadir per MariaDB build and OS user, shared by every test process and kept
// between runs (mariadb-install-db takes seconds; vitest's workers may be killed before any 'exit'
// handler runs, so a per-process copy would be left behind each time). Built in a temp dir and renamed
// into place, so concurrent processes never see a half-written one.
export async function pristineDatadir(): Promise<string> {
  templateDir ??= (async () => {
    const { stdout } = await run(mariadbProgram('mariadbd'), ['--version']);
    const build = createHash('sha256').update(stdout).digest('hex').slice(0, 12);
    const shared = path.join(os.tmpdir(), `dbps-test-template-${process.getuid?.() ?? 'u'}-${build}`);
    const datadir = path.join(shared, 'data');
    if (existsSync(path.join(datadir, 'mysql'))) return datadir;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-test-template-new-'));
    try {
      await run(mariadbProgram('mariadb-install-db'), [
        '--no-defaults',
        ...userArgs(),
        `--datadir=${path.join(dir, 'data')}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=32M',
        '--innodb-log-file-size=16M',
      ]);
      await rename(dir, shared);
    } catch (e) {
      // Another process won the rename: use its copy.
      if (!existsSync(path.join(datadir, 'mysql'))) throw e;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return datadir;
  })();
  return templateDir;
}

/** Starts a throwaway server and waits until it accepts connections. */
export async function startTestServer(opts: StartOptions = {}): Promise<TestServer> {
  const name = opts.name ?? 'test';
  const dir = await mkdtemp(path.join(os.tmpdir(), `dbps-it-${name}-`));
  const datadir = path.join(dir, 'data');
  await cp(await pristineDatadir(), datadir, { recursive: true });
  await mkdir(path.join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  const socket = path.join(dir, 'mysqld.sock');
  const args = [
    '--no-defaults',
    ...userArgs(),
    `--datadir=${datadir}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${socket}`,
    `--pid-file=${path.join(dir, 'mysqld.pid')}`,
    `--log-error=${path.join(dir, 'error.log')}`,
    `--tmpdir=${path.join(dir, 'tmp')}`,
    `--innodb-buffer-pool-size=${opts.bufferPool ?? '32M'}`,
    '--innodb-log-file-size=16M',
    '--skip-name-resolve',
    '--performance-schema=OFF',
    '--max-connections=200',
    ...(opts.args ?? []),
  ];
  const child: ChildProcess = spawn(mariadbProgram('mariadbd'), args, { stdio: 'ignore', detached: false });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const pool = () => ({ host: '127.0.0.1', port, user: 'root', password: '', connectTimeout: 2000 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const c = await mariadb.createConnection(pool());
      await c.end();
      break;
    } catch (e) {
      if (exited || Date.now() > deadline) {
        const log = existsSync(path.join(dir, 'error.log')) ? readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
        await rm(dir, { recursive: true, force: true });
        throw new Error(`test mariadbd did not start: ${(e as Error).message}\n${log.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  let stopped = false;
  const waitExit = () => (exited ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r())));
  const server: TestServer = {
    name,
    dir,
    datadir,
    port,
    socket,
    pid: child.pid ?? 0,
    async query<T>(sql: string, params?: unknown[]) {
      const c = await mariadb.createConnection(pool());
      try {
        return (await c.query({ sql, rowsAsArray: false }, params)) as T[];
      } finally {
        await c.end();
      }
    },
    connect: (extra = {}) => mariadb.createConnection({ ...pool(), ...extra }),
    async stop() {
      if (stopped) return;
      stopped = true;
      running.delete(server);
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await waitExit();
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
    async kill() {
      if (!exited) {
        child.kill('SIGKILL');
        await waitExit();
      }
    },
  };
  running.add(server);
  return server;
}

/** Stops every server this process started (for afterAll and process exit). */
export async function stopAllTestServers(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

process.once('exit', () => {
  for (const s of running) {
    try {
      process.kill(s.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
