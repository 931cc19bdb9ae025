// Names and values from services.yaml, the command line or state files are echoed in messages;
// a control character in one (an escape sequence, a line break) would repaint the terminal or
// forge lines in a CI log. Every such echo goes through these helpers.

// C0 controls, DEL, C1 controls, the Unicode line/paragraph separators and the bidi overrides.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The first control character of a text and its index, or undefined when it has none. */
export function firstControl(text: string): { index: number; char: string } | undefined {
  CONTROL.lastIndex = 0;
  const m = CONTROL.exec(text);
  return m ? { index: m.index, char: m[0] } : undefined;
}

/** How a control character is written in a message: \n, \t, \r, \x1b, \u2028. */
export function escapeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return (
    NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`)
  );
}

/** The text with every control character written as an escape (line breaks too). */
export function printable(text: string): string {
  return text.replace(CONTROL, escapeChar);
}

/** A user-provided name for a message: in double quotes, control characters escaped. */
export function quoted(name: string): string {
  return `"${printable(name)}"`;
}

/** A multi-line message made safe: each line's control characters escaped, its line breaks kept. */
export function printableLines(text: string): string {
  return text
    .split('\n')
    .map((l) => printable(l))
    .join('\n');
}
