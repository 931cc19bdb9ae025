// Turns any thrown value into the one-sentence message users see (stack only with -v).
import { ConfigError, DbpsError, ExitCode, type ExitCodeValue } from '../errors.js';
import { printable, printableLines } from '../util/printable.js';

export interface ErrorReport {
  exitCode: ExitCodeValue;
  text: string;
  json: { error: { message: string; exitCode: number; hint?: string; issues?: unknown[]; server?: string } };
}

/** Message, exit code and JSON form of an error. */
export function describeError(e: unknown, verbose: boolean): ErrorReport {
  if (e instanceof ConfigError) {
    // One line per issue, whatever a name echoed in it holds.
    const file = printable(e.file);
    const lines = e.issues.map((i) => `${file}:${i.line}:${i.column}: ${printable(i.message)}`);
    const text = `${lines.join('\n')}\n${e.issues.length} problem${e.issues.length === 1 ? '' : 's'} in ${file}\n`;
    return {
      exitCode: ExitCode.usage,
      text,
      json: { error: { message: e.message, exitCode: ExitCode.usage, issues: e.issues } },
    };
  }
  if (e instanceof DbpsError) {
    const where = e.where ? `${printable(e.where.file)}:${e.where.line}:${e.where.column}: ` : '';
    const server = 'server' in e && typeof e.server === 'string' ? e.server : undefined;
    // Messages echo names from the command line and state files: escape sequences never reach the terminal.
    let text = `error: ${where}${printableLines(e.message)}\n`;
    if (e.hint) text += `hint: ${printableLines(e.hint)}\n`;
    if (verbose && e.stack) text += `${e.stack}\n`;
    if (verbose && e.cause instanceof Error && e.cause.stack) text += `caused by: ${e.cause.stack}\n`;
    return {
      exitCode: e.exitCode,
      text,
      json: {
        error: {
          message: e.message,
          exitCode: e.exitCode,
          ...(e.hint ? { hint: e.hint } : {}),
          ...(server ? { server } : {}),
        },
      },
    };
  }
  const message = e instanceof Error ? e.message : String(e);
  let text = `error: ${printableLines(message)}\nthis is a bug in dbps; rerun with -v and report it\n`;
  if (verbose && e instanceof Error && e.stack) text += `${e.stack}\n`;
  return { exitCode: ExitCode.operational, text, json: { error: { message, exitCode: ExitCode.operational } } };
}
