// MariaDB versions as values, parsed once and passed explicitly to code that depends on them.

export interface ServerVersion {
  major: number;
  minor: number;
  patch: number;
  /** As written, e.g. "11.8" or "10.11.19-MariaDB-0+deb12u1". */
  text: string;
}

/** Parses "11.8", "10.11.19" or a full version string such as "10.11.19-MariaDB-0+deb12u1". */
export function parseVersion(text: string): ServerVersion {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) throw new Error(`not a MariaDB version: ${text}`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), text };
}

/** -1, 0 or 1 comparing major.minor.patch. */
export function compareVersions(a: ServerVersion, b: ServerVersion): number {
  return Math.sign(a.major - b.major || a.minor - b.minor || a.patch - b.patch);
}

/** True when `v` is `major.minor[.patch]` or later. */
export function atLeast(v: ServerVersion, major: number, minor = 0, patch = 0): boolean {
  return compareVersions(v, { major, minor, patch, text: '' }) >= 0;
}

/** "10.11" from a version. */
export function seriesOf(v: ServerVersion): string {
  return `${v.major}.${v.minor}`;
}
