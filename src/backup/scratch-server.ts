// A throwaway mariadbd on a copy of a backup, for verify: socket only (no TCP) in a private
// directory, no grant tables, no binlog, small buffer pool. Stopped (and its copy removed) by the caller.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OperationalError } from '../errors.js';
import { MAX_SOCKET_PATH } from '../runtime/paths.js';
import {
  diesWithParent,
  privateDir,
  trackChild,
  trackScratchDir,
  untrackChild,
  untrackScratchDir,
} from '../runtime/run-dir.js';
import { toolEnv } from './proc.js';

export interface ScratchServer {
  socket: string;
  exited(): boolean;
  stop(): Promise<void>;
}

/**
 * Starts mariadbd on `datadir` (a prepared backup copy holding backup-my.cnf) and waits until it
 * answers. It runs without grant tables, so it listens on no TCP port at all (skip_networking) and
 * its socket sits in `workDir`, a 0700 directory of this user: no other local user reaches it. It dies
 * with dbps (pdeathsig, signal handlers) and is recorded in the run dir for the next start to end.
 */
export async function startScratchServer(datadir: string, workDir: string, server: string): Promise<ScratchServer> {
  let socketDir = workDir;
  if (Buffer.byteLength(path.join(workDir, 'scratch.sock.lock')) > MAX_SOCKET_PATH) {
    // Too deep for a socket path: a fresh private directory (random name, made exclusively, 0700).
    socketDir = await mkdtemp(path.join(os.tmpdir(), 'dbps-scratch-'));
    trackScratchDir(socketDir);
  }
  privateDir(socketDir);
  const socket = path.join(socketDir, 'scratch.sock');
  const logError = path.join(workDir, 'scratch-error.log');
  const args = [
    `--defaults-file=${path.join(datadir, 'backup-my.cnf')}`,
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    `--datadir=${datadir}`,
    '--skip-networking',
    `--socket=${socket}`,
    `--pid-file=${path.join(workDir, 'scratch.pid')}`,
    `--log-error=${logError}`,
    `--tmpdir=${workDir}`,
    '--skip-grant-tables',
    '--skip-log-bin',
    '--innodb-buffer-pool-size=32M',
    '--performance-schema=OFF',
    '--skip-slave-start',
  ];
  const [file, argv] = diesWithParent('mariadbd', args);
  const child = spawn(file, argv, { stdio: 'ignore', env: toolEnv() });
  trackChild(child.pid);
  let gone = false;
  child.on('exit', () => {
    gone = true;
    untrackChild(child.pid);
    if (socketDir !== workDir) {
      rmSync(socketDir, { recursive: true, force: true });
      untrackScratchDir(socketDir);
    }
  });
  child.on('error', () => {
    gone = true;
    untrackChild(child.pid);
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
