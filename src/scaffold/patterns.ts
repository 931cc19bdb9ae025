// The pattern registry and the pure steps from a pattern to numbered migration files.
import { atLeast, type ServerVersion } from '../util/version.js';
import { changeCapturePattern } from './change-capture.js';
import { outboxPattern } from './outbox.js';
import { projectionPattern } from './projection.js';
import { readModelPattern } from './read-model.js';
import { reservationPattern } from './reservation.js';
import type { MigrationFile, MigrationPart, Pattern, PatternInput, PatternName } from './types.js';

/** Every pattern, in `--list` order. */
export const PATTERNS: readonly Pattern[] = [
  outboxPattern,
  reservationPattern,
  projectionPattern,
  changeCapturePattern,
  readModelPattern,
];

/** Why `dbps scaffold` has no XA pattern; printed by `--list`. */
export const NO_XA =
  'xa: not offered. XA (two-phase commit across services) couples every service to every other one ' +
  'being up and to a coordinator that can recover in-doubt transactions, holds locks across the network while it ' +
  'waits, and needs XA RECOVER privileges on each server; use outbox + reservation (a saga with compensation) instead.';

/** The oldest server the patterns run on: CREATE OR REPLACE TRIGGER, JSON functions and enforced CHECKs. */
export const MIN_VERSION = { major: 10, minor: 3 } as const;

/** A pattern by name, or undefined: the command turns that into a usage error with a suggestion. */
export function findPattern(name: string): Pattern | undefined {
  return PATTERNS.find((p) => p.name === name);
}

/** True when the server can run the generated SQL. */
export function versionSupported(v: ServerVersion): boolean {
  return atLeast(v, MIN_VERSION.major, MIN_VERSION.minor);
}

/** File-name key of a part: shared parts (the outbox table) are one file however many patterns use them. */
export function partKey(pattern: PatternName, part: MigrationPart, prefix: string | undefined): string {
  if (part.part === 'outbox-table') return 'outbox-table';
  return [pattern, prefix, part.part].filter(Boolean).join('-');
}

/** `0007_outbox-orders.sql` -> the number and the key. */
export function parseMigrationName(name: string): { number: number; key: string } | undefined {
  const m = /^(\d{4,})_(.+)\.sql$/.exec(name);
  return m ? { number: Number(m[1]), key: m[2]! } : undefined;
}

/**
 * Numbers the parts after what the folder already holds, reusing a part's existing number, so a
 * re-run writes the same names and a new pattern comes after the old ones.
 */
export function numberParts(keys: string[], existing: string[]): string[] {
  const parsed = existing.map(parseMigrationName).filter((p) => p !== undefined);
  let next = parsed.reduce((m, p) => Math.max(m, p.number), 0) + 1;
  return keys.map((key) => {
    const found = parsed.find((p) => p.key === key);
    const number = found ? found.number : next++;
    return `${String(number).padStart(4, '0')}_${key}.sql`;
  });
}

/**
 * The text of one file. Statements holding `;` (BEGIN … END bodies) are written between
 * `DELIMITER $$` and `DELIMITER ;`, the form mysqldump writes and the mariadb client and Flyway read.
 */
export function renderPart(pattern: PatternName, part: MigrationPart, input: PatternInput): string {
  const compound = part.statements.some((s) => s.includes(';'));
  const header = [
    `-- dbps scaffold ${part.part === 'outbox-table' ? '(shared by outbox, reservation, change-capture)' : pattern}: ${part.summary}`,
    `-- Service "${input.service}", database \`${input.database}\`, server "${input.server}" (MariaDB ${input.version.text}).`,
    "-- Re-runnable: CREATE TABLE IF NOT EXISTS and CREATE OR REPLACE only. Apply as the service's migrator",
    '-- (`dbps scaffold ... --apply`, or `mariadb <database> < file`): triggers and events get it as definer;',
    '-- procedures are SQL SECURITY INVOKER and run with the rights of the account that calls them.',
  ];
  if (compound) header.push('-- Statements end with $$ (DELIMITER): one statement per section.');
  const body = compound
    ? ['DELIMITER $$', ...part.statements.map((s) => `${s}\n$$`), 'DELIMITER ;']
    : part.statements.map((s) => `${s};`);
  return `${[...header, '', body.join('\n\n')].join('\n')}\n`;
}

/** All files of one pattern for one service, named against the folder's existing files. */
export function scaffoldFiles(pattern: Pattern, input: PatternInput, existing: string[]): MigrationFile[] {
  const parts = pattern.build(input);
  const names = numberParts(
    parts.map((p) => partKey(pattern.name, p, input.prefix)),
    existing,
  );
  return parts.map((part, i) => ({
    name: names[i]!,
    summary: part.summary,
    text: renderPart(pattern.name, part, input),
  }));
}
