// Simulated hosts for integration tests: one network namespace per host, joined to a bridge of the
// test's own through veth pairs, on a private /24 no other interface uses, each running one mariadbd
// bound to its own address. The test process (in the root namespace) reaches them from the bridge's
// address, as a client on another machine would. Root only (`ip netns add`). Everything is torn down
// by destroy(), at process exit, and — for runs killed before either — by the next createHosts().
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mariadb, { type Connection, type ConnectionConfig } from 'mariadb';
import { mariadbProgram, pristineDatadir, userArgs } from './mariadb-server.js';

export interface TestHost {
  /** host0, host1, … */
  name: string;
  /** The network namespace the server runs in. */
  netns: string;
  /** The host's own address on the test's bridge (the server listens there, port 3306). */
  address: string;
  port: number;
  /** The server's socket (a path: reachable from the root namespace, for set-up as root). */
  socket: string;
  dir: string;
  datadir: string;
  pid: number;
  /** An account with every privilege, for clients on the bridge (`driver: external` admin). */
  admin: { user: string; password: string };
  /** Runs one statement as root over the socket and returns the rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A connection as root over the socket; the caller closes it. */
  connectSocket(opts?: Partial<ConnectionConfig>): Promise<Connection>;
  /** A connection as admin over the network (from the bridge address); the caller closes it. */
  connectTcp(opts?: Partial<ConnectionConfig>): Promise<Connection>;
  /** SIGSTOP: the kernel still accepts TCP connections, the server answers nothing (a hung host). */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** Takes the host's interface down: packets to it are dropped, connections hang (a cut link). */
  cutLink(): void;
  restoreLink(): void;
  /** Clean shutdown and start again on the same datadir and options. */
  restart(): Promise<void>;
  /** Clean shutdown (safe twice); the datadir stays until the network is destroyed. */
  stop(): Promise<void>;
}

export interface HostNetwork {
  hosts: TestHost[];
  /** The root namespace's address on the bridge: where clients of these hosts connect from. */
  gateway: string;
  /** `10.x.y.%`: an account host matching every address of this network. */
  hostPattern: string;
  /** Stops every server and removes the namespaces, veth pairs and the bridge. Safe twice. */
  destroy(): Promise<void>;
}

export interface HostOptions {
  /** Extra mariadbd options for host i (e.g. TLS files, --log-bin). */
  args?: (index: number, host: { address: string; dir: string }) => string[];
  bufferPool?: string;
}

const NS_PREFIX = 'dbpst';
const live = new Set<{ id: string; destroySync(): void }>();

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryIp(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    // already gone
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when this process may create namespaces (root with iproute2). */
export function canCreateHosts(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    ip('netns', 'list');
    return true;
  } catch {
    return false;
  }
}

/** Removes namespaces (and their servers and bridge) left by test processes that died. */
export function sweepStaleHosts(): void {
  let names: string[];
  try {
    names = ip('netns', 'list')
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter(Boolean);
  } catch {
    return;
  }
  for (const ns of names) {
    const m = new RegExp(`^${NS_PREFIX}-(\\d+)-([0-9a-f]+)-\\d+$`).exec(ns);
    if (!m || pidAlive(Number(m[1]))) continue;
    killNamespace(ns);
    tryIp('link', 'del', `dbt${m[2]}`);
  }
}

