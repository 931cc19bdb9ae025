// The one place where SQL text is assembled from names. Values travel as `?` parameters.

/** A backtick-quoted identifier with inner backticks doubled. */
export function ident(name: string): string {
  if (name.includes('\u0000')) throw new Error('identifier contains a NUL byte');
  return `\`${name.replace(/`/g, '``')}\``;
}

/** A single-quoted string literal, for the few places the server accepts no placeholder (account names). */
export function literal(value: string): string {
  if (value.includes('\u0000')) throw new Error('literal contains a NUL byte');
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** `'user'@'host'`. */
export function account(user: string, host: string): string {
  return `${literal(user)}@${literal(host)}`;
}

/** A database name as a LIKE pattern for database-level GRANT: `_` and `%` would be wildcards there. */
export function dbPatternText(name: string): string {
  return name.replace(/\\/g, '\\\\').replace(/_/g, '\\_').replace(/%/g, '\\%');
}

/** Quoted, escaped database name for `GRANT … ON <db>.*`. */
export function dbPattern(name: string): string {
  return ident(dbPatternText(name));
}
