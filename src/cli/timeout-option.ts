// --timeout, the same on every command that talks to servers: one bound for connecting and for each
// statement (a server that does not answer in time is reported, exit 3, while the others finish).
import { UsageError } from '../errors.js';
import type { OptionSpec } from './spec.js';

/** The option as commands declare it (no default: services.yaml's defaults.connectTimeout, then 10 s / 60 s). */
export const TIMEOUT_OPTION: OptionSpec = {
  flags: '--timeout <seconds>',
  help: 'longest wait for a server, to connect and for each statement (default: connect 10 s or defaults.connectTimeout, statement 60 s); a server that does not answer is reported (exit 3)',
};

/** Seconds from --timeout, or undefined when not given; a non-positive or non-numeric value is a usage error. */
export function parseTimeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 86_400)
    throw new UsageError(`--timeout: "${String(value)}" is not a number of seconds between 0 and 86400`, {
      hint: 'e.g. --timeout 30',
    });
  return n;
}
