// Services whose data is somewhere other than where services.yaml now puts them: moved to another
// server, or renamed. Pure: the observations (orphan databases, orphan servers, recorded moves) come in.

import type { DesiredAccount, DesiredServer } from './desired.js';
import type { AccountRole, Fleet, FleetService } from './model.js';
import { BACKUP_USER, LOGICAL_BACKUP_PRIVILEGES, sortPrivileges } from './roles.js';

/** One account of a service on the server its data is moved from. */
export interface MovedAccount {
  user: string;
  host: string;
  role: AccountRole;
  passwordEnv?: string;
  requireSsl?: boolean;
}

/**
 * A move as state.json records it. `copying` while `dbps move` runs (a failed run leaves it: the next
 * run starts over); `moved` once the target took writes: the source copy is read-only until `--finish`.
 */
export interface MoveRecord {
  service: string;
  from: { server: string; database: string; orphanServer: boolean; charset: string; collation: string };
  to: { server: string; database: string };
  /** The service's accounts on the source, kept read-only there until --finish. */
  accounts: MovedAccount[];
  phase: 'copying' | 'moved';
  startedAt: string;
  movedAt?: string;
  writePauseMs?: number;
}

/** What plan tells about a service whose data lives elsewhere. */
export interface MoveHint {
  kind: 'moved' | 'renamed' | 'moved-out';
  /** The service in services.yaml (the new name for a rename). */
  service: string;
  from: { server: string; database: string };
  to: { server: string; database?: string };
  /** The command that moves (or, for `moved-out`, finishes) it. */
  command: string;
}

/** A database on a fleet server that services.yaml does not place there, with its table count. */
export interface OrphanDatabase {
  server: string;
  database: string;
  tables: number;
}

export interface MoveObservation {
  fleet: Fleet;
  /** Orphan databases found on the fleet's servers (plan's per-server diff reports them). */
  orphanDatabases: readonly OrphanDatabase[];
  /** Local servers in state.json that services.yaml no longer declares. */
  orphanServers: readonly string[];
  /** Local servers in state.json (declared or not): a new own instance not among them has never started. */
  stateServers: readonly string[];
  /** Databases services.yaml places on a server that does not hold them yet. */
  missingDatabases: readonly { server: string; database: string }[];
  /** Moves recorded in state.json, by service. */
  moves: Readonly<Record<string, MoveRecord>>;
}

/**
 * Finds services that services.yaml moved or renamed while their data stayed behind. A database with
 * tables left on a server, named like a service that now lives elsewhere, is that service's data; a
 * local server named after a service that now lives on another server is its old own instance. A lone
 * orphan (server or database) with a lone new service beside it looks like a rename.
 */
export function detectMoves(o: MoveObservation): MoveHint[] {
  const hints: MoveHint[] = [];
  const claimedServers = new Set<string>();
  const claimedDbs = new Set<string>();
  const dbKey = (server: string, database: string) => `${server}\u0000${database}`;
  // Sets and maps, not scans: plan runs this over fleets of 10,000 services.
  const stateSet = new Set(o.stateServers);
  const orphanSet = new Set(o.orphanServers);
  const missing = new Set(o.missingDatabases.map((m) => dbKey(m.server, m.database)));
  const serviceNames = new Set(o.fleet.services.map((s) => s.name));
  const leftByName = new Map<string, OrphanDatabase>();
  for (const d of o.orphanDatabases) if (d.tables > 0 && !leftByName.has(d.database)) leftByName.set(d.database, d);
  for (const svc of o.fleet.services) {
    const rec = o.moves[svc.name];
    if (rec?.phase === 'moved') {
      hints.push({
        kind: 'moved-out',
        service: svc.name,
        from: { server: rec.from.server, database: rec.from.database },
        to: { server: rec.to.server, database: rec.to.database },
        command: `dbps move ${svc.name} --finish`,
      });
      claimedDbs.add(dbKey(rec.from.server, rec.from.database));
      if (rec.from.orphanServer) claimedServers.add(rec.from.server);
      continue;
    }
    // Its old own instance, still in the state dir, while services.yaml puts it on another server.
    const notThere = !stateSet.has(svc.server) || missing.has(dbKey(svc.server, svc.database));
    if (svc.server !== svc.name && orphanSet.has(svc.name) && notThere) {
      hints.push({
        kind: 'moved',
        service: svc.name,
        from: { server: svc.name, database: svc.database },
        to: { server: svc.server, database: svc.database },
        command: `dbps move ${svc.name}`,
      });
      claimedServers.add(svc.name);
      continue;
    }
    const first = leftByName.get(svc.database);
    const left =
      first && first.server === svc.server
        ? o.orphanDatabases.find((d) => d.database === svc.database && d.server !== svc.server && d.tables > 0)
        : first;
    if (left) {
      hints.push({
        kind: 'moved',
        service: svc.name,
        from: { server: left.server, database: left.database },
        to: { server: svc.server, database: svc.database },
        command: `dbps move ${svc.name}`,
      });
      claimedDbs.add(dbKey(left.server, left.database));
    }
  }
  const moved = new Set(hints.map((h) => h.service));
  // Renames: new services nothing holds data for yet, beside one orphan left by the old name.
  const newOwn = o.fleet.services.filter(
    (s) =>
      !moved.has(s.name) &&
      s.server === s.name &&
      s.isolation === 'instance' &&
      (!stateSet.has(s.name) || missing.has(dbKey(s.name, s.database))),
  );
  const orphanServers = o.orphanServers.filter((n) => !claimedServers.has(n) && !serviceNames.has(n));
  if (orphanServers.length === 1 && newOwn.length === 1) {
    const [from, to] = [orphanServers[0]!, newOwn[0]!];
    hints.push({
      kind: 'renamed',
      service: to.name,
      from: { server: from, database: from },
      to: { server: to.server, database: to.database },
      command: `dbps move ${from} --to ${to.name}`,
    });
  }
  // The same on a shared server: one orphan database with tables, one service whose database is not there.
  const leftOn = new Map<string, OrphanDatabase[]>();
  for (const d of o.orphanDatabases) {
    if (d.tables === 0 || claimedDbs.has(dbKey(d.server, d.database)) || serviceNames.has(d.database)) continue;
    leftOn.set(d.server, [...(leftOn.get(d.server) ?? []), d]);
  }
  const withoutData = new Map<string, FleetService[]>();
  for (const s of o.fleet.services) {
    if (moved.has(s.name) || !missing.has(dbKey(s.server, s.database))) continue;
    withoutData.set(s.server, [...(withoutData.get(s.server) ?? []), s]);
  }
  for (const [server, dbs] of leftOn) {
    const fresh = withoutData.get(server) ?? [];
    if (dbs.length !== 1 || fresh.length !== 1) continue;
    const [from, to] = [dbs[0]!, fresh[0]!];
    hints.push({
      kind: 'renamed',
      service: to.name,
      from: { server, database: from.database },
      to: { server, database: to.database },
      command: `dbps move ${from.database} --to ${to.name}`,
    });
  }
  return hints;
}

