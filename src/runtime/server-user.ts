// The OS account local mariadbd servers run as. As root, dbps never runs a server as root: it uses
// an unprivileged system account (`mysql`, made with useradd when missing) that owns each server's
// directory and nothing else. As anyone else, servers run as that user.
import { execFile } from 'node:child_process';
import { constants, lstatSync } from 'node:fs';
import { chmod, chown, lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { OperationalError } from '../errors.js';

const execFileAsync = promisify(execFile);

export interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

/** The account local servers run as when dbps is root (DBPS_SERVER_USER overrides `mysql`). */
export function serverUserName(env: NodeJS.ProcessEnv): string {
  return env.DBPS_SERVER_USER || 'mysql';
}

async function lookup(name: string): Promise<ServerUser | undefined> {
  try {
    const { stdout } = await execFileAsync('getent', ['passwd', name], { timeout: 10_000 });
    const f = stdout.trim().split(':');
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? { name, uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The unprivileged account for servers when dbps runs as root (undefined otherwise): looked up, and
 * created as a system account without a login shell when missing.
 */
export async function serverUser(env: NodeJS.ProcessEnv): Promise<ServerUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const name = serverUserName(env);
  // An explicit choice to keep servers as root (a project below a 0700 home, e.g. /root).
  if (name === 'root') return undefined;
  const found = await lookup(name);
  if (found) return found;
  try {
    await execFileAsync(
      'useradd',
      [
        '--system',
        '--user-group',
        '--no-create-home',
        '--home-dir',
        '/nonexistent',
        '--shell',
        '/usr/sbin/nologin',
        name,
      ],
      { timeout: 30_000 },
    );
  } catch (e) {
    throw new OperationalError(
      `cannot create the system user "${name}" that local servers run as: ${(e as Error).message.split('\n')[0]}`,
      { hint: `create it (\`useradd --system ${name}\`), or name an existing unprivileged user in DBPS_SERVER_USER` },
    );
  }
  const made = await lookup(name);
  if (!made) throw new OperationalError(`the system user "${name}" was created but cannot be looked up`);
  return made;
}

/** Gives a directory tree to the server's account (never following symlinks). */
export async function chownTree(dir: string, user: ServerUser): Promise<void> {
  const st = await lstat(dir);
  if (st.isSymbolicLink()) return;
  if (st.uid !== user.uid || st.gid !== user.gid) await chown(dir, user.uid, user.gid);
  if (!st.isDirectory()) return;
  for (const entry of await readdir(dir)) await chownTree(path.join(dir, entry), user);
}

/**
 * The directories above a server's own directory must let its account pass (x), and nothing more:
 * the state dir and its servers/ directory become 0711, everything else is checked and, when it
 * does not let others pass, refused with the fix.
 */
export async function openPathTo(server: string, dir: string, stateDir: string, user: ServerUser): Promise<void> {
  const state = path.resolve(stateDir);
  for (const d of [state, path.join(state, 'servers')]) {
    const st = lstatSync(d);
    if ((st.mode & 0o777) !== 0o711) await chmod(d, 0o711);
  }
  for (let d = path.dirname(state); ; d = path.dirname(d)) {
    const st = lstatSync(d);
    const passes =
      (st.mode & constants.S_IXOTH) !== 0 ||
      (st.uid === user.uid && (st.mode & constants.S_IXUSR) !== 0) ||
      (st.gid === user.gid && (st.mode & constants.S_IXGRP) !== 0);
    if (!passes) {
      throw new OperationalError(
        `server "${server}": ${d} (mode ${(st.mode & 0o777).toString(8)}) does not let the user "${user.name}" that the server runs as reach ${dir}`,
        {
          server,
          hint: `let others pass through it (\`chmod o+x ${d}\`: they still cannot list or read it), run dbps as a non-root user, or set DBPS_SERVER_USER=root to run servers as root`,
        },
      );
    }
    if (path.dirname(d) === d) break;
  }
}
