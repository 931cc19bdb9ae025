// Deterministic mutations of the valid fleets (drop a line, repeat it, shift its indentation, blank a
// value, swap values between lines): the loader must either accept the result or throw a ConfigError
// whose issues all have a place. Anything else (a TypeError from a half-checked document) is a bug.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fleetFromText } from '../../../src/config/from-text.js';
import { ConfigError } from '../../../src/errors.js';
import { repoRoot } from '../../helpers/fleets.js';

const fleetsDir = path.join(repoRoot, 'fixtures', 'fleets');
const REPLACEMENTS = [
  '',
  '~',
  '[]',
  '{}',
  '0',
  '-1',
  '"x"',
  'true',
  '99999999999',
  '"%"',
  '[a, b]',
  '{ a: 1 }',
  'orders',
  'shared',
];

function* mutations(text: string): Generator<[string, string]> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim() || line.trim().startsWith('#')) continue;
    yield [`drop line ${i + 1}`, [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n')];
    yield [`repeat line ${i + 1}`, [...lines.slice(0, i + 1), line, ...lines.slice(i + 1)].join('\n')];
    yield [`indent line ${i + 1}`, [...lines.slice(0, i), ` ${line}`, ...lines.slice(i + 1)].join('\n')];
    const colon = line.indexOf(': ');
    if (colon > 0) {
      for (const r of REPLACEMENTS) {
        yield [
          `line ${i + 1} value -> ${r}`,
          [...lines.slice(0, i), `${line.slice(0, colon + 2)}${r}`, ...lines.slice(i + 1)].join('\n'),
        ];
      }
    }
  }
}

describe('mutated fleets never crash the loader', () => {
  for (const file of readdirSync(fleetsDir).filter((f) => f.endsWith('.yaml') && !f.startsWith('fifty'))) {
    it(file, () => {
      const text = readFileSync(path.join(fleetsDir, file), 'utf8');
      let tried = 0;
      for (const [what, mutated] of mutations(text)) {
        tried++;
        try {
          fleetFromText(mutated, file);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw new Error(`${file}, ${what}: ${(e as Error).stack}`);
          expect(e.issues.length, `${file}, ${what}`).toBeGreaterThan(0);
          for (const issue of e.issues) {
            expect(issue.line, `${file}, ${what}: ${issue.message}`).toBeGreaterThanOrEqual(1);
            expect(issue.column).toBeGreaterThanOrEqual(1);
            expect(issue.message).not.toMatch(/undefined|\[object Object\]|NaN/);
          }
        }
      }
      expect(tried).toBeGreaterThan(50);
    });
  }
});
