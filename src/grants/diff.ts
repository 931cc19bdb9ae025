// Desired state vs a server's catalog -> typed changes. Pure: the observation of the server
// (catalog, password check, existing tables) is gathered by the caller and passed in.
import {
  type DesiredAccount,
  type DesiredPurgeEvent,
  type DesiredServer,
  type GrantScope,
  OUTBOX_COLUMNS,
  OUTBOX_PUBLISHED_COLUMN,
  PURGE_EVENT_COMMENT,
} from '../fleet/desired.js';
import { dbPatternText } from '../sql/quote.js';
import { hasPublicRole, PUBLIC_ROLE } from './effective.js';
import { GRANT_OPTION } from './privileges.js';
import { purgeEventBody } from './sql.js';
import { accountKey, type Catalog } from './types.js';

/** Where privileges apply, as SQL sees it: database grants carry the escaped LIKE pattern. */
export type PrivilegeTarget =
  | { level: 'global' }
  | { level: 'database'; pattern: string }
  | { level: 'table'; database: string; table: string }
  | { level: 'column'; database: string; table: string; column: string }
  | { level: 'routine'; database: string; routine: string; routineType: string };

/** Where a password comes from; the secret itself never sits in a Change. */
export interface PasswordRef {
  /** Key in secrets.env (generated passwords) or the env variable named by passwordEnv. */
  source: 'env' | 'generated';
  name: string;
}

interface ChangeBase {
  server: string;
  /** Owning service; absent for the accounts dbps manages per server and for orphans. */
  service?: string;
  /** What the change acts on, for people: `database orders`, `'orders_app'@'%' on orders.*`. */
  object: string;
  reason: string;
  destructive: boolean;
}

export type Change =
  | (ChangeBase & { kind: 'create-database'; database: string; charset: string; collation: string })
  | (ChangeBase & { kind: 'alter-database'; database: string; charset: string; collation: string })
  | (ChangeBase & { kind: 'create-outbox-table'; database: string; table: string })
  /** CREATE (OR REPLACE when `replace`) the event purging published outbox rows, defined by the migrator. */
  | (ChangeBase & {
      kind: 'create-outbox-purge';
      database: string;
      event: string;
      table: string;
      retentionSeconds: number;
      everySeconds: number;
      definer: { user: string; host: string };
      replace: boolean;
    })
  | (ChangeBase & { kind: 'drop-outbox-purge'; database: string; event: string })
  | (ChangeBase & {
      kind: 'create-user';
      user: string;
      host: string;
      password: PasswordRef;
      maxUserConnections: number;
      requireSsl: boolean;
    })
  | (ChangeBase & {
      kind: 'alter-user';
      user: string;
      host: string;
      password?: PasswordRef;
      maxUserConnections?: number;
      requireSsl?: boolean;
      unlock?: boolean;
    })
  | (ChangeBase & { kind: 'grant'; user: string; host: string; target: PrivilegeTarget; privileges: string[] })
  | (ChangeBase & { kind: 'revoke'; user: string; host: string; target: PrivilegeTarget; privileges: string[] })
  | (ChangeBase & { kind: 'revoke-role'; user: string; host: string; role: string })
  | (ChangeBase & { kind: 'revoke-proxy'; user: string; host: string; proxiedUser: string; proxiedHost: string })
  /** A privilege held by PUBLIC (10.11+): every account of the server has it, so dbps wants none. */
  | (ChangeBase & { kind: 'revoke-public'; target: PrivilegeTarget; privileges: string[] })
  /** A role granted to PUBLIC: active for every account without SET ROLE. */
  | (ChangeBase & { kind: 'revoke-public-role'; role: string })
  | (ChangeBase & { kind: 'drop-user'; user: string; host: string })
  | (ChangeBase & { kind: 'drop-database'; database: string; tables: number });

export type ChangeKind = Change['kind'];

/** Something dbps does not manage that is reported: accounts and databases not in services.yaml. */
export interface Orphan {
  server: string;
  kind: 'user' | 'database';
  object: string;
  /** Tables in an orphan database (dropping it needs --force-drop-data when > 0). */
  tables?: number;
  /** Why it is kept even with --prune, when it is. */
  kept?: string;
}

/** A desired grant that cannot be made yet (its table does not exist). */
export interface Deferred {
  server: string;
  service?: string;
  object: string;
  reason: string;
  /** Something dbps cannot repair by itself that leaves the server out of sync (plan exits 1). */
  blocking?: boolean;
}