function killNamespace(ns: string): void {
  try {
    for (const pid of ip('netns', 'pids', ns).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
  } catch {
    // no such namespace
  }
  tryIp('netns', 'del', ns);
}

/** A /24 in 10.0.0.0/8 that no route of this machine covers. */
function freeSubnet(): string {
  const routes = ip('-4', 'route', 'show', 'table', 'all');
  for (let attempt = 0; attempt < 200; attempt++) {
    const a = 64 + Math.floor(Math.random() * 64);
    const b = Math.floor(Math.random() * 256);
    const prefix = `10.${a}.${b}`;
    if (!routes.includes(`${prefix}.`)) return prefix;
  }
  throw new Error('no free 10.x.y.0/24 subnet for test hosts');
}

/** Creates `count` hosts, each with a running mariadbd on <address>:3306. */
export async function createHosts(count: number, opts: HostOptions = {}): Promise<HostNetwork> {
  if (!canCreateHosts()) throw new Error('simulated hosts need root and iproute2 (ip netns)');
  sweepStaleHosts();
  const id = randomBytes(3).toString('hex').slice(0, 5);
  const bridge = `dbt${id}`;
  const prefix = freeSubnet();
  const gateway = `${prefix}.1`;
  const namespaces: string[] = [];
  const servers: Array<{ child: ChildProcess; exited: boolean }> = [];
  const hosts: TestHost[] = [];
  let destroyed = false;

  const destroySync = () => {
    for (const s of servers) if (!s.exited) s.child.kill('SIGKILL');
    for (const ns of namespaces) killNamespace(ns);
    tryIp('link', 'del', bridge);
  };
  const entry = { id, destroySync };
  live.add(entry);

  const network: HostNetwork = {
    hosts,
    gateway,
    hostPattern: `${prefix}.%`,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await Promise.all(hosts.map((h) => h.stop().catch(() => undefined)));
      destroySync();
      live.delete(entry);
      await Promise.all(hosts.map((h) => rm(h.dir, { recursive: true, force: true })));
    },
  };

  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${gateway}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    const template = await pristineDatadir();
    for (let i = 0; i < count; i++) {
      const ns = `${NS_PREFIX}-${process.pid}-${id}-${i}`;
      const outer = `dv${id}${i}`;
      const inner = `dp${id}${i}`;
      const address = `${prefix}.${10 + i}`;
      ip('netns', 'add', ns);
      namespaces.push(ns);
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
      ip('link', 'set', inner, 'netns', ns);
      ip('link', 'set', outer, 'master', bridge, 'up');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', inner);
      ip('-n', ns, 'link', 'set', inner, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      const dir = await mkdtemp(path.join(os.tmpdir(), `dbps-host${i}-`));
      const datadir = path.join(dir, 'data');
      await cp(template, datadir, { recursive: true });
      await mkdir(path.join(dir, 'tmp'), { recursive: true });
      const socket = path.join(dir, 'mysqld.sock');
      const args = [
        '--no-defaults',
        ...userArgs(),
        `--datadir=${datadir}`,
        '--port=3306',
        `--bind-address=${address}`,
        `--socket=${socket}`,
        `--pid-file=${path.join(dir, 'mysqld.pid')}`,
        `--log-error=${path.join(dir, 'error.log')}`,
        `--tmpdir=${path.join(dir, 'tmp')}`,
        `--innodb-buffer-pool-size=${opts.bufferPool ?? '32M'}`,
        '--innodb-log-file-size=16M',
        '--skip-name-resolve',
        '--performance-schema=OFF',
        '--max-connections=200',
        `--server-id=${100 + i}`,
        ...(opts.args?.(i, { address, dir }) ?? []),
      ];
      const slot = { child: undefined as unknown as ChildProcess, exited: false };
      const launch = async () => {
        // `ip netns exec` enters the namespace and execs mariadbd: the child's pid is the server's.
        slot.child = spawn('ip', ['netns', 'exec', ns, mariadbProgram('mariadbd'), ...args], { stdio: 'ignore' });
        slot.exited = false;
        slot.child.on('exit', () => {
          slot.exited = true;
        });
        await waitForSocket(socket, dir, () => slot.exited);
      };
      servers.push(slot);
      await launch();
      const admin = { user: 'dbps_test_admin', password: randomBytes(12).toString('base64url') };
      const socketConn = (extra: Partial<ConnectionConfig> = {}) =>
        mariadb.createConnection({ socketPath: socket, user: 'root', connectTimeout: 3000, ...extra });
      const c = await socketConn();
      try {
        await c.query('CREATE USER ?@? IDENTIFIED BY ?', [admin.user, network.hostPattern, admin.password]);
        await c.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [admin.user, network.hostPattern]);
      } finally {
        await c.end();
      }
      const waitExit = () =>
        slot.exited ? Promise.resolve() : new Promise<void>((r) => slot.child.once('exit', () => r()));
      const stop = async () => {
        if (slot.exited) return;
        try {
          process.kill(slot.child.pid!, 'SIGCONT');
        } catch {
          // gone
        }
        slot.child.kill('SIGTERM');
        const timer = setTimeout(() => slot.child.kill('SIGKILL'), 20_000);
        await waitExit();
        clearTimeout(timer);
      };
      const host: TestHost = {
        name: `host${i}`,
        netns: ns,
        address,
        port: 3306,
        socket,
        dir,
        datadir,
        get pid() {
          return slot.child.pid ?? 0;
        },
        admin,
        async query<T>(sql: string, params?: unknown[]) {
          const conn = await socketConn();
          try {
            return (await conn.query(sql, params)) as T[];
          } finally {
            await conn.end();
          }
        },
        connectSocket: socketConn,
        connectTcp: (extra = {}) =>
          mariadb.createConnection({
            host: address,
            port: 3306,
            user: admin.user,
            password: admin.password,
            connectTimeout: 3000,
            ...extra,
          }),
        freeze: () => process.kill(slot.child.pid!, 'SIGSTOP'),
        thaw: () => process.kill(slot.child.pid!, 'SIGCONT'),
        cutLink: () => ip('-n', ns, 'link', 'set', inner, 'down'),
        restoreLink: () => ip('-n', ns, 'link', 'set', inner, 'up'),
        async restart() {
          await stop();
          await launch();
        },
        stop,
      };
      hosts.push(host);
    }
  } catch (e) {
    await network.destroy();
    throw e;
  }
  return network;
}

async function waitForSocket(socket: string, dir: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const c = await mariadb.createConnection({ socketPath: socket, user: 'root', connectTimeout: 2000 });
      await c.end();
      return;
    } catch (e) {
      if (exited() || Date.now() > deadline) {
        const logFile = path.join(dir, 'error.log');
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        throw new Error(`host mariadbd did not start: ${(e as Error).message}\n${log.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

process.once('exit', () => {
  for (const n of live) n.destroySync();
});
