// <stateDir>/secrets.env: generated account passwords, `KEY=value` lines, mode 0600.
// The one module that reads or writes it (provision fills it; `dbps connect` reads it).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { OperationalError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { shellQuote } from '../util/shell-quote.js';
import { acquireLock } from './lock.js';

export type Secrets = Map<string, string>;

/** Path of the secrets file inside a state directory. */
export function secretsPath(stateDir: string): string {
  return path.join(stateDir, 'secrets.env');
}

/** A shell variable name: what `set -a; . secrets.env` and `docker compose --env-file` accept as a key. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One part of a key. A name of letters and digits joined by single `_` is written as it is (`orders_app`);
 * any other name as `_` + the upper-case hex of its UTF-8 bytes (`_2D6462` for `-db`). Neither form holds
 * `__` or ends in `_`, and only the hex form starts with `_`, so `__` between the parts can be split again.
 */
function keyPart(name: string): string {
  if (/^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*$/.test(name)) return name;
  return `_${Buffer.from(name, 'utf8').toString('hex').toUpperCase()}`;
}

function unKeyPart(part: string): string | undefined {
  if (/^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*$/.test(part)) return part;
  if (/^_(?:[0-9A-F]{2})+$/.test(part)) return Buffer.from(part.slice(1), 'hex').toString('utf8');
  return undefined;
}

const KEY_PREFIX = 'DBPS_PASSWORD__';

/**
 * `DBPS_PASSWORD__<server>__<user>`: a shell name (so the file can be sourced), one key per (server, user)
 * pair, reversible (parseSecretKey). The dotted form before it (`DBPS_PASSWORD.<server>.<user>`) is read and
 * rewritten; the upper-case form before that (legacySecretKey) let server `a` + user `b_app` and server `a_b`
 * + user `app` share one key, and so one password.
 */
export function secretKey(server: string, user: string): string {
  return `${KEY_PREFIX}${keyPart(server)}__${keyPart(user)}`;
}

/** The (server, user) of a secretKey, or undefined for any other key (used to list and migrate keys). */
export function parseSecretKey(key: string): SecretOwner | undefined {
  if (!key.startsWith(KEY_PREFIX)) return undefined;
  const rest = key.slice(KEY_PREFIX.length);
  const sep = rest.indexOf('__', 1);
  if (sep < 0) return undefined;
  const server = unKeyPart(rest.slice(0, sep));
  const user = unKeyPart(rest.slice(sep + 2));
  return server !== undefined && user !== undefined ? { server, user } : undefined;
}

