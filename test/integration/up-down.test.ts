// dbps up / down / status / connect / doctor against real mariadbd processes started by dbps itself.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { seriesOf } from '../../src/util/version.js';
import { createFleet, destroyAllFleets, randomBasePort } from '../helpers/local-fleet.js';
import { freePort, startTestServer, stopAllTestServers, testedMariadbVersion } from '../helpers/mariadb-server.js';

const RECORD_ARGV = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../helpers/record-argv.mjs');

/** True while the pid is a live (non-zombie) process; servers outlive dbps and may never be reaped. */
function serverProcessRuns(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\S+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

afterAll(async () => {
  await destroyAllFleets();
  await stopAllTestServers();
});

interface StatusJson {
  servers: {
    server: string;
    driver: string;
    state: string;
    port?: number;
    socket?: string;
    pid?: number;
    version?: string;
    services: string[];
    shouldRun: boolean;
    detail?: string;
    health: { service: string; databaseExists: boolean }[];
  }[];
  down: string[];
}

const mixedFleet = (basePort: number) => `version: 1
fleet: shop
defaults: { basePort: ${basePort} }
servers:
  shared: { driver: local, profile: oltp, memory: 1G }
services:
  orders: { profile: oltp, memory: 2G }
  customers: { profile: oltp, memory: 1G }
  sessions: { profile: sessions, memory: 512M }
  inventory: { server: shared }
  payments: { server: shared }
`;

describe('dbps up / status / connect / down on a mixed fleet', () => {
  it('runs 3 isolated servers and one shared server, each answering on its own port, and stops them', async () => {
    const fleet = await createFleet(mixedFleet(randomBasePort()));
    const up = await fleet.run(['up']);
    expect(up.stderr).toContain('fleet is up (4 servers)');
    expect(up.code).toBe(0);

    const status = await fleet.run(['--json', 'status']);
    expect(status.code).toBe(0);
    const doc = JSON.parse(status.stdout) as StatusJson;
    expect(doc.servers.map((s) => [s.server, s.state])).toStrictEqual([
      ['shared', 'running'],
      ['orders', 'running'],
      ['customers', 'running'],
      ['sessions', 'running'],
    ]);
    const ports = doc.servers.map((s) => s.port);
    expect(new Set(ports).size).toBe(4);
    expect(ports).not.toContain(3306);
    expect(doc.servers.find((s) => s.server === 'shared')!.services).toStrictEqual(['inventory', 'payments']);
    for (const s of doc.servers) {
      expect(s.version).toMatch(/MariaDB/);
      expect(s.health.every((h) => h.databaseExists === false)).toBe(true);
    }

    // Each service reaches its own server: the port it reports is the one status gave for its server.
    for (const [service, server] of [
      ['orders', 'orders'],
      ['customers', 'customers'],
      ['sessions', 'sessions'],
      ['inventory', 'shared'],
      ['payments', 'shared'],
    ] as const) {
      const r = await fleet.run(['connect', service, '--admin', '-e', 'SELECT 1 AS one, @@port AS port']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const expectedPort = doc.servers.find((s) => s.server === server)!.port;
      expect(r.stdout.trim().split('\n')[1]).toBe(`1\t${expectedPort}`);
    }

    // Once the service's database exists, --admin lands in it.
    expect((await fleet.run(['connect', 'orders', '--admin', '-e', 'CREATE DATABASE orders'])).code).toBe(0);
    expect((await fleet.run(['connect', 'orders', '--admin', '-e', 'SELECT DATABASE()'])).stdout).toContain('orders');
    // A service account: its password comes from secrets.env and travels in a temp option file, never in argv.
    const password = `p"w#1; x\\y'z`;
    const sqlPassword = password.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
    expect(
      (
        await fleet.run([
          'connect',
          'orders',
          '--admin',
          '-e',
          `CREATE USER orders_app@'%' IDENTIFIED BY '${sqlPassword}'; GRANT SELECT ON orders.* TO orders_app@'%'`,
        ])
      ).code,
    ).toBe(0);
    await writeFile(path.join(fleet.stateDir, 'secrets.env'), `DBPS_PASSWORD_ORDERS_ORDERS_APP=${password}\n`, {
      mode: 0o600,
    });
    const argvLog = path.join(fleet.dir, 'argv.log');
    const asApp = await fleet.run(
      ['connect', 'orders', '-e', 'SELECT CURRENT_USER(), DATABASE()'],
      { DBPS_ARGV_LOG: argvLog },
      ['--import', RECORD_ARGV],
    );
    expect(asApp.stderr).toBe('');
    expect(asApp.stdout.trim().split('\n')[1]).toBe('orders_app@%\torders');
    const argv = readFileSync(argvLog, 'utf8');
    expect(argv).toContain('--defaults-extra-file=');
    expect(argv).not.toContain('p\\"w#1');
    expect(argv).not.toContain('x\\\\y');
    expect(argv).not.toContain('w#1; x');
    const optionFile = /--defaults-extra-file=([^"]+)/.exec(argv)![1]!;
    expect(existsSync(optionFile)).toBe(false);
    // A wrong password is the client's own "access denied" (exit 1), passed through.
    await writeFile(path.join(fleet.stateDir, 'secrets.env'), 'DBPS_PASSWORD_ORDERS_ORDERS_APP=wrong\n', {
      mode: 0o600,
    });
    const denied = await fleet.run(['connect', 'orders', '-e', 'SELECT 1']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('Access denied');

    // The client's own failure passes through as its exit code.
    expect((await fleet.run(['connect', 'orders', '--admin', '-e', 'SELECT no_such_column'])).code).toBe(1);

    // A second up changes nothing and says so.
    const again = await fleet.run(['--json', 'up']);
    expect(again.code).toBe(0);
    const againDoc = JSON.parse(again.stdout) as {
      changed: boolean;
      servers: { action: string; pid: number; server: string }[];
    };
    expect(againDoc.changed).toBe(false);
    expect(againDoc.servers.map((s) => s.action)).toStrictEqual([
      'already-running',
      'already-running',
      'already-running',
      'already-running',
    ]);
    expect(againDoc.servers.map((s) => s.pid)).toStrictEqual(doc.servers.map((s) => s.pid));
    expect((await fleet.run(['up'])).stderr).toContain('nothing to do');

    const down = await fleet.run(['down']);
    expect(down.code).toBe(0);
    expect(down.stderr).toContain('fleet is down');
    const after = await fleet.run(['--json', 'status']);
    expect(after.code).toBe(0);
    expect((JSON.parse(after.stdout) as StatusJson).servers.map((s) => s.state)).toStrictEqual([
      'stopped',
      'stopped',
      'stopped',
      'stopped',
    ]);
    for (const s of doc.servers) expect(serverProcessRuns(s.pid!)).toBe(false);
    const refused = await fleet.run(['connect', 'orders', '--admin', '-e', 'SELECT 1']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/not reachable/);
  });

  it("up [service...] starts only those services' servers; an unknown service is exit 2 with a suggestion", async () => {
    const fleet = await createFleet(mixedFleet(randomBasePort()));
    const typo = await fleet.run(['up', 'invntory']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean "inventory"?');
    expect(existsSync(`${fleet.stateDir}/servers`)).toBe(false);

    const up = await fleet.run(['--json', 'up', 'inventory']);
    expect(up.code).toBe(0);
    expect((JSON.parse(up.stdout) as { servers: { server: string; action: string }[] }).servers).toMatchObject([
      { server: 'shared', action: 'created' },
    ]);
    const status = await fleet.run(['--json', 'status']);
    expect((JSON.parse(status.stdout) as StatusJson).servers.map((s) => [s.server, s.state])).toStrictEqual([
      ['shared', 'running'],
      ['orders', 'stopped'],
      ['customers', 'stopped'],
      ['sessions', 'stopped'],
    ]);
  });
});

describe('crash and recovery', () => {
  it('reports a SIGKILLed server as crashed, restarts it with up and keeps committed rows; the socket moves to a short path', async () => {
    const fleet = await createFleet(
      `version: 1
fleet: crashy
defaults: { basePort: ${randomBasePort()} }
services:
  ledger: { profile: oltp, memory: 256M }
`,
      { deep: true },
    );
    expect((await fleet.run(['up'])).code).toBe(0);
    const before = fleet.state().servers.ledger!;
    // The natural socket path would exceed the Unix limit, so it lives in /tmp instead (recorded in state.json).
    expect(before.socket.startsWith('/tmp/dbps-')).toBe(true);
    expect(Buffer.byteLength(`${fleet.stateDir}/servers/ledger/mysqld.sock`)).toBeGreaterThan(107);

    const write = await fleet.run([
      'connect',
      'ledger',
      '--admin',
      '-e',
      'CREATE DATABASE ledger; CREATE TABLE ledger.entries (id INT PRIMARY KEY, amount INT) ENGINE=InnoDB; INSERT INTO ledger.entries VALUES (1, 4200)',
    ]);
    expect(write.code).toBe(0);

    const pid = fleet.state().servers.ledger!.pid!;
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));

    const crashed = await fleet.run(['--json', 'status']);
    expect(crashed.code).toBe(3);
    const crashedDoc = JSON.parse(crashed.stdout) as StatusJson;
    expect(crashedDoc.servers[0]!.state).toBe('crashed');
    expect(crashedDoc.down).toStrictEqual(['ledger']);
    expect((await fleet.run(['status'])).stdout).toContain('crashed');

    // The stale pid file and socket left by the kill do not block the restart.
    const up = await fleet.run(['--json', 'up']);
    expect(up.code).toBe(0);
    expect((JSON.parse(up.stdout) as { servers: { action: string }[] }).servers[0]!.action).toBe('recovered');
    const read = await fleet.run(['connect', 'ledger', '--admin', '-e', 'SELECT amount FROM entries WHERE id = 1']);
    expect(read.code).toBe(0);
    expect(read.stdout.trim().split('\n')[1]).toBe('4200');
    expect((await fleet.run(['status'])).code).toBe(0);

    // --destroy needs a confirmation; with --yes it removes the server's files and short socket directory.
    const unconfirmed = await fleet.run(['down', '--destroy']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('--yes');
    expect((await fleet.run(['status'])).code).toBe(0);
    const destroyed = await fleet.run(['down', '--destroy', '--yes']);
    expect(destroyed.code).toBe(0);
    expect(existsSync(`${fleet.stateDir}/servers/ledger`)).toBe(false);
    expect(existsSync(before.socket)).toBe(false);
  });
});

describe('a server that hangs', () => {
  it('is crashed in status while its process does not answer, and down kills it only after the timeout, saying so', async () => {
    const fleet = await createFleet(`version: 1
fleet: hung
defaults: { basePort: ${randomBasePort()} }
services:
  queue: { memory: 256M }
`);
    expect((await fleet.run(['up'])).code).toBe(0);
    const pid = fleet.state().servers.queue!.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      const status = await fleet.run(['--json', 'status']);
      expect(status.code).toBe(3);
      const server = (JSON.parse(status.stdout) as StatusJson).servers[0]!;
      expect(server).toMatchObject({ state: 'crashed', pid });
      expect(server.detail).toContain('does not answer');

      const down = await fleet.run(['down'], { DBPS_STOP_TIMEOUT: '1' });
      expect(down.code).toBe(0);
      expect(down.stderr).toContain('did not shut down within 1 s and was killed (SIGKILL)');
      expect(serverProcessRuns(pid)).toBe(false);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // InnoDB recovers at the next up.
    expect((await fleet.run(['up'])).code).toBe(0);
    expect((await fleet.run(['connect', 'queue', '--admin', '-e', 'SELECT 1'])).code).toBe(0);
  });
});

describe('ports', () => {
  it('a declared port taken by another process is exit 3 naming the port and the way out', async () => {
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const fleet = await createFleet(`version: 1
fleet: clash
defaults: { basePort: ${randomBasePort()} }
services:
  orders: { memory: 256M, port: ${port} }
  customers: { memory: 256M }
`);
      const up = await fleet.run(['up']);
      expect(up.code).toBe(3);
      expect(up.stderr).toContain(`port ${port} on 127.0.0.1 is already in use by another process`);
      expect(up.stderr).toContain('port:');
      expect(up.stderr).not.toMatch(/\n\s+at /);
      // The other server is not held back by the clash.
      const status = JSON.parse((await fleet.run(['--json', 'status'])).stdout) as StatusJson;
      expect(status.servers.map((s) => [s.server, s.state])).toStrictEqual([
        ['orders', 'stopped'],
        ['customers', 'running'],
      ]);
      const doctor = await fleet.run(['doctor']);
      expect(doctor.code).toBe(3);
      expect(doctor.stdout).toContain(`port ${port} is in use by another process`);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});

describe('external servers', () => {
  it('are checked by up, probed by status, reachable by connect --admin, and never stopped by down', async () => {
    const external = await startTestServer({ name: 'legacy' });
    const fleet = await createFleet(`version: 1
fleet: mixed
defaults: { basePort: ${randomBasePort()} }
servers:
  legacy: { driver: external, host: 127.0.0.1, port: ${external.port}, admin: { user: root } }
services:
  billing: { server: legacy }
`);
    const up = await fleet.run(['--json', 'up']);
    expect(up.code).toBe(0);
    expect((JSON.parse(up.stdout) as { servers: { action: string; port: number }[] }).servers).toMatchObject([
      { action: 'reachable', port: external.port },
    ]);
    expect(existsSync(`${fleet.stateDir}/servers/legacy`)).toBe(false);

    const status = JSON.parse((await fleet.run(['--json', 'status'])).stdout) as StatusJson;
    expect(status.servers[0]).toMatchObject({
      server: 'legacy',
      driver: 'external',
      state: 'running',
      port: external.port,
    });
    expect(status.servers[0]!.version).toMatch(/MariaDB/);

    const r = await fleet.run(['connect', 'billing', '--admin', '-e', 'SELECT @@port']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(String(external.port));

    expect((await fleet.run(['down'])).code).toBe(0);
    expect(await external.query('SELECT 1 AS ok')).toStrictEqual([{ ok: 1 }]);

    // Probed, not assumed: once it is gone, status says unreachable and exits 3; up fails the same way.
    await external.stop();
    const gone = await fleet.run(['--json', 'status']);
    expect(gone.code).toBe(3);
    expect((JSON.parse(gone.stdout) as StatusJson).servers[0]!.state).toBe('unreachable');
    const upGone = await fleet.run(['up']);
    expect(upGone.code).toBe(3);
    expect(upGone.stderr).toContain('"legacy" is not reachable');
  });
});

describe('as an ordinary user', () => {
  // CI runs as root; as root this runs dbps as `nobody` (runuser), otherwise as the current user.
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? 'nobody' : (process.env.USER ?? '');

  it('creates the server with <user>@localhost as its unix_socket admin and runs it without root', async () => {
    const fleet = await createFleet(
      `version: 1
fleet: plain
defaults: { basePort: ${randomBasePort()} }
services:
  notes: { memory: 256M }
`,
      asRoot ? { runAs: user } : {},
    );
    const up = await fleet.run(['up']);
    expect(up.stderr).toContain('fleet is up');
    expect(up.code).toBe(0);
    expect(fleet.state().servers.notes).toMatchObject({ adminUser: user });
    const who = await fleet.run(['connect', 'notes', '--admin', '-e', 'SELECT CURRENT_USER()']);
    expect(who.code).toBe(0);
    expect(who.stdout).toContain(`${user}@localhost`);
    const pid = fleet.state().servers.notes!.pid!;
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(
      new RegExp(`^Uid:\\s+${execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim()}\\s`, 'm'),
    );
    expect((await fleet.run(['down', '--destroy', '--yes'])).code).toBe(0);
    expect(serverProcessRuns(pid)).toBe(false);
  });
});

describe('doctor and missing programs', () => {
  it('doctor passes on this machine, and a missing mariadbd gives the fix command instead of a stack trace', async () => {
    const fleet = await createFleet(mixedFleet(randomBasePort()));
    const ok = await fleet.run(['doctor']);
    expect(ok.stdout).toContain('everything dbps needs is in place');
    expect(ok.code).toBe(0);

    const env = { DBPS_MARIADB_BINDIR: '/nonexistent-mariadb-bin' };
    const doctor = await fleet.run(['--json', 'doctor'], env);
    expect(doctor.code).toBe(3);
    const checks = (JSON.parse(doctor.stdout) as { checks: { check: string; ok: boolean; fix?: string }[] }).checks;
    expect(checks.filter((c) => !c.ok).map((c) => c.check)).toStrictEqual([
      'binary:mariadbd',
      'binary:mariadb-install-db',
      'binary:mariadb',
      'binary:mariadb-backup',
    ]);
    expect(checks[0]!.fix).toBe('apt-get install -y mariadb-server mariadb-client mariadb-backup');

    for (const args of [['up'], ['connect', 'orders', '--admin']]) {
      const r = await fleet.run(args, env);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('is not installed');
      expect(r.stderr).toContain('apt-get install -y mariadb-server mariadb-client mariadb-backup');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('the MariaDB that runs against the one services.yaml declares', () => {
  const tested = testedMariadbVersion();
  const series = seriesOf(tested);
  // Whichever supported series this run does not test, so the two always differ.
  const other = series === '10.11' ? '11.8' : '10.11';
  const oneServer = (mariadb: string) =>
    `version: 1\nfleet: v\ndefaults: { basePort: ${randomBasePort()}, mariadb: "${mariadb}" }\nservices:\n  orders: { profile: oltp, memory: 512M }\n`;
  interface DoctorJson {
    checks: { check: string; ok: boolean; warning?: boolean; detail: string; fix?: string }[];
  }

  it(`doctor and up say so when services.yaml declares ${other} and ${series} runs; up writes the my.cnf for ${series}`, async () => {
    const fleet = await createFleet(oneServer(other));
    const doctor = await fleet.run(['--json', 'doctor']);
    expect(doctor.code, doctor.stderr).toBe(0);
    const check = (JSON.parse(doctor.stdout) as DoctorJson).checks.find((c) => c.check === 'version:mariadb')!;
    expect(check).toMatchObject({ ok: true, warning: true });
    expect(check.detail).toBe(
      `services.yaml declares MariaDB ${other} for orders, but the installed mariadbd is ${tested.text}: \`dbps up\` runs ${tested.text} with a my.cnf for ${series}; generated compose and Kubernetes files keep ${other}`,
    );
    expect(check.fix).toContain(`mariadb: "${series}"`);
    expect((await fleet.run(['doctor'])).stdout).toContain(
      `warn  version:mariadb: services.yaml declares MariaDB ${other}`,
    );

    const up = await fleet.run(['up']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain(
      `note: services.yaml declares MariaDB ${other} for orders, but the running mariadbd is ${tested.text}`,
    );
    // The my.cnf is the running version's: innodb_flush_method is written below 11.0 only.
    const cnf = readFileSync((fleet.state().servers.orders as unknown as { cnf: string }).cnf, 'utf8');
    expect(cnf.includes('innodb_flush_method')).toBe(series === '10.11');
    const json = JSON.parse((await fleet.run(['--json', 'up'])).stdout) as { versionNotes: { running: string }[] };
    expect(json.versionNotes.map((n) => n.running)).toStrictEqual([tested.text]);
    const running = (JSON.parse((await fleet.run(['--json', 'doctor'])).stdout) as DoctorJson).checks.find(
      (c) => c.check === 'version:mariadb',
    )!;
    expect(running.detail).toContain(`but the running mariadbd is ${tested.text}`);
    expect((await fleet.run(['down', '--destroy', '--yes'])).code).toBe(0);
  });

  it(`no note when services.yaml declares the series that runs (${series})`, async () => {
    const fleet = await createFleet(oneServer(series));
    const doctor = JSON.parse((await fleet.run(['--json', 'doctor'])).stdout) as DoctorJson;
    expect(doctor.checks.find((c) => c.check === 'version:mariadb')).toStrictEqual({
      check: 'version:mariadb',
      ok: true,
      detail: `services.yaml declares MariaDB ${series} and mariadbd ${tested.text} is installed`,
    });
    const up = await fleet.run(['up']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).not.toContain('note:');
    expect((await fleet.run(['down', '--destroy', '--yes'])).code).toBe(0);
  });
});
