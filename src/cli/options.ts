// Global options as data, resolved by a pure function: flag beats env beats default.
import path from 'node:path';

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
}

export interface GlobalFlags {
  file?: string;
  stateDir?: string;
  json?: boolean;
  color?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

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
  };
}
