// What plan says about a moved or renamed service, and what `dbps move` reports: plain sentences with the
// command to run, never "orphan … --prune drops it" for a service's own data.
import { describe, expect, it } from 'vitest';
import type { ProvisionResult, ServerProvision } from '../../../src/commands/provision.js';
import { noPaint } from '../../../src/ui/paint.js';
import { moveText } from '../../../src/ui/render/move.js';
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

describe('plan text for moves', () => {
  const plan: ProvisionResult = {
    command: 'plan',
    dryRun: true,
    inSync: false,
    servers: [
      server({
        server: 'shared',
        label: 'shared (orders)',
        orphans: [{ server: 'shared', kind: 'database', object: 'database inventory', tables: 3 }],
      }),
      server({
        server: 'inventory',
        label: 'inventory',
        heldBack: [
          {
            kind: 'create-database',
            server: 'inventory',
            service: 'inventory',
            object: 'database inventory',
            reason: '',
            destructive: false,
            database: 'inventory',
            charset: 'utf8mb4',
            collation: 'utf8mb4_bin',
            sql: '',
          },
        ],
      }),
    ],
    moves: [
      {
        kind: 'moved',
        service: 'inventory',
        from: { server: 'shared', database: 'inventory' },
        to: { server: 'inventory', database: 'inventory' },
        command: 'dbps move inventory',
      },
    ],
    outcome: 'findings',
  };

  it('names the move instead of an orphan that --prune drops, and does not call the plan in sync', () => {
    const text = provisionText(plan, noPaint);
    expect(text).toContain("  moved database inventory (3 tables): inventory's data; run `dbps move inventory`\n");
    expect(text).toContain(
      "moved: inventory's data is on shared (database inventory), services.yaml puts it on inventory: run `dbps move inventory` (1 change on inventory waits for it)\n",
    );
    expect(text).not.toMatch(/--prune --yes` drops it/);
    expect(text).toMatch(/Not in sync: move the services above with `dbps move`/);
  });

  it('a rename and a kept old copy each get their sentence', () => {
    const text = provisionText(
      {
        ...plan,
        servers: [server({ server: 'orders' })],
        moves: [
          {
            kind: 'renamed',
            service: 'finder',
            from: { server: 'search', database: 'search' },
            to: { server: 'finder', database: 'finder' },
            command: 'dbps move search --to finder',
          },
          {
            kind: 'moved-out',
            service: 'cart',
            from: { server: 'shared', database: 'cart' },
            to: { server: 'cart', database: 'cart' },
            command: 'dbps move cart --finish',
          },
        ],
      },
      noPaint,
    );
    expect(text).toContain(
      'renamed: search on search looks renamed to finder: `dbps move search --to finder` keeps its data\n',
    );
    expect(text).toContain(
      'moved: cart runs on cart; its old copy on shared (database cart) is read-only until `dbps move cart --finish`\n',
    );
  });
});

describe('move report', () => {
  it('states where the data went, the write pause and the next step', () => {
    const text = moveText({
      command: 'move',
      action: 'moved',
      service: 'inventory',
      from: { server: 'shared', database: 'inventory' },
      to: { server: 'inventory', database: 'inventory' },
      bytes: 3 * 1024 * 1024,
      writePauseMs: 184,
      killedConnections: 2,
      elapsedMs: 2500,
      next: 'then `dbps move inventory --finish --yes`',
      warnings: [],
    });
    expect(text).toBe(
      'inventory: moved from shared (database inventory) to inventory (database inventory) in 2.5 s, 3.0 MiB copied.\n' +
        'write pause: 0.184 s; 2 connections on the old server ended\n' +
        "old copy: read-only for inventory's accounts until --finish\n" +
        'next: then `dbps move inventory --finish --yes`\n',
    );
  });
});
