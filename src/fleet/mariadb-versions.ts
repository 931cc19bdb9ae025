// Which MariaDB versions dbps generates for, and the version-dependent defaults of the model. Pure:
// `validate` rejects what `generate` cannot render, so both read the range and the rules from here.
import { atLeast, parseVersion, type ServerVersion } from '../util/version.js';

/** Oldest series dbps supports: binlog_expire_logs_seconds, 80-character user names and the 10.6 option set. */
export const MIN_SUPPORTED: readonly [number, number] = [10, 6];
/** Newest major series whose option set the my.cnf table knows (11.x). */
export const MAX_SUPPORTED_MAJOR = 11;
/** The supported range in words, for messages and the README. */
export const SUPPORTED_RANGE = `${MIN_SUPPORTED.join('.')} to ${MAX_SUPPORTED_MAJOR}.x`;

/** First version with the UCA 14.0.0 collations (utf8mb4_uca1400_ai_ci and friends). */
export const UCA1400_SINCE: readonly [number, number] = [10, 10];

/** Why dbps cannot generate for `text` (a schema-valid version), or undefined when it can. */
export function unsupportedVersion(text: string): string | undefined {
  const v = parseVersion(text);
  if (!atLeast(v, ...MIN_SUPPORTED))
    return `MariaDB ${text} is older than dbps supports (${SUPPORTED_RANGE}): its my.cnf options and account limits differ; use "10.6" or later (Debian 12 ships 10.11)`;
  if (v.major > MAX_SUPPORTED_MAJOR)
    return `MariaDB ${text} is newer than this dbps knows (${SUPPORTED_RANGE}), so it cannot vouch for its my.cnf options; use an 11.x version or upgrade dbps`;
  return undefined;
}

/** True when `collation` is one of the UCA 14.0.0 collations, which exist only from 10.10. */
export function isUca1400(collation: string): boolean {
  return collation.includes('_uca1400_');
}

/**
 * The collation of a database whose file names none: for utf8mb4 the newest Unicode collation the
 * server has (uca1400_ai_ci from 10.10, unicode_520_ci — UCA 5.2.0 — before), else `<charset>_general_ci`,
 * which every version has.
 */
export function implicitCollation(charset: string, version: ServerVersion | string): string {
  const v = typeof version === 'string' ? parseVersion(version) : version;
  if (charset === 'binary') return 'binary';
  if (charset === 'utf8mb4') return atLeast(v, ...UCA1400_SINCE) ? 'utf8mb4_uca1400_ai_ci' : 'utf8mb4_unicode_520_ci';
  return `${charset}_general_ci`;
}
