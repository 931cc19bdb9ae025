// A server that stopped answering mid-provision: the report says which changes it confirmed, which one
// was running (it may or may not have taken effect) and which were sent without an answer.
import { describe, expect, it } from 'vitest';
import type { PlannedChange, ProvisionResult } from '../../../src/commands/provision.js';
import { noPaint } from '../../../src/ui/paint.js';
import { provisionJson, provisionText } from '../../../src/ui/render/provision.js';

const change = (kind: PlannedChange['kind'], object: string): PlannedChange =>
  ({ kind, object, server: 'h2', sql: '', reason: '', destructive: false }) as unknown as PlannedChange;

const result: ProvisionResult = {
  command: 'provision',
  dryRun: false,
  inSync: false,
  outcome: 'error',
  servers: [
    {
      server: 'h2',
      label: 'h2',
      changes: [
        change('create-database', 'database a'),
        change('create-database', 'database b'),
        change('create-user', "'b_app'@'%'"),
        change('grant', "'b_app'@'%' on b"),
      ],
      orphans: [],
      deferred: [],
      applied: 1,
      failures: [],
      elapsedMs: 3000,
      error: {
        kind: 'timeout',
        message:
          'server "h2" did not answer a statement within 3 s: 1 of 4 changes applied, database b was running (it may or may not have taken effect), 2 more not confirmed',
        hint: 'run `dbps provision` again once the server answers: it applies what is still missing',
      },
      interrupted: { applied: ['database a'], running: 'database b', unconfirmed: 2 },
    },
  ],
};

describe('provision interrupted by a timeout', () => {
  it('text: each change with what is known of it', () => {
    const text = provisionText(result, noPaint);
    expect(text).toContain('h2: error: server "h2" did not answer a statement within 3 s: 1 of 4 changes applied');
    expect(text).toContain('  + create-database database a: applied\n');
    expect(text).toContain('  + create-database database b: was running (may or may not have taken effect)\n');
    expect(text).toContain("  + create-user 'b_app'@'%': not confirmed\n");
    expect(text).toContain("  + grant 'b_app'@'%' on b: not confirmed\n");
    expect(text).toContain('hint: run `dbps provision` again once the server answers');
  });

  it('json: the server entry carries the error kind and what ran', () => {
    const doc = provisionJson(result) as { servers: { interrupted?: unknown; error?: { kind?: string } }[] };
    expect(doc.servers[0]!.error!.kind).toBe('timeout');
    expect(doc.servers[0]!.interrupted).toEqual({ applied: ['database a'], running: 'database b', unconfirmed: 2 });
  });
});
