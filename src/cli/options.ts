// Global options as data, resolved by a pure function: flag beats env beats default.
import path from 'node:path';
import { UsageError } from '../errors.js';

export interface GlobalOptions {
  /** services.yaml path as given (relative paths stay relative for messages). */
  file: string;
  /** Absolute path of services.yaml. */
  fileAbs: string;
  /** State directory (.dbps/ beside the file unless --state-dir). */
  stateDir: string;
  json: boolean;
  color: boolean;
  quiet: boolean;
  verbose: boolean;
  /** How long a command that changes the fleet waits for another one holding the fleet lock (--lock-timeout). */
  lockTimeoutMs: number;
}

export interface GlobalFlags {
  file?: string;
  stateDir?: string;
  json?: boolean;
  color?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  lockTimeout?: string;
}

/** Default of --lock-timeout, in seconds. */
export const DEFAULT_LOCK_TIMEOUT_S = 30;

/** Global flags in commander form; cli.ts registers them and the README lists them. */
export const GLOBAL_OPTIONS = [
  { flags: '-f, --file <path>', help: 'fleet file (env DBPS_FILE)', defaultText: './services.yaml' },
  {
    flags: '--state-dir <dir>',
    help: 'state directory: servers, secrets, backups (env DBPS_STATE_DIR)',
    defaultText: '.dbps/ beside the file',
  },
  { flags: '--json', help: 'print one JSON document on stdout; progress goes to stderr' },
  { flags: '--no-color', help: 'plain output (also NO_COLOR)' },
  { flags: '-q, --quiet', help: 'print only results and errors' },
  { flags: '-v, --verbose', help: 'more detail, and stack traces on errors' },
  {
    flags: '--lock-timeout <seconds>',
    help: 'how long a command that changes servers or state waits for another one to finish (env DBPS_LOCK_TIMEOUT)',
    defaultText: `${DEFAULT_LOCK_TIMEOUT_S}`,
  },
] as const;

/** Resolves global flags against the environment; pure. */
export function resolveGlobalOptions(flags: GlobalFlags, env: NodeJS.ProcessEnv, cwd: string): GlobalOptions {
  const file = flags.file ?? env.DBPS_FILE ?? 'services.yaml';
  const fileAbs = path.resolve(cwd, file);
  const stateDirRaw = flags.stateDir ?? env.DBPS_STATE_DIR;
  const stateDir = stateDirRaw ? path.resolve(cwd, stateDirRaw) : path.join(path.dirname(fileAbs), '.dbps');
  const color = flags.color !== false && env.NO_COLOR === undefined && env.FORCE_COLOR !== '0';
  return {
    file,
    fileAbs,
    stateDir,
    json: flags.json === true,
    color,
    quiet: flags.quiet === true,
    verbose: flags.verbose === true,
    lockTimeoutMs: parseLockTimeout(flags.lockTimeout ?? env.DBPS_LOCK_TIMEOUT),
  };
}

/** --lock-timeout / DBPS_LOCK_TIMEOUT: seconds, 0 or more; anything else is a usage error. */
export function parseLockTimeout(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_LOCK_TIMEOUT_S * 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 86_400)
    throw new UsageError(`--lock-timeout "${raw}" is not a number of seconds between 0 and 86400`, {
      hint: 'e.g. --lock-timeout 120, or 0 to fail at once when another dbps holds the fleet',
    });
  return Math.round(value * 1000);
}
