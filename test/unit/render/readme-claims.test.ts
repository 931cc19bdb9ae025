// README claims about generated output that once were false: kept true by checking the text against
// the code's own names (the namespace order of Scaling out, env names, what storage shapes).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from '../../../src/generate/files.js';
import { AUDIT_RULES } from '../../../src/grants/audit-rules/index.js';
import { fleetOf, repoRoot } from '../../helpers/fleets.js';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const section = (title: string) => {
  const start = readme.indexOf(`\n## ${title}\n`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
};

describe('README', () => {
  it("Auditing grants' rule table lists every rule, in order, with its default severity and what it reads", () => {
    const rows = section('Auditing grants')
      .split('\n')
      .filter((l) => /^\| `[a-z-]+` \|/.test(l))
      .map((l) => l.split(' | ').map((c) => c.replace(/^\| /, '').trim()));
    expect(rows.map((r) => r[0])).toEqual(AUDIT_RULES.map((r) => `\`${r.id}\``));
    for (const [i, r] of AUDIT_RULES.entries()) {
      expect(rows[i]![1], r.id).toBe(r.defaultSeverity);
      expect(rows[i]![2]!.length, `${r.id}: what it reads`).toBeGreaterThan(3);
    }
  });

  it('Scaling out creates the namespace before applying the Secrets that live in it', () => {
    const text = section('Scaling out');
    const ns = text.indexOf('kubectl apply -f k8s/namespace.yaml');
    const secrets = text.indexOf('kubectl apply -f ~/shop-secrets.yaml');
    expect(ns).toBeGreaterThan(0);
    expect(secrets).toBeGreaterThan(ns);
  });

  it('uses the passwordEnv of its own services.yaml example', () => {
    const envs = [...section('services.yaml').matchAll(/passwordEnv: ([A-Z_]+)/g)].map((m) => m[1]);
    for (const m of section('Scaling out').matchAll(/\b(LEGACY_[A-Z_]+)=/g)) expect(envs).toContain(m[1]);
  });

  it('does not claim that storage sizes compose volumes, and compose output indeed ignores it', async () => {
    expect(section('services.yaml')).not.toMatch(/`storage` \| `10Gi` \| volume size in compose/);
    const small = await generatedFiles(fleetOf('version: 1\nfleet: t\nservices:\n  a: { storage: 1Gi }\n'), [
      'compose',
    ]);
    const big = await generatedFiles(fleetOf('version: 1\nfleet: t\nservices:\n  a: { storage: 99Gi }\n'), ['compose']);
    expect(small[0]!.content).toBe(big[0]!.content);
  });
});
