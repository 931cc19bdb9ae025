// Plan and provision summaries say what is true: a server that could not be planned is not "No changes".
import { describe, expect, it } from 'vitest';
import type { ProvisionResult, ServerProvision } from '../../../src/commands/provision.js';
import { parseMemoryScale } from '../../../src/commands/up.js';
import { noPaint } from '../../../src/ui/paint.js';
import { provisionText } from '../../../src/ui/render/provision.js';

const server = (over: Partial<ServerProvision>): ServerProvision => ({
  server: 's',
  label: 's',
  changes: [],
  orphans: [],
  deferred: [],
  applied: 0,
  failures: [],
  elapsedMs: 1,
  ...over,
});

describe('plan summary', () => {
  it('an unreadable server is not reported as "No changes"', () => {
    const r: ProvisionResult = {
      command: 'plan',
      dryRun: true,
      inSync: false,
      servers: [server({ error: { message: 'server "s" is unreachable' } })],
      outcome: 'error',
    };
    const text = provisionText(r, noPaint);
    expect(text).not.toMatch(/No changes/);
    expect(text).toMatch(/could not be planned\. 1 error\./);
  });

  it('a plan with nothing to do says In sync', () => {
    const r: ProvisionResult = { command: 'plan', dryRun: true, inSync: true, servers: [server({})], outcome: 'clean' };
    expect(provisionText(r, noPaint)).toMatch(/In sync: no changes\./);
  });
});

describe('memory scale', () => {
  it('explains the accepted range without claiming 0 is in it', () => {
    expect(() => parseMemoryScale('0', {})).toThrow('memory scale "0" must be a number above 0 and at most 16');
    expect(parseMemoryScale('0.25', {})).toBe(0.25);
  });
});
