// Typed errors: only cli.ts turns them into an exit code, so every layer can throw freely.

/** Exit codes shared by every command (documented in --help and README). */
export const ExitCode = {
  ok: 0,
  findings: 1,
  usage: 2,
  operational: 3,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A source position inside services.yaml (1-based line and column). */
export interface SourcePlace {
  file: string;
  line: number;
  column: number;
}

/** Base class: carries the exit code, an optional place and a hint on how to fix it. */
export class DbpsError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly where?: SourcePlace;
  readonly hint?: string;
  constructor(
    message: string,
    exitCode: ExitCodeValue,
    opts: { where?: SourcePlace; hint?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    if (opts.where) this.where = opts.where;
    if (opts.hint) this.hint = opts.hint;
  }
}

/** Bad flags, unknown service names, missing confirmation: exit 2. */
export class UsageError extends DbpsError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.usage, opts);
  }
}

/** One problem found in services.yaml. */
export interface ConfigIssue {
  path: string;
  line: number;
  column: number;
  message: string;
}

/** services.yaml is invalid: exit 2, with every issue and its place. */
export class ConfigError extends DbpsError {
  readonly file: string;
  readonly issues: ConfigIssue[];
  constructor(file: string, issues: ConfigIssue[]) {
    const first = issues[0];
    super(
      first
        ? `${file}:${first.line}:${first.column}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`
        : `${file} is invalid`,
      ExitCode.usage,
    );
    this.file = file;
    this.issues = issues;
  }
}

/** A server, a child process or the file system failed: exit 3, naming the server and what to do. */
export class OperationalError extends DbpsError {
  readonly server?: string;
  constructor(message: string, opts: { server?: string; hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.operational, opts);
    if (opts.server) this.server = opts.server;
  }
}

/** Keeps the highest exit code when parallel work each produced one. */
export function highestExitCode(codes: Iterable<number>): ExitCodeValue {
  let highest = 0;
  for (const c of codes) if (c > highest) highest = c;
  return Math.min(highest, 3) as ExitCodeValue;
}