/** The (server, user) of the dotted key form (`DBPS_PASSWORD.<server>.<user>`, `%XX` escapes), if it is one. */
function parseDottedKey(key: string): SecretOwner | undefined {
  const m = /^DBPS_PASSWORD\.([^.]+)\.([^.]+)$/.exec(key);
  if (!m) return undefined;
  const decode = (part: string) =>
    Buffer.from(
      part.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  return { server: decode(m[1]!), user: decode(m[2]!) };
}

/** The value of a `KEY=value` line: shell single/double quoting and backslashes undone; an unquoted old value as is. */
function unquoteValue(raw: string): string {
  if (!raw.startsWith("'")) return raw;
  let out = '';
  for (let i = 0; i < raw.length; ) {
    const c = raw[i]!;
    if (c === "'") {
      const close = raw.indexOf("'", i + 1);
      if (close < 0) return out + raw.slice(i + 1);
      out += raw.slice(i + 1, close);
      i = close + 1;
    } else if (c === '\\' && i + 1 < raw.length) {
      out += raw[i + 1];
      i += 2;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
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

/**
 * Parses secrets.env text (blank lines and `#` comments ignored). Values may be single-quoted (the current
 * form) or bare (older files); dotted keys of older files come back under their current secretKey.
 */
export function parseSecrets(text: string): Secrets {
  const out: Secrets = new Map();
  const dotted: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) continue;
    const key = t.slice(0, eq);
    const value = unquoteValue(t.slice(eq + 1));
    const owner = parseDottedKey(key);
    if (owner) dotted.push([secretKey(owner.server, owner.user), value]);
    else out.set(key, value);
  }
  // A key already in the current form wins over its dotted twin.
  for (const [key, value] of dotted) if (!out.has(key)) out.set(key, value);
  return out;
}

// The order localeCompare gives, from one collator: localeCompare makes one per call (ms at 1000s of accounts).
const byName = new Intl.Collator();

/**
 * The file's text for a set of secrets: shell names and single-quoted values only, so that
 * `set -a; . .dbps/secrets.env` and `docker compose --env-file` read it without a word printed.
 */
export function renderSecrets(secrets: Secrets): string {
  return `# Generated by dbps: account passwords. Mode 0600; never commit this file.\n${[...secrets]
    .filter(([k]) => SHELL_NAME.test(k))
    .sort(([a], [b]) => byName.compare(a, b))
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .join('\n')}\n`;
}

/** Reads secrets.env; missing file = no secrets. */
export async function readSecrets(stateDir: string): Promise<Secrets> {
  return parseSecrets((await readSecretsText(stateDir)) ?? '');
}

/** secrets.env's text, or undefined when there is none; refused when it is not a private regular file of ours. */
async function readSecretsText(stateDir: string): Promise<string | undefined> {
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
    return await handle.readFile('utf8');
  } catch (e) {
    if (e instanceof OperationalError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
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
  // The lock names its owner, so a provision killed while holding it does not block the next one.
  const lock = await acquireLock(`${secretsPath(stateDir)}.lock`, { command: 'store passwords', timeoutMs: 30_000 });
  try {
    const text = await readSecretsText(stateDir);
    const secrets = parseSecrets(text ?? '');
    let added = false;
    for (const o of owners) {
      const key = secretKey(o.server, o.user);
      if (secrets.has(key)) continue;
      // An unambiguous old-form key keeps its password under the new key (the old line stays for
      // older dbps versions); an ambiguous one was shared by two accounts, so each gets a new password.
      secrets.set(key, storedPassword(secrets, o.server, o.user, fleetOwners) ?? generatePassword());
      added = true;
    }
    // An older file (dotted keys, bare values) is rewritten in the sourceable form even when nothing is added.
    const body = renderSecrets(secrets);
    if (added || (text !== undefined && text !== body))
      await writeFileAtomic(secretsPath(stateDir), body, { mode: 0o600 });
    return secrets;
  } finally {
    await lock.release();
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

/**
 * Stores given passwords under their owners' keys (replacing what is there), under the same lock as
 * ensureSecrets: `dbps move` gives an account on its new server the password it had on the old one.
 */
export async function storeSecrets(
  stateDir: string,
  entries: readonly { owner: SecretOwner; password: string }[],
): Promise<void> {
  if (entries.length === 0) return;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const lock = await acquireLock(`${secretsPath(stateDir)}.lock`, { command: 'store passwords', timeoutMs: 30_000 });
  try {
    const secrets = parseSecrets((await readSecretsText(stateDir)) ?? '');
    for (const e of entries) secrets.set(secretKey(e.owner.server, e.owner.user), e.password);
    await writeFileAtomic(secretsPath(stateDir), renderSecrets(secrets), { mode: 0o600 });
  } finally {
    await lock.release();
  }
}

/** Removes the keys of the given owners (a moved service's accounts on the server it left, at `move --finish`). */
export async function forgetSecrets(stateDir: string, owners: readonly SecretOwner[]): Promise<void> {
  if (owners.length === 0) return;
  const lock = await acquireLock(`${secretsPath(stateDir)}.lock`, { command: 'store passwords', timeoutMs: 30_000 });
  try {
    const text = await readSecretsText(stateDir);
    if (text === undefined) return;
    const secrets = parseSecrets(text);
    let removed = false;
    for (const o of owners) removed = secrets.delete(secretKey(o.server, o.user)) || removed;
    if (removed) await writeFileAtomic(secretsPath(stateDir), renderSecrets(secrets), { mode: 0o600 });
  } finally {
    await lock.release();
  }
}
