// Every malformed fixture through the pure loader: a ConfigError whose issues include the expected
// line:column and message, and nothing else thrown (no TypeError from a half-checked document).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fleetFromText } from '../../../src/config/from-text.js';
import { ConfigError } from '../../../src/errors.js';
import { malformedDir, malformedExpectations, malformedFixtures } from '../../helpers/malformed.js';

const fixtures = malformedFixtures();
const expectations = malformedExpectations();

function issuesOf(file: string): ConfigError {
  const text = readFileSync(path.join(malformedDir, file), 'utf8');
  try {
    fleetFromText(text, file);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`${file} was accepted as a valid fleet`);
}

describe('malformed services.yaml corpus', () => {
  it('has at least 30 fixtures, each with an expectation and no stale expectation', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(30);
    expect(Object.keys(expectations).sort()).toEqual(fixtures);
  });

  for (const file of fixtures) {
    it(`${file} is rejected at its line and column`, () => {
      const expected = expectations[file]!;
      const error = issuesOf(file);
      expect(error.file).toBe(file);
      expect(error.issues.length).toBeGreaterThan(0);
      const hit = error.issues.find((i) => i.line === expected.line && i.column === expected.column);
      expect(
        hit,
        `issues were:\n${error.issues.map((i) => `${i.line}:${i.column} ${i.message}`).join('\n')}`,
      ).toBeDefined();
      expect(hit!.message).toContain(expected.message);
      for (const issue of error.issues) {
        // One clear sentence: no raw Ajv/yaml wording, no multi-line text, no object dumps.
        expect(issue.message).not.toMatch(/\n|\[object Object\]|must NOT have|instancePath|undefined/);
        expect(issue.line).toBeGreaterThanOrEqual(1);
        expect(issue.column).toBeGreaterThanOrEqual(1);
      }
      expect(error.message).toBe(
        `${file}:${error.issues[0]!.line}:${error.issues[0]!.column}: ${error.issues[0]!.message}${error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : ''}`,
      );
    });
  }

  it('reports a misspelt required key once, as an unknown key with a hint', () => {
    const error = issuesOf('unknown-reads-key.yaml');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.path).toBe('services.analytics.reads[0].table');
  });

  it('does not repeat an inherited charset/collation problem on every service', () => {
    const error = issuesOf('collation-charset-mismatch.yaml');
    expect(error.issues.map((i) => i.path)).toEqual(['defaults.collation']);
  });

  it('never puts a password value in a message', () => {
    const error = issuesOf('unknown-admin-key-password.yaml');
    expect(error.message).not.toContain('hunter2');
    for (const i of error.issues) expect(i.message).not.toContain('hunter2');
  });
});
