// <stateDir>/secrets.env: generated account passwords, `KEY=value` lines, mode 0600.
// The one module that reads or writes it (provision fills it; `dbps connect` reads it).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { OperationalError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export type Secrets = Map<string, string>;

/** Path of the secrets file inside a state directory. */
export function secretsPath(stateDir: string): string {
  return path.join(stateDir, 'secrets.env');
}

/** One part of a key: letters, digits, `_` and `-` as they are, anything else (`.`, `=`, `%` …) as %XX. */
function keyPart(name: string): string {
  if (/^[A-Za-z0-9_-]*$/.test(name)) return name; // the common case, without a byte walk
  return [...Buffer.from(name, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9_-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/**
 * `DBPS_PASSWORD.<server>.<user>`: names kept as they are (case included) and `.` escaped, so every
 * (server, user) pair has its own key. The old form (see legacySecretKey) let server `a` + user `b_app`
 * and server `a_b` + user `app` share one key, and so one password.
 */
export function secretKey(server: string, user: string): string {
  return `DBPS_PASSWORD.${keyPart(server)}.${keyPart(user)}`;
}

/** The key dbps wrote before secretKey was made unambiguous; still read where only one account maps to it. */
export function legacySecretKey(server: string, user: string): string {
  return `DBPS_PASSWORD_${server}_${user}`.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** A (server, user) pair whose password may be stored in secrets.env. */
export interface SecretOwner {
  server: string;
  user: string;
}

/**
 * An account's stored password: its own key, else its old-form key unless that key is ambiguous, i.e.
 * another of `owners` (the fleet's accounts; omitted = unknown, then the old key is trusted) maps to it.
 */
export function storedPassword(
  secrets: Secrets,
  server: string,
  user: string,
  owners?: Iterable<SecretOwner>,
): string | undefined {
  const own = secrets.get(secretKey(server, user));
  if (own !== undefined) return own;
  const legacy = legacySecretKey(server, user);
  if (!secrets.has(legacy)) return undefined;
  if (owners) {
    for (const o of owners) {
      if ((o.server !== server || o.user !== user) && legacySecretKey(o.server, o.user) === legacy) return undefined;
    }
  }
  return secrets.get(legacy);
}

/** A new crypto-strong password: 32 URL-safe characters (192 bits). */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/** Parses secrets.env text (blank lines and `#` comments ignored). */
export function parseSecrets(text: string): Secrets {
  const out: Secrets = new Map();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq > 0) out.set(t.slice(0, eq), t.slice(eq + 1));
  }
  return out;
}

/** Reads secrets.env; missing file = no secrets. */
export async function readSecrets(stateDir: string): Promise<Secrets> {
  const file = secretsPath(stateDir);
  let handle: FileHandle | undefined;
  try {
    // O_NOFOLLOW: a symlink planted here would make its target's lines passwords (or leak them).
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = await handle.stat();
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
      throw new OperationalError(
        `${file} is ${!st.isFile() ? 'not a regular file' : st.uid !== uid ? `owned by uid ${st.uid}, not by this user` : `readable by others (mode ${(st.mode & 0o777).toString(8)})`}; dbps does not trust passwords in it`,
        {
          hint: `check who made it; if it is yours: \`chmod 600 ${file}\`, else remove it and run \`dbps provision\` again`,
        },
      );
    }
    return parseSecrets(await handle.readFile('utf8'));
  } catch (e) {
    if (e instanceof OperationalError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new OperationalError(`${file} is a symbolic link; dbps does not read passwords through it`, {
        hint: `remove the link (\`rm ${file}\`) and run \`dbps provision\` again: it writes a regular 0600 file`,
      });
    }
    throw new OperationalError(
      `cannot read ${secretsPath(stateDir)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        hint: 'it must be readable by the user running dbps (mode 0600)',
      },
    );
  } finally {
    await handle?.close();
  }
}

async function writeSecrets(stateDir: string, secrets: Secrets): Promise<void> {
  const body = `# Generated by dbps: account passwords. Mode 0600; never commit this file.\n${[...secrets]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
  await writeFileAtomic(secretsPath(stateDir), body, { mode: 0o600 });
}

/**
 * Makes sure every owner has a password under its key, generating and storing the missing ones once. A lock file
 * serialises concurrent provisions, so two processes never store two different passwords for one key.
 */
export async function ensureSecrets(
  stateDir: string,
  owners: readonly SecretOwner[],
  fleetOwners: readonly SecretOwner[] = owners,
): Promise<Secrets> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const lock = `${secretsPath(stateDir)}.lock`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await (await open(lock, 'wx', 0o600)).close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new OperationalError(`cannot create ${lock}: ${(e as Error).message}`);
      if (Date.now() > deadline) {
        throw new OperationalError(`${lock} has been held for 30 s`, {
          hint: 'another dbps is storing passwords; if none runs, delete the lock file',
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    const secrets = await readSecrets(stateDir);
    let added = false;
    for (const o of owners) {
      const key = secretKey(o.server, o.user);
      if (secrets.has(key)) continue;
      // An unambiguous old-form key keeps its password under the new key (the old line stays for
      // older dbps versions); an ambiguous one was shared by two accounts, so each gets a new password.
      secrets.set(key, storedPassword(secrets, o.server, o.user, fleetOwners) ?? generatePassword());
      added = true;
    }
    if (added) await writeSecrets(stateDir, secrets);
    return secrets;
  } finally {
    await rm(lock, { force: true });
  }
}

/** Where an account's password comes from: its passwordEnv, else the generated secret. */
export interface PasswordSource {
  server: string;
  user: string;
  passwordEnv?: string;
}

/**
 * The password of an account (env first, then secrets.env); undefined when neither has one. An empty
 * passwordEnv value counts as unset. `owners` (the fleet's accounts) lets an ambiguous old key be refused.
 */
export function passwordFor(
  source: PasswordSource,
  secrets: Secrets,
  env: NodeJS.ProcessEnv = process.env,
  owners?: Iterable<SecretOwner>,
): string | undefined {
  if (source.passwordEnv) return env[source.passwordEnv] || undefined;
  return storedPassword(secrets, source.server, source.user, owners);
}
