// A throwaway mariadbd for the benchmarks: fresh datadir in a temp dir, free port on 127.0.0.1, a
// socket, a 128M buffer pool; stopped and removed when the bench process exits.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts the server (not yet waited for) and returns where it listens; `stop()` waits for its exit. */
export async function startThrowawayServer(prefix) {
  const work = mkdtempSync(path.join(os.tmpdir(), prefix));
  const datadir = path.join(work, 'data');
  const sock = path.join(work, 'mysqld.sock');
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  const port = await freePort();
  execFileSync(
    'mariadb-install-db',
    ['--no-defaults', ...asRoot, `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
    { stdio: 'ignore' },
  );
  const server = spawn(
    'mariadbd',
    [
      '--no-defaults',
      ...asRoot,
      `--datadir=${datadir}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${sock}`,
      '--innodb-buffer-pool-size=128M',
      '--skip-name-resolve',
      '--performance-schema=OFF',
      `--log-error=${path.join(work, 'error.log')}`,
    ],
    { stdio: 'ignore' },
  );
  process.on('exit', () => {
    server.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  });
  return {
    work,
    port,
    sock,
    stop: async () => {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    },
  };
}
