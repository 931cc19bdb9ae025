// A throwaway server for the benchmarks, started the way users' servers are: `dbps up` of a one-server
// fleet in a temp dir, from its own generated my.cnf (profile oltp, 512M), on a free port of
// 127.0.0.1. Benchmarks reach it as root over TCP through an extra root@127.0.0.1 account (dbps's
// root is socket-only). Stopped and removed when the bench process exits.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'dbps');

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts the server through `dbps up` and returns where it listens; `stop()` stops and destroys it. */
export async function startThrowawayServer(prefix, { memory = '512M', profile = 'oltp' } = {}) {
  const work = mkdtempSync(path.join(os.tmpdir(), prefix));
  // As root, dbps runs mariadbd as an unprivileged account, which must be able to pass through.
  chmodSync(work, 0o711);
  const fleetDir = path.join(work, 'server');
  execFileSync('mkdir', ['-p', fleetDir]);
  const port = await freePort();
  writeFileSync(
    path.join(fleetDir, 'services.yaml'),
    `version: 1\nfleet: benchsrv\nservers:\n  bench: { driver: local, profile: ${profile}, memory: ${memory}, port: ${port} }\nservices:\n  bench_host: { server: bench }\n`,
  );
  const dbps = (args) => spawnSync(BIN, ['-q', ...args], { cwd: fleetDir, encoding: 'utf8' });
  const up = dbps(['up']);
  if (up.status !== 0) throw new Error(`dbps up of the bench server failed (${up.status}):\n${up.stderr}`);
  const state = JSON.parse(readFileSync(path.join(fleetDir, '.dbps', 'state.json'), 'utf8'));
  const sock = state.servers.bench.socket;
  // The mariadb *client*, with no option file of its own, on the socket of the server `dbps up` just
  // started from its generated my.cnf: the server measured is never started with --no-defaults.
  execFileSync('mariadb', ['--no-defaults', '-uroot', '-S', sock], {
    input:
      "CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;",
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    dbps(['down', '--destroy', '--yes']);
  };
  process.on('exit', () => {
    if (!stopped) spawnSync(BIN, ['-q', 'down', '--destroy', '--yes'], { cwd: fleetDir });
    rmSync(work, { recursive: true, force: true });
  });
  return { work, port, sock, stop };
}