/** What the caller observed on the server besides the catalog. */
export interface ServerObservation {
  catalog: Catalog;
  /** accountKey() of existing desired accounts whose stored password is not the desired one. */
  passwordMismatch: ReadonlySet<string>;
  /** `db.table` keys (see tableKey) of the tables dbps needs to know about that exist. */
  existingTables: ReadonlySet<string>;
  /** Number of tables per orphan database. */
  tableCounts: ReadonlyMap<string, number>;
  /** Column names of each existing outbox table (tableKey); absent = not observed, not checked. */
  outboxColumns?: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Events found under the purge-event names of this server's services (tableKey(database, event));
   * absent = not observed, not checked.
   */
  purgeEvents?: ReadonlyMap<string, ObservedEvent>;
  /** @@GLOBAL.event_scheduler (`ON`, `OFF`, `DISABLED`); absent = not observed, not checked. */
  eventScheduler?: string;
  /** accountKey()s dbps never reports or drops (the admin account it connects as). */
  protectedAccounts: ReadonlySet<string>;
}

/** An event as information_schema.EVENTS shows it. */
export interface ObservedEvent {
  /** `user@host`, as EVENTS.DEFINER stores it. */
  definer: string;
  body: string;
  /** EVERY value and unit (`3600`, `SECOND`); null for a one-time event. */
  intervalValue: string | null;
  intervalField: string | null;
  /** ENABLED, DISABLED or SLAVESIDE_DISABLED. */
  status: string;
  onCompletion: string;
  comment: string;
}

export interface DiffOptions {
  /** Limit to these services (plus the server's own dbps accounts); orphans are not computed then. */
  services?: ReadonlySet<string>;
  /** Emit drop changes for orphans. */
  prune: boolean;
  /** Allow dropping orphan databases that hold tables. */
  forceDropData: boolean;
  /** How each desired account's password is sourced. */
  passwordOf(account: DesiredAccount): PasswordRef;
}

export interface ServerDiff {
  server: string;
  changes: Change[];
  orphans: Orphan[];
  deferred: Deferred[];
}

/** Accounts and schemas that belong to MariaDB itself. */
const SYSTEM_USERS = new Set(['root', 'mysql', 'mariadb.sys', 'PUBLIC']);
const SYSTEM_DATABASES = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

/** Key for existingTables. */
export function tableKey(database: string, table: string): string {
  return `${database}.${table}`;
}

/** Human form of a target: `*.*`, `orders.*`, `orders.t`, `orders.t(col)`. */
export function describeTarget(t: PrivilegeTarget): string {
  switch (t.level) {
    case 'global':
      return '*.*';
    case 'database':
      return `${t.pattern}.*`;
    case 'table':
      return `${t.database}.${t.table}`;
    case 'column':
      return `${t.database}.${t.table}(${t.column})`;
    case 'routine':
      return `${t.routineType} ${t.database}.${t.routine}`;
  }
}

function targetOf(scope: GrantScope): PrivilegeTarget {
  switch (scope.level) {
    case 'global':
      return { level: 'global' };
    case 'database':
      // mysql.db stores the LIKE pattern; dbps always grants the escaped name, so compare escaped.
      return { level: 'database', pattern: dbPatternText(scope.database) };
    case 'table':
      return { level: 'table', database: scope.database, table: scope.table };
    case 'column':
      return { level: 'column', database: scope.database, table: scope.table, column: scope.column };
  }
}

function targetKey(t: PrivilegeTarget): string {
  return `${t.level}\u0000${describeTarget(t)}`;
}

interface HeldGrant {
  target: PrivilegeTarget;
  privileges: string[];
  grantOption: boolean;
}

/** Every privilege row of every account in the catalog, by account key then target (one pass, not one per account). */
function heldGrantsByAccount(catalog: Catalog): Map<string, Map<string, HeldGrant>> {
  const byAccount = new Map<string, Map<string, HeldGrant>>();
  const add = (user: string, host: string, target: PrivilegeTarget, privileges: string[], grantOption: boolean) => {
    if (privileges.length === 0 && !grantOption) return;
    const key = accountKey(user, host);
    let held = byAccount.get(key);
    if (!held) {
      held = new Map();
      byAccount.set(key, held);
    }
    held.set(targetKey(target), { target, privileges, grantOption });
  };
  for (const a of catalog.accounts) add(a.user, a.host, { level: 'global' }, a.globalPrivileges, a.globalGrantOption);
  for (const g of catalog.dbGrants)
    add(g.user, g.host, { level: 'database', pattern: g.db }, g.privileges, g.grantOption);
  for (const g of catalog.tableGrants)
    add(g.user, g.host, { level: 'table', database: g.db, table: g.table }, g.privileges, g.grantOption);
  for (const g of catalog.columnGrants)
    add(g.user, g.host, { level: 'column', database: g.db, table: g.table, column: g.column }, g.privileges, false);
  for (const g of catalog.routineGrants) {
    add(
      g.user,
      g.host,
      { level: 'routine', database: g.db, routine: g.routine, routineType: g.routineType },
      g.privileges,
      g.grantOption,
    );
  }
  return byAccount;
}

