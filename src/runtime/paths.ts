// Where a local server keeps its files under the state dir, and where its socket goes.
import { createHash } from 'node:crypto';
import path from 'node:path';

/** Unix socket paths are limited to 108 bytes (sun_path) including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

export interface ServerFiles {
  dir: string;
  datadir: string;
  tmpdir: string;
  /** secure_file_priv: the one directory the server's file functions may read or write. */
  files: string;
  cnf: string;
  logError: string;
  pidFile: string;
  socket: string;
  /** Directory made only to hold the socket when the natural place is too long; removed by --destroy. */
  socketDir?: string;
}

/** Every path of one local server. Pure: the same state dir and name always give the same paths. */
export function serverFiles(stateDir: string, name: string): ServerFiles {
  const dir = path.join(path.resolve(stateDir), 'servers', name);
  const files: ServerFiles = {
    dir,
    datadir: path.join(dir, 'data'),
    tmpdir: path.join(dir, 'tmp'),
    files: path.join(dir, 'files'),
    cnf: path.join(dir, 'my.cnf'),
    logError: path.join(dir, 'error.log'),
    pidFile: path.join(dir, 'mysqld.pid'),
    socket: path.join(dir, 'mysqld.sock'),
  };
  // mariadbd also creates "<socket>.lock", so the limit applies to the socket path plus 5 bytes.
  if (Buffer.byteLength(`${files.socket}.lock`) > MAX_SOCKET_PATH) {
    const hash = createHash('sha256').update(dir).digest('hex').slice(0, 12);
    files.socketDir = path.join('/tmp', `dbps-${hash}`);
    const shortName =
      Buffer.byteLength(name) > 40 ? createHash('sha256').update(name).digest('hex').slice(0, 12) : name;
    files.socket = path.join(files.socketDir, `${shortName}.sock`);
  }
  return files;
}
