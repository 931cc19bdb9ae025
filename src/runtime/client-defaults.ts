// Credentials for child processes (the mariadb client, mariadb-backup) travel in a 0600 option file
// in a private temp directory, never on the command line where `ps` shows them.
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface ClientConnection {
  user: string;
  password?: string;
  socket?: string;
  host?: string;
  port?: number;
}

/** Quotes an option-file value: double quotes, with backslash and quote escaped (the client unescapes them). */
export function optionValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** The [client] group text for a connection. */
export function clientOptionText(c: ClientConnection): string {
  const lines = ['[client]', `user=${optionValue(c.user)}`];
  if (c.password !== undefined) lines.push(`password=${optionValue(c.password)}`);
  if (c.socket) {
    lines.push(`socket=${optionValue(c.socket)}`, 'protocol=SOCKET');
  } else {
    lines.push(`host=${optionValue(c.host ?? '127.0.0.1')}`, `port=${c.port ?? 3306}`, 'protocol=TCP');
  }
  return `${lines.join('\n')}\n`;
}

export interface TempDefaultsFile {
  path: string;
  /** Deletes the file and its directory; safe to call twice. */
  remove(): Promise<void>;
}

/** Writes the connection's option file (0600 in a 0700 directory) for `--defaults-extra-file`. */
export async function writeClientDefaults(c: ClientConnection): Promise<TempDefaultsFile> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-client-'));
  await chmod(dir, 0o700);
  const file = path.join(dir, 'client.cnf');
  // Last resort for a process that ends without running the caller's cleanup (process.exit, a fatal
  // error): the 'exit' event still fires. Signals are the caller's job (see commands/connect.ts).
  const onExit = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', onExit);
  try {
    await writeFile(file, clientOptionText(c), { mode: 0o600 });
  } catch (e) {
    process.off('exit', onExit);
    onExit();
    throw e;
  }
  return {
    path: file,
    remove: async () => {
      process.off('exit', onExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
