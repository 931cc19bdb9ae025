// What a consistency pattern is to dbps: a pure function from a service to migration files.
import type { ServerVersion } from '../util/version.js';

export type PatternName = 'outbox' | 'reservation' | 'projection' | 'change-capture' | 'read-model';

/** Everything a pattern needs to know about the service it is written for. */
export interface PatternInput {
  service: string;
  database: string;
  server: string;
  version: ServerVersion;
  /** The service's outbox table (`<service>_events_outbox`, as `outbox: true` names it). */
  outboxTable: string;
  /** `--name`: a prefix for every object the pattern creates (not the shared outbox table). */
  prefix?: string;
}

/** One migration file, before it is numbered: a part name and its statements, in order. */
export interface MigrationPart {
  /** Kebab-case part of the file name, e.g. `outbox-table`. */
  part: string;
  /** One line for the file header and the command's output. */
  summary: string;
  /** Complete statements without a terminator; compound ones (BEGIN … END) included. */
  statements: string[];
}

/** A numbered file ready to write: its name, its text, and whether it belongs to several patterns. */
export interface MigrationFile {
  name: string;
  summary: string;
  text: string;
}

export interface Pattern {
  name: PatternName;
  /** One line for `dbps scaffold --list`. */
  summary: string;
  /** What this pattern does differently from the usual hand-written version. */
  fixes: string;
  build(input: PatternInput): MigrationPart[];
}
