// Object names of a pattern: the optional --name prefix applied in one place.
import { ident } from '../sql/quote.js';
import type { PatternInput } from './types.js';

/** A quoted object name, `prefix_base` when --name was given: lets one service hold a pattern twice. */
export function objectName(input: PatternInput, base: string): string {
  return ident(input.prefix ? `${input.prefix}_${base}` : base);
}

/** The plain (unquoted) name, for constraint and index names that must be unique per table. */
export function plainName(input: PatternInput, base: string): string {
  return input.prefix ? `${input.prefix}_${base}` : base;
}

/** `IF(json null, NULL, unquoted value)`: JSON_UNQUOTE alone turns a JSON null into the string 'null'. */
export function jsonField(payload: string, key: string): string {
  const p = `'$.${key}'`;
  return `IF(JSON_TYPE(JSON_EXTRACT(${payload}, ${p})) = 'NULL', NULL, JSON_UNQUOTE(JSON_EXTRACT(${payload}, ${p})))`;
}
