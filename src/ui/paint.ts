// Colour through one object that does nothing under --no-color / NO_COLOR or when not a TTY.

export interface Paint {
  ok(s: string): string;
  bad(s: string): string;
  warn(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const plain: Paint = { ok: (s) => s, bad: (s) => s, warn: (s) => s, dim: (s) => s, bold: (s) => s };

const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;

const ansi: Paint = { ok: wrap(32, 39), bad: wrap(31, 39), warn: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };

/** A painter for a stream: colour only when wanted and the stream is a terminal. */
export function makePaint(color: boolean, isTTY: boolean | undefined): Paint {
  return color && isTTY ? ansi : plain;
}

export const noPaint = plain;