/** Diffs one server: databases, outbox tables, accounts, grants (missing and extra), orphans. */
export function diffServer(desired: DesiredServer, observed: ServerObservation, opts: DiffOptions): ServerDiff {
  const { catalog } = observed;
  const server = desired.server;
  const changes: Change[] = [];
  const deferred: Deferred[] = [];
  const orphans: Orphan[] = [];
  const selected = (service?: string) => !opts.services || service === undefined || opts.services.has(service);

  // Databases.
  const details = new Map((catalog.databaseDetails ?? []).map((d) => [d.name, d]));
  const existingDbs = new Set(catalog.databases);
  for (const db of desired.databases) {
    if (!selected(db.service)) continue;
    const base = { server, service: db.service, object: `database ${db.name}`, destructive: false };
    if (!existingDbs.has(db.name)) {
      changes.push({
        ...base,
        kind: 'create-database',
        database: db.name,
        charset: db.charset,
        collation: db.collation,
        reason: `service ${db.service} owns it`,
      });
      continue;
    }
    const d = details.get(db.name);
    if (d && (d.charset !== db.charset || d.collation !== db.collation)) {
      changes.push({
        ...base,
        kind: 'alter-database',
        database: db.name,
        charset: db.charset,
        collation: db.collation,
        reason: `default is ${d.charset}/${d.collation}, services.yaml says ${db.charset}/${db.collation} (existing tables keep theirs)`,
      });
    }
  }

  // Outbox tables come before grants: table and column grants need the table to exist.
  for (const o of desired.outboxes) {
    if (!selected(o.service)) continue;
    if (!observed.existingTables.has(tableKey(o.database, o.table))) {
      changes.push({
        server,
        service: o.service,
        object: `table ${o.database}.${o.table}`,
        destructive: false,
        kind: 'create-outbox-table',
        database: o.database,
        table: o.table,
        reason: `services.${o.service}.outbox is true`,
      });
    }
  }
  // An existing outbox table whose columns a migrator renamed or dropped breaks the relay (1054) while every
  // grant still looks right: plan reports it and is not in sync until the table has its columns again.
  for (const o of desired.outboxes) {
    if (!selected(o.service)) continue;
    const columns = observed.outboxColumns?.get(tableKey(o.database, o.table));
    if (!columns) continue;
    const missing = OUTBOX_COLUMNS.filter((c) => !columns.has(c));
    if (missing.length === 0) continue;
    deferred.push({
      server,
      service: o.service,
      object: `table ${o.database}.${o.table}`,
      reason: `the outbox table lacks column${missing.length === 1 ? '' : 's'} ${missing.join(', ')}, which its relay reads${missing.includes(OUTBOX_PUBLISHED_COLUMN) ? ` and updates` : ''}; rename ${missing.length === 1 ? 'it' : 'them'} back (ALTER TABLE … RENAME COLUMN …) in a migration of ${o.service}`,
      blocking: true,
    });
  }
  diffPurgeEvents(desired, observed, selected, changes, deferred);
  const creatingTables = new Set(
    changes.flatMap((c) => (c.kind === 'create-outbox-table' ? [tableKey(c.database, c.table)] : [])),
  );
  const tableWillExist = (db: string, table: string) =>
    observed.existingTables.has(tableKey(db, table)) || creatingTables.has(tableKey(db, table));

  // Accounts and their grants.
  const catalogAccounts = new Map(
    catalog.accounts.filter((a) => !a.isRole).map((a) => [accountKey(a.user, a.host), a]),
  );
  const heldByAccount = heldGrantsByAccount(catalog);
  for (const want of desired.accounts) {
    if (!selected(want.service)) continue;
    const key = accountKey(want.user, want.host);
    const acct = `'${want.user}'@'${want.host}'`;
    const base = { server, ...(want.service ? { service: want.service } : {}), destructive: false };
    const have = catalogAccounts.get(key);
    const wantMax = want.maxUserConnections ?? 0;
    if (!have) {
      changes.push({
        ...base,
        kind: 'create-user',
        object: acct,
        user: want.user,
        host: want.host,
        password: opts.passwordOf(want),
        maxUserConnections: wantMax,
        requireSsl: want.requireSsl,
        reason: want.service ? `role ${want.kind} of service ${want.service}` : `dbps ${want.kind} account`,
      });
    } else {
      const reasons: string[] = [];
      const alter: { password?: PasswordRef; maxUserConnections?: number; requireSsl?: boolean; unlock?: boolean } = {};
      if (observed.passwordMismatch.has(key)) {
        alter.password = opts.passwordOf(want);
        reasons.push(
          alter.password.source === 'env'
            ? `password differs from $${alter.password.name} (provision replaces it at once; \`dbps rotate ${want.service ?? '<service>'}\` changes it without downtime)`
            : 'password differs from the stored secret',
        );
      }
      if (have.maxUserConnections !== wantMax) {
        alter.maxUserConnections = wantMax;
        reasons.push(`max_user_connections is ${have.maxUserConnections}, want ${wantMax}`);
      }
      const wantSsl = want.requireSsl ? 'ANY' : '';
      if (have.sslType !== wantSsl) {
        alter.requireSsl = want.requireSsl;
        reasons.push(want.requireSsl ? 'SSL is not required yet' : `REQUIRE ${have.sslType} set by hand`);
      }
      if (have.locked) {
        alter.unlock = true;
        reasons.push('account is locked');
      }
      if (reasons.length > 0)
        changes.push({
          ...base,
          kind: 'alter-user',
          object: acct,
          user: want.user,
          host: want.host,
          ...alter,
          reason: reasons.join('; '),
        });
    }

    const held = (have && heldByAccount.get(key)) || new Map<string, HeldGrant>();
    const deferredTargets = new Set<string>();
    const wanted = new Map<string, { target: PrivilegeTarget; privileges: Set<string>; reason: string }>();
    for (const g of want.grants) {
      const target = targetOf(g.scope);
      if ((target.level === 'table' || target.level === 'column') && !tableWillExist(target.database, target.table)) {
        deferredTargets.add(targetKey(target));
        deferred.push({
          server,
          ...(want.service ? { service: want.service } : {}),
          object: `${acct} on ${describeTarget(target)}`,
          reason: `table ${target.database}.${target.table} does not exist yet; run provision again once it does (${g.reason})`,
        });
        continue;
      }
      const k = targetKey(target);
      const entry = wanted.get(k) ?? { target, privileges: new Set<string>(), reason: g.reason };
      for (const p of g.privileges) entry.privileges.add(p);
      wanted.set(k, entry);
    }
    for (const [k, w] of wanted) {
      const h = held.get(k);
      const missing = [...w.privileges].filter((p) => !h?.privileges.includes(p)).sort();
      if (missing.length > 0) {
        changes.push({
          ...base,
          kind: 'grant',
          object: `${acct} on ${describeTarget(w.target)}`,
          user: want.user,
          host: want.host,
          target: w.target,
          privileges: missing,
          reason: w.reason,
        });
      }
    }
    for (const [k, h] of held) {
      const w = wanted.get(k);
      const extra = h.privileges.filter((p) => !w?.privileges.has(p));
      if (h.grantOption) extra.push(GRANT_OPTION);
      if (extra.length === 0) continue;
      // A deferred desired grant on this target keeps what is already held there.
      if (!w && deferredTargets.has(k)) continue;
      changes.push({
        ...base,
        kind: 'revoke',
        object: `${acct} on ${describeTarget(h.target)}`,
        user: want.user,
        host: want.host,
        target: h.target,
        privileges: extra.sort(),
        reason: 'not in services.yaml (drift)',
      });
    }
    if (have) {
      for (const r of catalog.roleGrants) {
        if (r.user === want.user && r.host === want.host) {
          changes.push({
            ...base,
            kind: 'revoke-role',
            object: `${acct} role ${r.role}`,
            user: want.user,
            host: want.host,
            role: r.role,
            reason: 'role granted outside services.yaml (drift)',
          });
        }
      }
      for (const p of catalog.proxyGrants) {
        if (p.user === want.user && p.host === want.host) {
          changes.push({
            ...base,
            kind: 'revoke-proxy',
            object: `${acct} proxy for '${p.proxiedUser}'@'${p.proxiedHost}'`,
            user: want.user,
            host: want.host,
            proxiedUser: p.proxiedUser,
            proxiedHost: p.proxiedHost,
            reason: 'proxy privilege granted outside services.yaml (drift)',
          });
        }
      }
    }
  }

  // PUBLIC: whatever it holds, every account of the server holds (no SET ROLE needed), so on a managed
  // server it holds nothing, whichever services are selected.
  if (hasPublicRole(catalog.version)) {
    const publicBase = {
      server,
      destructive: false,
      reason: 'granted to PUBLIC: every account of the server holds it (drift)',
    };
    for (const h of heldByAccount.get(accountKey(PUBLIC_ROLE, ''))?.values() ?? []) {
      const privileges = [...h.privileges.filter((p) => p !== 'USAGE'), ...(h.grantOption ? [GRANT_OPTION] : [])];
      if (privileges.length === 0) continue;
      changes.push({
        ...publicBase,
        kind: 'revoke-public',
        object: `PUBLIC on ${describeTarget(h.target)}`,
        target: h.target,
        privileges: privileges.sort(),
      });
    }
    for (const r of catalog.roleGrants) {
      if (r.user !== PUBLIC_ROLE || r.host !== '') continue;
      changes.push({ ...publicBase, kind: 'revoke-public-role', object: `PUBLIC role ${r.role}`, role: r.role });
    }
  }

  // Shadows: a managed user name on a host services.yaml does not declare. Whoever connects from
  // that host logs in as it, with whatever it holds, so it is drift and is dropped, not an orphan.
  const desiredAccounts = new Set(desired.accounts.map((a) => accountKey(a.user, a.host)));
  const managedUsers = new Map<string, DesiredAccount>();
  for (const a of desired.accounts) if (selected(a.service)) managedUsers.set(a.user, a);
  const shadows = new Set<string>();
  for (const a of catalog.accounts) {
    const owner = managedUsers.get(a.user);
    const key = accountKey(a.user, a.host);
    if (!owner || a.isRole || desiredAccounts.has(key) || observed.protectedAccounts.has(key)) continue;
    shadows.add(key);
    changes.push({
      server,
      ...(owner.service ? { service: owner.service } : {}),
      kind: 'drop-user',
      object: `'${a.user}'@'${a.host}'`,
      user: a.user,
      host: a.host,
      destructive: false,
      reason: `shadows the managed account '${owner.user}'@'${owner.host}': same user name on a host services.yaml does not declare (drift)`,
    });
  }

  // Orphans: only with the whole fleet in view, else every other service would look orphaned.
  if (!opts.services) {
    for (const a of catalog.accounts) {
      if (a.isRole || SYSTEM_USERS.has(a.user) || a.user === '') continue;
      const key = accountKey(a.user, a.host);
      if (desiredAccounts.has(key) || shadows.has(key) || observed.protectedAccounts.has(key)) continue;
      orphans.push({ server, kind: 'user', object: `'${a.user}'@'${a.host}'` });
      if (opts.prune) {
        changes.push({
          server,
          kind: 'drop-user',
          object: `'${a.user}'@'${a.host}'`,
          user: a.user,
          host: a.host,
          destructive: true,
          reason: 'not in services.yaml (--prune)',
        });
      }
    }
    const desiredDbs = new Set(desired.databases.map((d) => d.name));
    for (const name of catalog.databases) {
      if (SYSTEM_DATABASES.has(name) || desiredDbs.has(name)) continue;
      const tables = observed.tableCounts.get(name) ?? 0;
      const keep =
        tables > 0 && !opts.forceDropData
          ? `holds ${tables} table${tables === 1 ? '' : 's'}; add --force-drop-data to drop it`
          : undefined;
      orphans.push({
        server,
        kind: 'database',
        object: `database ${name}`,
        tables,
        ...(opts.prune && keep ? { kept: keep } : {}),
      });
      if (opts.prune && !keep) {
        changes.push({
          server,
          kind: 'drop-database',
          object: `database ${name}`,
          database: name,
          tables,
          destructive: true,
          reason: 'not in services.yaml (--prune)',
        });
      }
    }
  }
  return { server, changes: orderChanges(changes), orphans, deferred };
}

