// Where text goes: results to stdout, progress/logs/warnings to stderr. Only the CLI layer uses this.
import type { GlobalOptions } from '../cli/options.js';
import { makePaint, type Paint } from './paint.js';

export interface Output {
  readonly opts: GlobalOptions;
  /** Colour for stdout. */
  readonly paint: Paint;
  /** Colour for stderr. */
  readonly paintErr: Paint;
  /** A result on stdout. */
  out(text: string): void;
  /** One JSON document on stdout (`--json`). */
  json(doc: unknown): void;
  /** A progress or information line on stderr (silenced by -q). */
  info(text: string): void;
  /** A warning on stderr (kept under -q). */
  warn(text: string): void;
  /** Detail only under -v. */
  debug(text: string): void;
}

/** Output bound to this process's streams. */
export function processOutput(opts: GlobalOptions): Output {
  const paint = makePaint(opts.color, process.stdout.isTTY);
  const paintErr = makePaint(opts.color, process.stderr.isTTY);
  const nl = (t: string) => (t.endsWith('\n') ? t : `${t}\n`);
  return {
    opts,
    paint,
    paintErr,
    out: (t) => void process.stdout.write(t),
    json: (doc) => void process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`),
    info: (t) => {
      if (!opts.quiet) process.stderr.write(nl(t));
    },
    warn: (t) => void process.stderr.write(nl(`${paintErr.warn('warning:')} ${t}`)),
    debug: (t) => {
      if (opts.verbose) process.stderr.write(nl(paintErr.dim(t)));
    },
  };
}
