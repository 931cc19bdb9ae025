// `outbox: { retention: 7d }`: the duration after which a published outbox row is purged, and how
// often the purge event runs. Pure; the schema has already checked the `<n>m|h|d|w` shape.

const UNIT_SECONDS: Record<string, number> = { m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Longest retention accepted: ten years is far beyond any relay's replay window and keeps INTERVAL small. */
export const MAX_OUTBOX_RETENTION_SECONDS = 10 * 366 * 86_400;

/** Seconds of a schema-valid duration (`30m`, `12h`, `7d`, `2w`). */
export function durationSeconds(text: string): number {
  const m = /^([0-9]+)([mhdw])$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * UNIT_SECONDS[m[2]!]!;
}

/** Why a schema-valid retention cannot be used, or undefined. */
export function outboxRetentionProblem(text: string): string | undefined {
  if (typeof text !== 'string' || !/^[0-9]+[mhdw]$/.test(text))
    return `outbox retention ${JSON.stringify(text)} is not a duration such as 30m, 12h or 7d`;
  const s = durationSeconds(text);
  if (s === 0)
    return `outbox retention "${text}" would delete every event as soon as it is published; give at least 1m (e.g. 7d)`;
  if (s > MAX_OUTBOX_RETENTION_SECONDS)
    return `outbox retention "${text}" is longer than ten years; give a shorter one (e.g. 30d), or write "outbox: true" to keep every event`;
  return undefined;
}

/**
 * How often the purge runs: every hour, or a sixth of the retention when that is shorter, never more
 * often than every 10 seconds. A published row is then gone within retention + interval (≤ 7/6 of it).
 */
export function purgeEverySeconds(retentionSeconds: number): number {
  return Math.min(3600, Math.max(10, Math.floor(retentionSeconds / 6)));
}