/**
 * Purge events: a missing one is created, one that differs from services.yaml (definer, body, schedule,
 * disabled) is replaced, and one dbps made for a service whose retention was removed is dropped. Only
 * events carrying dbps's comment are dropped: a migration's own event of that name is left alone.
 */
function diffPurgeEvents(
  desired: DesiredServer,
  observed: ServerObservation,
  selected: (service?: string) => boolean,
  changes: Change[],
  deferred: Deferred[],
): void {
  const server = desired.server;
  // An event never fires with the scheduler off: the outbox is not purged, whatever the event looks like.
  if (observed.eventScheduler !== undefined && observed.eventScheduler.toUpperCase() !== 'ON') {
    for (const p of desired.purgeEvents) {
      if (!selected(p.service)) continue;
      deferred.push({
        server,
        service: p.service,
        object: `event ${p.database}.${p.event}`,
        reason: `event_scheduler is ${observed.eventScheduler} on this server, so the outbox purge never runs; turn it on (event_scheduler=ON in my.cnf, which the oltp profile sets, and SET GLOBAL event_scheduler = ON)`,
        blocking: true,
      });
    }
  }
  if (!observed.purgeEvents) return;
  const wanted = new Set<string>();
  for (const p of desired.purgeEvents) {
    if (!selected(p.service)) continue;
    const key = tableKey(p.database, p.event);
    wanted.add(key);
    const have = observed.purgeEvents.get(key);
    const differences = have ? purgeEventDifferences(p, have) : [];
    if (have && differences.length === 0) continue;
    changes.push({
      server,
      service: p.service,
      object: `event ${p.database}.${p.event}`,
      destructive: false,
      kind: 'create-outbox-purge',
      database: p.database,
      event: p.event,
      table: p.table,
      retentionSeconds: p.retentionSeconds,
      everySeconds: p.everySeconds,
      definer: { ...p.definer },
      replace: have !== undefined,
      reason: have
        ? `${differences.join('; ')} (drift)`
        : `services.${p.service}.outbox.retention purges published events after ${p.retentionSeconds} s`,
    });
  }
  for (const c of desired.purgeEventCandidates) {
    if (!selected(c.service)) continue;
    const key = tableKey(c.database, c.event);
    if (wanted.has(key)) continue;
    const have = observed.purgeEvents.get(key);
    if (!have || have.comment !== PURGE_EVENT_COMMENT) continue;
    changes.push({
      server,
      service: c.service,
      object: `event ${c.database}.${c.event}`,
      destructive: false,
      kind: 'drop-outbox-purge',
      database: c.database,
      event: c.event,
      reason: `services.${c.service}.outbox has no retention: published events are kept`,
    });
  }
}

