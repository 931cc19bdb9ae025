// Password rotation without downtime, the pure half: the two ALTER USER statements (old and new
// password side by side, then the new one alone), which sessions predate a rotation, and when an
// unfinished one is overdue. `dbps rotate` (commands/rotate.ts) does the I/O.
import { account } from '../sql/quote.js';
import { nativePasswordHash, type Statement } from './sql.js';

/** A rotation's record in the state dir (rotations.json): enough to finish it, never a password. */
export interface RotationRecord {
  server: string;
  service: string;
  user: string;
  host: string;
  /** Where the new password comes from: generated into secrets.env, or the account's passwordEnv. */
  source: 'generated' | 'env';
  /** When the first step ran (ISO, this machine's clock). */
  startedAt: string;
  /** `adding`: recorded, the server may not hold the new password yet; `added`: both passwords log in. */
  phase: 'adding' | 'added';
  /**
   * CONNECTION_ID() of the session that ran the first step. Connection ids only grow while a server
   * runs, so a session of the account with a smaller id was opened before the rotation started.
   */
  firstConnectionId: number;
  /** The server's start (UNIX time, seconds): after a restart no session predates the rotation. */
  serverStartedAt: number;
}

/** The first step: the stored hash of the old password, and the new password beside it. */
export function addPasswordStatement(user: string, host: string, oldHash: string, newPassword: string): Statement {
  const head = `ALTER USER ${account(user, host)} IDENTIFIED VIA mysql_native_password USING`;
  return {
    sql: `${head} ? OR mysql_native_password USING ?`,
    params: [oldHash, nativePasswordHash(newPassword)],
    display: `${head} '<old password>' OR mysql_native_password USING '<new password>'`,
  };
}

/** The last step: the new password alone (the old one no longer logs in; open sessions go on). */
export function finishPasswordStatement(user: string, host: string, newPassword: string): Statement {
  const head = `ALTER USER ${account(user, host)} IDENTIFIED VIA mysql_native_password USING`;
  return {
    sql: `${head} ?`,
    params: [nativePasswordHash(newPassword)],
    display: `${head} '<new password>'`,
  };
}

/** A row of information_schema.PROCESSLIST as the count needs it. */
export interface SessionRow {
  id: number;
  user: string;
}

/** The account's sessions opened before the rotation started (instances still on the old password). */
export function sessionsBeforeRotation(
  record: Pick<RotationRecord, 'user' | 'firstConnectionId' | 'serverStartedAt'>,
  sessions: readonly SessionRow[],
  serverStartedAt: number,
): SessionRow[] {
  // A restart since the first step closed every session of before (a second's slack: Uptime is whole seconds).
  if (Math.abs(serverStartedAt - record.serverStartedAt) > 2) return [];
  return sessions.filter((s) => s.user === record.user && s.id < record.firstConnectionId);
}

/** Default for `defaults.rotationMaxAge`: a week to redeploy every instance of a service. */
export const DEFAULT_ROTATION_MAX_AGE_DAYS = 7;

/** True when a rotation started longer ago than `maxAgeDays`. */
export function rotationOverdue(record: Pick<RotationRecord, 'startedAt'>, now: Date, maxAgeDays: number): boolean {
  const started = Date.parse(record.startedAt);
  if (!Number.isFinite(started)) return true;
  return now.getTime() - started > maxAgeDays * 86_400_000;
}

/** `3 d 4 h`, `5 h`, `12 min`: how long ago, as findings say it. */
export function describeAge(from: string, now: Date): string {
  const ms = Math.max(0, now.getTime() - Date.parse(from));
  const days = Math.floor(ms / 86_400_000);
  const hours = Math.floor((ms % 86_400_000) / 3_600_000);
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return `${hours} h`;
  return `${Math.floor(ms / 60_000)} min`;
}
