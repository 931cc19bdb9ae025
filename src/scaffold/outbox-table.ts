// The service's outbox table, shared by every pattern that writes events.
import { outboxTableSql } from '../grants/sql.js';
import { ident } from '../sql/quote.js';
import type { MigrationPart, PatternInput } from './types.js';

/** The same table `outbox: true` provisions, so a pattern works whether or not provision made it first. */
export function outboxTablePart(input: PatternInput): MigrationPart {
  return {
    part: 'outbox-table',
    summary: `the outbox table ${input.outboxTable} (the definition \`outbox: true\` provisions)`,
    statements: [outboxTableSql(input.database, input.outboxTable)],
  };
}

/** The quoted outbox table name. */
export function outbox(input: PatternInput): string {
  return ident(input.outboxTable);
}
