// POSIX single quoting, shared by secrets.env and `dbps env --format dotenv`. Pure.

/** A value in single quotes, `'` written as `'\''`: the shell and compose's env-file read it literally. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}
