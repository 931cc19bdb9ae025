// What a command looks like to the CLI: help text, options and a lazy runner. No heavy imports here.
import type { Output } from '../ui/output.js';

export interface OptionSpec {
  flags: string;
  help: string;
  defaultValue?: string | boolean | string[];
  /** Values the option accepts; anything else is a usage error (exit 2). */
  choices?: readonly string[];
}

export interface CommandContext {
  /** Positional arguments (variadic ones flattened). */
  args: string[];
  /** Command options, commander's camelCase keys. */
  opts: Record<string, unknown>;
  io: Output;
}

export interface CommandSpec {
  name: string;
  /** Positional argument syntax, e.g. `[service...]` or `<service>`. */
  args?: string;
  summary: string;
  description?: string;
  options: OptionSpec[];
  examples: string[];
  /** Exit codes this command returns, with their meaning. */
  exitCodes: Partial<Record<0 | 1 | 2 | 3, string>>;
  /**
   * True (or a test of the arguments) when the command changes servers or state: it then runs under the
   * state dir's fleet lock, waiting up to --lock-timeout for another writer. Read-only commands never wait.
   */
  writes?: boolean | ((ctx: { args: string[]; opts: Record<string, unknown> }) => boolean);
  /** Loads the command and its renderer lazily, runs it, prints, and returns the exit code. */
  run(ctx: CommandContext): Promise<number>;
}
