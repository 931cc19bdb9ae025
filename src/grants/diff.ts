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
import { type DesiredLink, LINK_PREFIX, linkConnection } from '../fleet/links.js';
import { LOGICAL_BACKUP_ROUTINES_TABLE } from '../fleet/roles.js';
import { dbPatternText, ident } from '../sql/quote.js';
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
  /** INSTALL SONAME 'ha_connect': a declared link needs the CONNECT engine on the reader's server. */
  | (ChangeBase & { kind: 'install-connect' })
  /** CREATE (OR REPLACE) SERVER: the link account's address and credentials, kept in mysql.servers (admins only). */
  | (ChangeBase & {
      kind: 'create-link-server';
      serverName: string;
      host: string;
      port: number;
      database: string;
      user: string;
      password: PasswordRef;
      replace: boolean;
    })
  /** CREATE OR REPLACE TABLE … ENGINE=CONNECT TABLE_TYPE=MYSQL CONNECTION='<server>/<table>'. */
  | (ChangeBase & {
      kind: 'create-link-table';
      database: string;
      table: string;
      serverName: string;
      remoteTable: string;
    })
  /** CREATE OR REPLACE DEFINER=<link definer> SQL SECURITY DEFINER VIEW over a link's CONNECT table. */
  | (ChangeBase & {
      kind: 'create-link-view';
      database: string;
      view: string;
      table: string;
      definer: { user: string; host: string };
    })
  | (ChangeBase & { kind: 'drop-link-view'; database: string; view: string })
  | (ChangeBase & { kind: 'drop-link-table'; database: string; table: string })
  | (ChangeBase & { kind: 'drop-link-server'; serverName: string })
  | (ChangeBase & {
      kind: 'create-user';
      user: string;
      host: string;
      password: PasswordRef;
      maxUserConnections: number;
      requireSsl: boolean;
      /** ACCOUNT LOCK (a link's view definer). */
      locked?: boolean;
    })
  | (ChangeBase & {
      kind: 'alter-user';
      user: string;
      host: string;
      password?: PasswordRef;
      maxUserConnections?: number;
      requireSsl?: boolean;
      unlock?: boolean;
      lock?: boolean;
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
  /** Link objects on this server; absent = not observed (the server has no link and dbps made none). */
  links?: ObservedLinks;
}

/** What provision reads about declared links on a reader's server. */
export interface ObservedLinks {
  /** Whether ENGINE=CONNECT is available (information_schema.ENGINES). */
  connectEngine: boolean;
  /** mysql.servers entries named dbps_link_*; `passwordOk` compares a hash, never the secret itself. */
  servers: ReadonlyMap<string, { host: string; port: number; database: string; user: string; passwordOk: boolean }>;
  /** CONNECT tables whose CONNECTION names a dbps_link_* server (`<server>/<table>`), by tableKey. */
  tables: ReadonlyMap<string, { connection: string }>;
  /** Views that are a desired link view or read a dbps link table, by tableKey. */
  views: ReadonlyMap<string, { definer: string; security: string; definition: string }>;
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
  /**
   * Links: where each target server is reached from this server (host, port), and which target tables
   * exist (`<server>\u0000<db>.<table>`). Absent: links are not created in this pass (their target
   * accounts may not exist yet), only removed ones are dropped.
   */
  links?: {
    addressOf(server: string): { host: string; port: number } | undefined;
    targetTables: ReadonlySet<string>;
    /** Target servers that could not be read: their links wait (deferred), nothing is guessed. */
    unreachable?: ReadonlySet<string>;
    passwordOf(link: DesiredLink): PasswordRef;
  };
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
  diffLinks(desired, observed, opts, selected, changes, deferred);
  const creatingTables = new Set(
    changes.flatMap((c) =>
      c.kind === 'create-outbox-table' || c.kind === 'create-link-table' ? [tableKey(c.database, c.table)] : [],
    ),
  );
  // mysql.proc (dbps_backup's routine bodies) is part of every server's system schema.
  const tableWillExist = (db: string, table: string) =>
    observed.existingTables.has(tableKey(db, table)) ||
    creatingTables.has(tableKey(db, table)) ||
    (db === LOGICAL_BACKUP_ROUTINES_TABLE.database && table === LOGICAL_BACKUP_ROUTINES_TABLE.table);

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
        ...(want.locked ? { locked: true } : {}),
        reason:
          want.kind === 'link'
            ? `read-only account of services.${want.service}.links`
            : want.kind === 'link-definer'
              ? `locked definer of the views of services.${want.service}.links`
              : want.service
                ? `role ${want.kind} of service ${want.service}`
                : `dbps ${want.kind} account`,
      });
    } else {
      const reasons: string[] = [];
      const alter: {
        password?: PasswordRef;
        maxUserConnections?: number;
        requireSsl?: boolean;
        unlock?: boolean;
        lock?: boolean;
      } = {};
      if (observed.passwordMismatch.has(key)) {
        alter.password = opts.passwordOf(want);
        reasons.push(
          alter.password.source === 'env'
            ? `password differs from $${alter.password.name}`
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
      if (have.locked && !want.locked) {
        alter.unlock = true;
        reasons.push('account is locked');
      }
      if (!have.locked && want.locked) {
        alter.lock = true;
        reasons.push('account is not locked (a link definer nobody logs in as)');
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

/**
 * Links on the reader's server: the CONNECT engine, one CREATE SERVER entry per link, one CONNECT table
 * and one view per declared table. Creation waits for a pass with `opts.links` (the target accounts
 * exist then); objects dbps made for a link no longer declared are dropped (they hold no data).
 */
function diffLinks(
  desired: DesiredServer,
  observed: ServerObservation,
  opts: DiffOptions,
  selected: (service?: string) => boolean,
  changes: Change[],
  deferred: Deferred[],
): void {
  const seen = observed.links;
  if (!seen) return;
  const server = desired.server;
  const base = { server, destructive: false };
  const wantedServers = new Set<string>();
  const wantedTables = new Set<string>();
  const wantedViews = new Set<string>();
  const links = desired.links.filter((l) => selected(l.service));
  for (const l of links) {
    wantedServers.add(l.serverName);
    for (const t of l.tables) {
      wantedTables.add(tableKey(l.database, t.connectTable));
      wantedViews.add(tableKey(l.database, t.view));
    }
  }
  if (opts.links && links.length > 0 && !seen.connectEngine)
    changes.push({
      ...base,
      kind: 'install-connect',
      object: 'plugin ha_connect',
      reason: `services.${links[0]!.service}.links needs the CONNECT engine`,
    });
  const lo = opts.links;
  for (const l of lo ? links : []) {
    if (!lo) break;
    const svc = { ...base, service: l.service };
    const address = lo.addressOf(l.target.server);
    if (lo.unreachable?.has(l.target.server)) {
      deferred.push({
        ...svc,
        object: `link ${l.service} → ${l.target.service}`,
        reason: `server ${l.target.server} could not be reached to check the linked tables; start it (dbps up) or check its address, then run provision again`,
        blocking: true,
      });
      continue;
    }
    if (!address) {
      deferred.push({
        ...svc,
        object: `link ${l.service} → ${l.target.service}`,
        reason: `the address of server ${l.target.server} is not known yet (start it with dbps up), so the link cannot be made`,
        blocking: true,
      });
      continue;
    }
    const have = seen.servers.get(l.serverName);
    const differs: string[] = [];
    if (have) {
      if (have.host !== address.host || have.port !== address.port)
        differs.push(`points at ${have.host}:${have.port}, want ${address.host}:${address.port}`);
      if (have.database !== l.target.database) differs.push(`database is ${have.database}, want ${l.target.database}`);
      if (have.user !== l.user) differs.push(`user is ${have.user}, want ${l.user}`);
      if (!have.passwordOk) differs.push("password differs from the link account's stored secret");
    }
    const serverChanged = !have || differs.length > 0;
    if (serverChanged)
      changes.push({
        ...svc,
        kind: 'create-link-server',
        object: `server ${l.serverName}`,
        serverName: l.serverName,
        host: address.host,
        port: address.port,
        database: l.target.database,
        user: l.user,
        password: lo.passwordOf(l),
        replace: have !== undefined,
        reason: have
          ? `${differs.join('; ')} (drift)`
          : `services.${l.service}.links reads ${l.target.service} on server ${l.target.server}`,
      });
    for (const t of l.tables) {
      const tkey = tableKey(l.database, t.connectTable);
      const vkey = tableKey(l.database, t.view);
      if (!lo.targetTables.has(`${l.target.server}\u0000${tableKey(l.target.database, t.remote)}`)) {
        deferred.push({
          ...svc,
          object: `link table ${l.database}.${t.view}`,
          reason: `table ${l.target.database}.${t.remote} does not exist on server ${l.target.server} yet; run provision again once it does (declared in services.${l.service}.links)`,
        });
        continue;
      }
      const table = seen.tables.get(tkey);
      // CREATE OR REPLACE would drop a table of the service that happens to have the name: never.
      if (!table && observed.existingTables.has(tkey)) {
        deferred.push({
          ...svc,
          object: `link table ${l.database}.${t.connectTable}`,
          reason: `${l.database}.${t.connectTable} exists and is not this link's CONNECT table; rename it in a migration of ${l.service}, then run provision again`,
          blocking: true,
        });
        continue;
      }
      // A CONNECT table reads its columns from the remote table when created: re-created with its server.
      const connection = linkConnection(l.serverName, t.remote);
      const tableChanged = !table || table.connection !== connection || serverChanged;
      if (tableChanged)
        changes.push({
          ...svc,
          kind: 'create-link-table',
          object: `table ${l.database}.${t.connectTable}`,
          database: l.database,
          table: t.connectTable,
          serverName: l.serverName,
          remoteTable: t.remote,
          reason: table
            ? table.connection !== connection
              ? `CONNECTION is '${table.connection}', want '${connection}' (drift)`
              : 'its server entry is re-created'
            : `CONNECT table reading ${l.target.service}.${t.remote} (services.${l.service}.links)`,
        });
      const view = seen.views.get(vkey);
      const definer = `${l.definer.user}@${l.definer.host}`;
      const viewDiffers: string[] = [];
      if (view) {
        if (view.definer !== definer) viewDiffers.push(`definer is ${view.definer}, want ${definer}`);
        if (view.security !== 'DEFINER') viewDiffers.push(`SQL SECURITY is ${view.security}, want DEFINER`);
        if (!view.definition.includes(`${ident(l.database)}.${ident(t.connectTable)}`))
          viewDiffers.push(`it does not read ${l.database}.${t.connectTable}`);
      }
      if (!view || viewDiffers.length > 0 || tableChanged)
        changes.push({
          ...svc,
          kind: 'create-link-view',
          object: `view ${l.database}.${t.view}`,
          database: l.database,
          view: t.view,
          table: t.connectTable,
          definer: { ...l.definer },
          reason:
            viewDiffers.length > 0
              ? `${viewDiffers.join('; ')} (drift)`
              : view
                ? 'its CONNECT table is re-created'
                : `${l.service}'s accounts read ${l.target.service}.${t.remote} here, without FILE of their own`,
        });
    }
  }
  // Removed links: only objects dbps made (a dbps_link_* server, a CONNECT table naming one, a view a
  // dbps_link_* account defines over one of those), and only when the whole server's services are in view.
  if (opts.services) return;
  const linkTables = new Set(seen.tables.keys());
  for (const [key, v] of seen.views) {
    // Only views defined by a link account (dbps's, or an admin's naming it): a migration's own view is left alone.
    if (wantedViews.has(key) || !v.definer.startsWith(LINK_PREFIX)) continue;
    const [database, view] = splitKey(key);
    const readsLinkTable = [...linkTables].some((t) => {
      const [db, table] = splitKey(t);
      return db === database && v.definition.includes(`${ident(db)}.${ident(table)}`);
    });
    if (!readsLinkTable) continue;
    changes.push({
      ...base,
      kind: 'drop-link-view',
      object: `view ${database}.${view}`,
      database,
      view,
      reason: 'its link is no longer in services.yaml',
    });
  }
  for (const key of seen.tables.keys()) {
    if (wantedTables.has(key)) continue;
    const [database, table] = splitKey(key);
    changes.push({
      ...base,
      kind: 'drop-link-table',
      object: `table ${database}.${table}`,
      database,
      table,
      reason: 'its link is no longer in services.yaml',
    });
  }
  for (const name of seen.servers.keys()) {
    if (wantedServers.has(name) || !name.startsWith(LINK_PREFIX)) continue;
    changes.push({
      ...base,
      kind: 'drop-link-server',
      object: `server ${name}`,
      serverName: name,
      reason: 'its link is no longer in services.yaml',
    });
  }
}

/** `db.table` keys back into their parts (database names hold no dot: config checks them). */
function splitKey(key: string): [string, string] {
  const dot = key.indexOf('.');
  return [key.slice(0, dot), key.slice(dot + 1)];
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
  'install-connect': 2.1,
  'create-link-server': 2.2,
  // The CONNECT table before the grant on it; the view after its definer exists and holds that grant.
  'create-link-table': 2.3,
  'create-user': 3,
  'alter-user': 4,
  grant: 5,
  // After the definer exists and holds its grants.
  'create-outbox-purge': 6,
  'create-link-view': 6.1,
  revoke: 7,
  'revoke-role': 8,
  'revoke-proxy': 9,
  'revoke-public': 10,
  'revoke-public-role': 11,
  'drop-outbox-purge': 12,
  'drop-link-view': 12.1,
  'drop-link-table': 12.2,
  'drop-link-server': 12.3,
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
