// plan's "moved" and "renamed" detection, and the desired state of a moved service's old copy: pure,
// from what the servers and state.json were seen to hold.
import { describe, expect, it } from 'vitest';
import { desiredServer } from '../../../src/fleet/desired.js';
import {
  detectMoves,
  type MoveObservation,
  type MoveRecord,
  moveOfAccount,
  withMovedOut,
} from '../../../src/fleet/moves.js';
import { fleetOf } from '../../helpers/fleets.js';

const OWN = fleetOf(
  'version: 1\nfleet: t\nservers:\n  shared: { memory: 1G }\nservices:\n  orders: { server: shared }\n  inventory: { memory: 1G }\n',
);
const SHARED = fleetOf(
  'version: 1\nfleet: t\nservers:\n  shared: { memory: 1G }\nservices:\n  orders: { server: shared }\n  inventory: { server: shared }\n',
);

function observe(o: Partial<MoveObservation> & Pick<MoveObservation, 'fleet'>): MoveObservation {
  return { orphanDatabases: [], missingDatabases: [], orphanServers: [], stateServers: [], moves: {}, ...o };
}

const movedRecord: MoveRecord = {
  service: 'inventory',
  from: { server: 'shared', database: 'inventory', orphanServer: false, charset: 'utf8mb4', collation: 'utf8mb4_bin' },
  to: { server: 'inventory', database: 'inventory' },
  accounts: [
    { user: 'inventory_app', host: '%', role: 'app', requireSsl: false },
    { user: 'inventory_migrator', host: '%', role: 'migrator', requireSsl: false },
  ],
  phase: 'moved',
  startedAt: '2026-01-01T00:00:00.000Z',
};

describe('detectMoves', () => {
  it('a service given its own instance whose tables are still on the shared server is moved, not an orphan', () => {
    const hints = detectMoves(
      observe({
        fleet: OWN,
        orphanDatabases: [{ server: 'shared', database: 'inventory', tables: 3 }],
        missingDatabases: [{ server: 'inventory', database: 'inventory' }],
        stateServers: ['shared', 'inventory'],
      }),
    );
    expect(hints).toStrictEqual([
      {
        kind: 'moved',
        service: 'inventory',
        from: { server: 'shared', database: 'inventory' },
        to: { server: 'inventory', database: 'inventory' },
        command: 'dbps move inventory',
      },
    ]);
  });

  it('an empty leftover database is no data to move', () => {
    const hints = detectMoves(
      observe({ fleet: OWN, orphanDatabases: [{ server: 'shared', database: 'inventory', tables: 0 }] }),
    );
    expect(hints).toStrictEqual([]);
  });

  it('a service put on a shared server whose old own instance is in the state dir is moved from it', () => {
    const hints = detectMoves(
      observe({
        fleet: SHARED,
        orphanServers: ['inventory'],
        stateServers: ['shared', 'inventory'],
        missingDatabases: [{ server: 'shared', database: 'inventory' }],
      }),
    );
    expect(hints.map((h) => [h.kind, h.from.server, h.to.server, h.command])).toStrictEqual([
      ['moved', 'inventory', 'shared', 'dbps move inventory'],
    ]);
  });

  it('once the service has its database on the new server, its old instance is no move any more', () => {
    const hints = detectMoves(
      observe({ fleet: SHARED, orphanServers: ['inventory'], stateServers: ['shared', 'inventory'] }),
    );
    expect(hints).toStrictEqual([]);
  });

  it('a lone orphan own instance beside a lone new own-instance service looks renamed', () => {
    const fleet = fleetOf('version: 1\nfleet: t\nservices:\n  orders: {}\n  finder: {}\n');
    const hints = detectMoves(observe({ fleet, orphanServers: ['search'], stateServers: ['orders', 'search'] }));
    expect(hints).toStrictEqual([
      {
        kind: 'renamed',
        service: 'finder',
        from: { server: 'search', database: 'search' },
        to: { server: 'finder', database: 'finder' },
        command: 'dbps move search --to finder',
      },
    ]);
  });

  it('two new services beside one orphan are no guess: nothing is offered', () => {
    const fleet = fleetOf('version: 1\nfleet: t\nservices:\n  orders: {}\n  finder: {}\n  seeker: {}\n');
    expect(detectMoves(observe({ fleet, orphanServers: ['search'], stateServers: ['orders', 'search'] }))).toEqual([]);
  });

  it('a rename on a shared server: one orphan database with tables, one service whose database is missing', () => {
    const fleet = fleetOf(
      'version: 1\nfleet: t\nservers:\n  shared: { memory: 1G }\nservices:\n  orders: { server: shared }\n  finder: { server: shared }\n',
    );
    const hints = detectMoves(
      observe({
        fleet,
        orphanDatabases: [{ server: 'shared', database: 'search', tables: 2 }],
        missingDatabases: [{ server: 'shared', database: 'finder' }],
        stateServers: ['shared'],
      }),
    );
    expect(hints.map((h) => [h.kind, h.command])).toStrictEqual([['renamed', 'dbps move search --to finder']]);
  });

  it('a finished copy is reported as the old copy to drop, and its database is not taken for a rename', () => {
    const hints = detectMoves(
      observe({
        fleet: OWN,
        orphanDatabases: [{ server: 'shared', database: 'inventory', tables: 3 }],
        moves: { inventory: movedRecord },
        stateServers: ['shared', 'inventory'],
      }),
    );
    expect(hints.map((h) => [h.kind, h.command])).toStrictEqual([['moved-out', 'dbps move inventory --finish']]);
  });
});

