// Credentials for child processes (the mariadb client, mariadb-backup) travel in a 0600 option file
// in dbps's private run directory under the state dir, never on the command line where `ps` shows them.
import { rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { killTrackedChildren, processDir, removeProcessDir } from './run-dir.js';
import { clientTlsLines, type TlsTarget } from './tls.js';

export interface ClientConnection {
  user: string;
  password?: string;
  socket?: string;
  host?: string;
  port?: number;
  /** TLS over TCP (the mode's ssl lines); ignored over a socket, where TLS protects nothing. */
  tls?: TlsTarget;
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
    if (c.tls) lines.push(...clientTlsLines(c.tls, optionValue));
  }
  return `${lines.join('\n')}\n`;
}

export interface TempDefaultsFile {
  path: string;
  /** Deletes the file; safe to call twice. */
  remove(): Promise<void>;
}

// Option files still on disk, so that an exit or a fatal signal removes them even when the code that
// wrote one never reaches its cleanup; after a SIGKILL the next dbps start sweeps them (run-dir.ts).
const live = new Set<string>();
let exitHook = false;
let counter = 0;

/** Removes every option file this process wrote and has not removed yet, and ends its children (synchronous: safe in 'exit'). */
export function removeLiveOptionFiles(): void {
  killTrackedChildren();
  for (const file of live) rmSync(file, { force: true });
  live.clear();
  removeProcessDir();
}

/**
 * Writes an option file (0600 in this process's 0700 directory under the state dir, never in a
 * shared /tmp) for `--defaults-extra-file` or `--defaults-file`; the caller removes it when the child is done.
 */
export async function writeOptionFile(text: string): Promise<TempDefaultsFile> {
  const file = path.join(processDir(), `client-${++counter}.cnf`);
  live.add(file);
  if (!exitHook) {
    // Last resort for a process that ends without running the caller's cleanup (process.exit, a
    // fatal error): the 'exit' event still fires. Signals: see removeOptionFilesOnSignals.
    process.on('exit', removeLiveOptionFiles);
    exitHook = true;
  }
  try {
    await writeFile(file, text, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    live.delete(file);
    rmSync(file, { force: true });
    throw e;
  }
  return {
    path: file,
    remove: async () => {
      live.delete(file);
      await rm(file, { force: true });
    },
  };
}

/** Writes the connection's option file (0600 in a 0700 directory) for `--defaults-extra-file`. */
export function writeClientDefaults(c: ClientConnection): Promise<TempDefaultsFile> {
  return writeOptionFile(clientOptionText(c));
}

const FATAL_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Makes SIGINT/SIGTERM/SIGHUP remove the live option files before dbps dies (Node's default for
 * these signals skips the 'exit' event). A command that watches a signal itself (connect forwards
 * them to its client and cleans up after it) keeps it: this handler then stays out of the way.
 */
export function removeOptionFilesOnSignals(): void {
  if (!exitHook) {
    process.on('exit', removeLiveOptionFiles);
    exitHook = true;
  }
  for (const sig of FATAL_SIGNALS) {
    process.on(sig, () => {
      if (process.listenerCount(sig) > 1) return;
      removeLiveOptionFiles();
      process.exit(128 + (os.constants.signals[sig] ?? 1));
    });
  }
}
