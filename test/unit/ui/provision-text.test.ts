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

  it('a plan whose only remainder is a deferred grant is not In sync', () => {
    const r: ProvisionResult = {
      command: 'plan',
      dryRun: true,
      inSync: false,
      servers: [
        server({ deferred: [{ server: 's', object: "'b_app'@'%' on a.t", reason: 'table a.t does not exist yet' }] }),
      ],
      outcome: 'findings',
    };
    const text = provisionText(r, noPaint);
    expect(text).not.toMatch(/In sync/);
    expect(text).toMatch(/Not in sync: 1 grant waits for its table/);
  });

  it('a plan with nothing to do says In sync', () => {
    const r: ProvisionResult = { command: 'plan', dryRun: true, inSync: true, servers: [server({})], outcome: 'clean' };
    expect(provisionText(r, noPaint)).toMatch(/In sync: no changes\./);
  });
});

describe('provision --prune', () => {
  it('shows a pruned orphan once, as its drop, not again as an orphan that --prune would drop', () => {
    const r: ProvisionResult = {
      command: 'provision',
      dryRun: false,
      inSync: true,
      servers: [
        server({
          applied: 1,
          changes: [
            {
              server: 's',
              kind: 'drop-user',
              object: "'stray'@'%'",
              user: 'stray',
              host: '%',
              destructive: true,
              reason: 'not in services.yaml (--prune)',
              sql: "DROP USER 'stray'@'%'",
            },
          ],
          orphans: [
            { server: 's', kind: 'user', object: "'stray'@'%'" },
            {
              server: 's',
              kind: 'database',
              object: 'database full',
              tables: 2,
              kept: 'holds 2 tables; add --force-drop-data to drop it',
            },
          ],
        }),
      ],
      outcome: 'clean',
    };
    const text = provisionText(r, noPaint);
    expect(text).toContain("- drop-user 'stray'@'%'");
    expect(text).not.toMatch(/orphan 'stray'/);
    expect(text).toMatch(/orphan database full \(2 tables\): not in services\.yaml; kept: holds 2 tables/);
  });
});

describe('memory scale', () => {
  it('explains the accepted range without claiming 0 is in it', () => {
    expect(() => parseMemoryScale('0', {})).toThrow('memory scale "0" must be a number above 0 and at most 16');
    expect(parseMemoryScale('0.25', {})).toBe(0.25);
  });
});
