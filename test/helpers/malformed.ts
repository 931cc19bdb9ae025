// The malformed services.yaml corpus (fixtures/malformed/*.yaml) and what each must report.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './fleets.js';

export interface Expectation {
  line: number;
  column: number;
  /** A fragment the message at line:column must contain. */
  message: string;
}

export const malformedDir = path.join(repoRoot, 'fixtures', 'malformed');

/** Every fixture file name, sorted. */
export function malformedFixtures(): string[] {
  return readdirSync(malformedDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

/** fixtures/malformed/expectations.json: file name -> expected line, column and message fragment. */
export function malformedExpectations(): Record<string, Expectation> {
  return JSON.parse(readFileSync(path.join(malformedDir, 'expectations.json'), 'utf8')) as Record<string, Expectation>;
}