/**
 * The source server's desired state while a moved service's old copy is kept: its database stays (not an
 * orphan), and the service's accounts there may only read it, so plan, provision and audit agree on it.
 */
export function withMovedOut(desired: DesiredServer, moves: Iterable<MoveRecord>): DesiredServer {
  const mine = [...moves].filter((m) => m.phase === 'moved' && m.from.server === desired.server);
  if (mine.length === 0) return desired;
  const known = new Set(desired.accounts.map((a) => `${a.user}@${a.host}`));
  const databases = [...desired.databases];
  const accounts: DesiredAccount[] = [];
  for (const m of mine) {
    if (!databases.some((d) => d.name === m.from.database))
      databases.push({
        name: m.from.database,
        service: m.service,
        charset: m.from.charset,
        collation: m.from.collation,
      });
    for (const a of m.accounts) {
      if (known.has(`${a.user}@${a.host}`) || a.user === BACKUP_USER) continue;
      accounts.push({
        user: a.user,
        host: a.host,
        kind: 'readonly',
        service: m.service,
        ...(a.passwordEnv ? { passwordEnv: a.passwordEnv } : {}),
        requireSsl: a.requireSsl ?? false,
        grants: [
          {
            scope: { level: 'database', database: m.from.database },
            privileges: [...MOVED_OUT_PRIVILEGES],
            reason: `${m.service} moved to ${m.to.server}: its old copy is read-only until \`dbps move ${m.service} --finish\``,
          },
        ],
      });
    }
  }
  // The service's dbps accounts come before the server's own, as desiredServer orders them.
  const own = desired.accounts.filter((a) => a.service !== undefined);
  // dbps_backup keeps the dump grants it had on the old copy (granted while the service lived here)
  // until `--finish` drops the database: they are dbps's own, not drift.
  const server = desired.accounts
    .filter((a) => a.service === undefined)
    .map((a) =>
      a.user !== BACKUP_USER
        ? a
        : {
            ...a,
            grants: [
              ...a.grants,
              ...mine
                .filter(
                  (m) => !a.grants.some((g) => g.scope.level === 'database' && g.scope.database === m.from.database),
                )
                .map((m) => ({
                  scope: { level: 'database' as const, database: m.from.database },
                  privileges: sortPrivileges(LOGICAL_BACKUP_PRIVILEGES),
                  reason: `${m.service}'s old copy, kept until \`dbps move ${m.service} --finish\``,
                })),
            ],
          },
    );
  return { ...desired, databases, accounts: [...own, ...accounts, ...server] };
}

/** What a service's accounts keep on the old copy of its database after a move. */
export const MOVED_OUT_PRIVILEGES = ['SELECT', 'SHOW VIEW'] as const;

/**
 * The move an account left on a server belongs to: one of the moved service's accounts, or (rename) one
 * named after the old service. Such an account is the service's way into its data until the move.
 */
export function moveOfAccount(
  hints: readonly MoveHint[],
  fleet: Fleet,
  server: string,
  user: string,
): MoveHint | undefined {
  return hints.find((h) => {
    if (h.kind === 'moved-out' || h.from.server !== server) return false;
    if (h.kind === 'renamed') return user.startsWith(`${h.from.database}_`);
    return fleet.services.find((s) => s.name === h.service)?.accounts.some((a) => a.user === user) ?? false;
  });
}