describe('withMovedOut', () => {
  it("keeps a moved service's old database on the source and its accounts there read-only", () => {
    const shared = OWN.servers.find((s) => s.name === 'shared')!;
    const desired = withMovedOut(desiredServer(OWN, shared), [movedRecord]);
    expect(desired.databases.map((d) => d.name)).toStrictEqual(['orders', 'inventory']);
    const moved = desired.accounts.filter((a) => a.service === 'inventory');
    expect(moved.map((a) => [a.user, a.kind, a.grants.map((g) => [g.scope, g.privileges])])).toStrictEqual([
      ['inventory_app', 'readonly', [[{ level: 'database', database: 'inventory' }, ['SELECT', 'SHOW VIEW']]]],
      ['inventory_migrator', 'readonly', [[{ level: 'database', database: 'inventory' }, ['SELECT', 'SHOW VIEW']]]],
    ]);
    // The server's own accounts stay last, as desiredServer orders them.
    expect(desired.accounts.at(-1)?.kind).toBe('monitor');
  });

  it('changes nothing on other servers, nor while the move is still copying', () => {
    const own = OWN.servers.find((s) => s.name === 'inventory')!;
    const shared = OWN.servers.find((s) => s.name === 'shared')!;
    expect(withMovedOut(desiredServer(OWN, own), [movedRecord])).toStrictEqual(desiredServer(OWN, own));
    expect(withMovedOut(desiredServer(OWN, shared), [{ ...movedRecord, phase: 'copying' }])).toStrictEqual(
      desiredServer(OWN, shared),
    );
  });
});

describe('moveOfAccount', () => {
  const moved = detectMoves(
    observe({
      fleet: OWN,
      orphanDatabases: [{ server: 'shared', database: 'inventory', tables: 1 }],
      missingDatabases: [{ server: 'inventory', database: 'inventory' }],
    }),
  );
  it("names the move of a moved service's account left on its old server, and of no other account", () => {
    expect(moveOfAccount(moved, OWN, 'shared', 'inventory_app')?.command).toBe('dbps move inventory');
    expect(moveOfAccount(moved, OWN, 'shared', 'debug_login')).toBeUndefined();
    expect(moveOfAccount(moved, OWN, 'inventory', 'inventory_app')).toBeUndefined();
  });
  it('after a rename, the accounts named after the old service', () => {
    const fleet = fleetOf('version: 1\nfleet: t\nservices:\n  orders: {}\n  finder: {}\n');
    const renamed = detectMoves(observe({ fleet, orphanServers: ['search'], stateServers: ['orders', 'search'] }));
    expect(moveOfAccount(renamed, fleet, 'search', 'search_app')?.command).toBe('dbps move search --to finder');
    expect(moveOfAccount(renamed, fleet, 'search', 'orders_app')).toBeUndefined();
  });
});
