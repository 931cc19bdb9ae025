// A throwaway mariadbd on a copy of a backup, for verify: loopback only, own port and socket,
// no grant tables, no binlog, small buffer pool. Stopped (and its copy removed) by the caller.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { OperationalError } from '../errors.js';
import { toolEnv } from './proc.js';

export interface ScratchServer {
  socket: string;
  port: number;
  exited(): boolean;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, picked by the OS. */
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

/** Starts mariadbd on `datadir` (a prepared backup copy holding backup-my.cnf) and waits until it answers. */
export async function startScratchServer(datadir: string, workDir: string, server: string): Promise<ScratchServer> {
  const port = await freePort();
  const socket = path.join(workDir, 'scratch.sock');
  const logError = path.join(workDir, 'scratch-error.log');
  const args = [
    `--defaults-file=${path.join(datadir, 'backup-my.cnf')}`,
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    `--datadir=${datadir}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${socket}`,
    `--pid-file=${path.join(workDir, 'scratch.pid')}`,
    `--log-error=${logError}`,
    `--tmpdir=${workDir}`,
    '--skip-grant-tables',
    '--skip-log-bin',
    '--innodb-buffer-pool-size=32M',
    '--performance-schema=OFF',
    '--skip-slave-start',
    '--skip-networking=0',
  ];
  const child = spawn('mariadbd', args, { stdio: 'ignore', env: toolEnv() });
  let gone = false;
  child.on('exit', () => {
    gone = true;
  });
  child.on('error', () => {
    gone = true;
  });
  const { createConnection } = await import('mariadb');
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const c = await createConnection({ socketPath: socket, user: 'root', connectTimeout: 2000 });
      await c.end();
      break;
    } catch {
      if (gone || Date.now() > deadline) {
        child.kill('SIGKILL');
        const log = await readFile(logError, 'utf8').catch(() => '');
        const errLine =
          log
            .split('\n')
            .filter((l) => /\[ERROR\]/.test(l))
            .pop() ?? 'no error logged';
        throw new OperationalError(`a scratch server on the backup of "${server}" did not start: ${errLine.trim()}`, {
          server,
        });
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  return {
    socket,
    port,
    exited: () => gone,
    async stop() {
      if (gone) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await done;
      clearTimeout(t);
    },
  };
}
