// plan and provision describe themselves in one paragraph that commander wraps to the terminal width
// (80 columns when stdout is not a terminal), with no hard line breaks in mid-sentence.
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { planSpec } from '../../src/cli/specs/plan.js';
import { provisionSpec } from '../../src/cli/specs/provision.js';
import { repoRoot } from '../helpers/fleets.js';

const bin = path.join(repoRoot, 'bin', 'dbps.js');

describe('plan / provision --help wrapping', () => {
  for (const spec of [planSpec, provisionSpec]) {
    it(`dbps ${spec.name} --help wraps its description at 80 columns`, async () => {
      expect(spec.description).not.toContain('\n');
      const r = await execa('node', [bin, spec.name, '--help'], { reject: false, env: { NO_COLOR: '1' } });
      expect(r.exitCode).toBe(0);
      const paragraph = r.stdout.split('\n\n')[1]!;
      expect(paragraph.split('\n').length).toBeGreaterThan(2);
      for (const line of paragraph.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
      // Every line but the last is filled: the next word would not have fitted.
      const lines = paragraph.split('\n');
      for (let i = 0; i < lines.length - 1; i++) {
        const next = lines[i + 1]!.split(' ')[0]!;
        expect(lines[i]!.length + 1 + next.length).toBeGreaterThan(80);
      }
    });
  }
});