/** What differs between a desired purge event and the one on the server, for plans. */
function purgeEventDifferences(p: DesiredPurgeEvent, have: ObservedEvent): string[] {
  const out: string[] = [];
  const definer = `${p.definer.user}@${p.definer.host}`;
  if (have.definer !== definer) out.push(`definer is ${have.definer}, want ${definer}`);
  const body = purgeEventBody(p.database, p.table, p.retentionSeconds);
  if (have.body.trim() !== body) out.push('its body is not the purge of published events services.yaml asks for');
  const every = `${p.everySeconds} SECOND`;
  const haveEvery = have.intervalValue === null ? 'one-time' : `${have.intervalValue} ${have.intervalField}`;
  if (haveEvery !== every) out.push(`runs every ${haveEvery}, want every ${every}`);
  if (have.status !== 'ENABLED') out.push(`it is ${have.status}`);
  if (have.onCompletion !== 'PRESERVE') out.push(`ON COMPLETION is ${have.onCompletion}, want PRESERVE`);
  if (have.comment !== PURGE_EVENT_COMMENT) out.push('its comment is not the one dbps writes');
  return out;
}

const ORDER: Record<ChangeKind, number> = {
  'create-database': 0,
  'alter-database': 1,
  'create-outbox-table': 2,
  'create-user': 3,
  'alter-user': 4,
  grant: 5,
  // After the definer exists and holds its grants.
  'create-outbox-purge': 6,
  revoke: 7,
  'revoke-role': 8,
  'revoke-proxy': 9,
  'revoke-public': 10,
  'revoke-public-role': 11,
  'drop-outbox-purge': 12,
  'drop-user': 13,
  'drop-database': 14,
};

/** Plan order: databases, tables, users, grants, then revokes and drops (stable within a kind). */
export function orderChanges(changes: Change[]): Change[] {
  return changes
    .map((c, i) => ({ c, i }))
    .sort((a, b) => ORDER[a.c.kind] - ORDER[b.c.kind] || a.i - b.i)
    .map((x) => x.c);
}
