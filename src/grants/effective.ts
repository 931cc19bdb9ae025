// Effective privileges of every account on one server, computed from its Catalog: what an account
// can do directly, through the roles it holds (default or SET ROLE-able, nested to any depth),
// through PUBLIC, and through grant rows stored for the same user name on another host (MariaDB
// matches mysql.db / tables_priv / columns_priv / procs_priv rows against the connecting client's
// user and host, not against the account row the login matched). Pure, so rules need no server.
import { atLeast, parseVersion } from '../util/version.js';
import { accountKey, type Catalog, type CatalogAccount, type CatalogRoutineGrant } from './types.js';

export type PrivilegeScope =
  | { level: 'global' }
  /** `pattern` is the stored mysql.db name: a LIKE pattern with `\_` / `\%` escapes. */
  | { level: 'database'; pattern: string }
  | { level: 'table'; database: string; table: string }
  | { level: 'column'; database: string; table: string; column: string }
  | { level: 'routine'; database: string; routine: string; routineType: CatalogRoutineGrant['routineType'] }
  | { level: 'proxy'; user: string; host: string };

/** How an account reaches a grant: held directly, through a chain of roles, through PUBLIC, or by a row of another host. */
export interface GrantPath {
  kind: 'direct' | 'role' | 'default-role' | 'public' | 'host-match';
  /** Roles from the account down to the one holding the grant (empty for the other kinds). */
  roles: string[];
  /** host-match: the stored row's user and host (user '' in mysql.db = any user) and whether that account exists. */
  row?: { user: string; host: string; accountExists: boolean };
}

export interface EffectiveGrant {
  scope: PrivilegeScope;
  /** Upper-case privilege names of one stored grant row (`PROXY` for proxy grants). */
  privileges: string[];
  grantOption: boolean;
  path: GrantPath;
}

export interface ReachedRole {
  role: string;
  /** Roles from the account to this one; the first was granted to the account. */
  chain: string[];
  /** Active at login: the account's default role or a role nested under it. */
  isDefault: boolean;
  /** The account may grant the first role of the chain on (WITH ADMIN OPTION). */
  withAdmin: boolean;
}

export interface EffectiveAccount {
  account: CatalogAccount;
  roles: ReachedRole[];
  grants: EffectiveGrant[];
}

/** The name MariaDB (10.11+) stores the PUBLIC pseudo-role under, with an empty host. */
export const PUBLIC_ROLE = 'PUBLIC';

/** True when the server version knows PUBLIC (10.11+); before that a role called PUBLIC is ordinary. */
export function hasPublicRole(version: string): boolean {
  try {
    return atLeast(parseVersion(version), 10, 11);
  } catch {
    return false;
  }
}

/**
 * Effective grants of every login account (roles themselves are not listed). Database, table, column
 * and routine rows stored for the account's user name on another host are included (path
 * `host-match`): a login as user@'%' from 127.0.0.1 also gets rows stored for user@'127.0.0.1', and
 * mysql.db rows with an empty user apply to every user. Whether the hosts can overlap is not decided
 * here (names, IPs and patterns resolve at connect time): any other host counts, conservatively.
 */
export function effectivePrivileges(catalog: Catalog): EffectiveAccount[] {
  const held = grantsByHolder(catalog);
  const hostRows = hostMatchedRows(catalog);
  const rolesOf = new Map<string, { role: string; withAdmin: boolean }[]>();
  for (const g of catalog.roleGrants) {
    const key = accountKey(g.user, g.host);
    let list = rolesOf.get(key);
    if (!list) {
      list = [];
      rolesOf.set(key, list);
    }
    list.push({ role: g.role, withAdmin: g.withAdmin });
  }
  // PUBLIC is a role every account holds, active without SET ROLE (CURRENT_ROLE() stays NULL), and so
  // are the roles granted to PUBLIC, nested to any depth (checked on 10.11): walk them like a default role.
  const publicKey = accountKey(PUBLIC_ROLE, '');
  const publicGrants: EffectiveGrant[] = [];
  if (hasPublicRole(catalog.version)) {
    for (const g of held.get(publicKey) ?? []) publicGrants.push({ ...g, path: { kind: 'public', roles: [] } });
    for (const r of reachRoles(publicKey, '', rolesOf))
      for (const g of held.get(accountKey(r.role, '')) ?? [])
        publicGrants.push({ ...g, path: { kind: 'public', roles: r.chain } });
  }

  const result: EffectiveAccount[] = [];
  for (const account of catalog.accounts) {
    if (account.isRole) continue;
    const roles = reachRoles(accountKey(account.user, account.host), account.defaultRole, rolesOf);
    const grants: EffectiveGrant[] = [];
    for (const g of held.get(accountKey(account.user, account.host)) ?? [])
      grants.push({ ...g, path: { kind: 'direct', roles: [] } });
    for (const r of roles) {
      for (const g of held.get(accountKey(r.role, '')) ?? []) {
        grants.push({ ...g, path: { kind: r.isDefault ? 'default-role' : 'role', roles: r.chain } });
      }
    }
    for (const g of publicGrants) grants.push(g);
    for (const r of hostRows.byUser.get(account.user) ?? []) {
      if (r.host !== account.host && rowApplies(r, account.host))
        grants.push({ ...r.grant, path: hostMatchPath(r, hostRows.logins) });
    }
    for (const r of hostRows.anyUser) {
      if (account.user !== '' || r.host !== account.host)
        grants.push({ ...r.grant, path: hostMatchPath(r, hostRows.logins) });
    }
    result.push({ account, roles, grants });
  }
  return result;
}

type HeldGrant = Omit<EffectiveGrant, 'path'>;

/**
 * Whether a grant row stored for another host can apply to a login of this account. mysql.db,
 * tables_priv and columns_priv rows match the client's host name or IP, so any host may (conservatively).
 * procs_priv rows match only the account's own host or the client's IP, never the client's host name
 * (checked on 10.11: a ('localhost', …) routine row gives 1370 over the socket, a ('127.0.0.1', …) row
 * works over TCP): a row whose host is a name can apply only to an account whose host its pattern matches.
 */
export function rowApplies(r: { host: string; grant: { scope: PrivilegeScope } }, accountHost: string): boolean {
  if (r.grant.scope.level !== 'routine') return true;
  return hostPatternMatches(r.host, accountHost) || couldMatchIp(r.host);
}

/** A host value of a procs_priv row that some client IP can match: an IPv4/IPv6 literal, pattern or netmask. */
export function couldMatchIp(host: string): boolean {
  return /^[0-9a-fA-F.:%_/]+$/.test(host) && /[0-9%_:]/.test(host);
}

// Host columns are LIKE patterns compared case-insensitively (host names are).
export function hostPatternMatches(pattern: string, host: string): boolean {
  return patternMatches(pattern.toLowerCase(), host.toLowerCase());
}

interface StoredRow {
  user: string;
  host: string;
  grant: HeldGrant;
}

function hostMatchPath(r: StoredRow, logins: Set<string>): GrantPath {
  return {
    kind: 'host-match',
    roles: [],
    row: { user: r.user, host: r.host, accountExists: logins.has(accountKey(r.user, r.host)) },
  };
}

// Rows of the four object-level tables held by a user (not a role, not PUBLIC), by user name; mysql.db
// rows with an empty user match every user (tables_priv and the others do not: checked on 10.11).
function hostMatchedRows(catalog: Catalog): {
  byUser: Map<string, StoredRow[]>;
  anyUser: StoredRow[];
  logins: Set<string>;
} {
  const roles = new Set(catalog.accounts.filter((a) => a.isRole).map((a) => a.user));
  roles.add(PUBLIC_ROLE);
  const logins = new Set(catalog.accounts.filter((a) => !a.isRole).map((a) => accountKey(a.user, a.host)));
  const byUser = new Map<string, StoredRow[]>();
  const anyUser: StoredRow[] = [];
  const add = (user: string, host: string, grant: HeldGrant, anonymousMatchesAll = false) => {
    if (host === '' && roles.has(user)) return;
    if (user === '' && anonymousMatchesAll) {
      anyUser.push({ user, host, grant });
      return;
    }
    let list = byUser.get(user);
    if (!list) {
      list = [];
      byUser.set(user, list);
    }
    list.push({ user, host, grant });
  };
  for (const g of catalog.dbGrants)
    add(
      g.user,
      g.host,
      { scope: { level: 'database', pattern: g.db }, privileges: g.privileges, grantOption: g.grantOption },
      true,
    );
  for (const g of catalog.tableGrants)
    add(g.user, g.host, {
      scope: { level: 'table', database: g.db, table: g.table },
      privileges: g.privileges,
      grantOption: g.grantOption,
    });
  for (const g of catalog.columnGrants)
    add(g.user, g.host, {
      scope: { level: 'column', database: g.db, table: g.table, column: g.column },
      privileges: g.privileges,
      grantOption: false,
    });
  for (const g of catalog.routineGrants)
    add(g.user, g.host, {
      scope: { level: 'routine', database: g.db, routine: g.routine, routineType: g.routineType },
      privileges: g.privileges,
      grantOption: g.grantOption,
    });
  return { byUser, anyUser, logins };
}

// One pass over every grant table, indexed by the grantee that holds the row (account, role or PUBLIC).
function grantsByHolder(catalog: Catalog): Map<string, HeldGrant[]> {
  const held = new Map<string, HeldGrant[]>();
  const add = (user: string, host: string, g: HeldGrant) => {
    const key = accountKey(user, host);
    let list = held.get(key);
    if (!list) {
      list = [];
      held.set(key, list);
    }
    list.push(g);
  };
  // Global privileges live on the account row; PUBLIC needs no row of its own to hold the others.
  for (const a of catalog.accounts) {
    const privileges = a.globalPrivileges.filter((p) => p !== 'USAGE');
    if (privileges.length > 0 || a.globalGrantOption)
      add(a.user, a.host, { scope: { level: 'global' }, privileges, grantOption: a.globalGrantOption });
  }
  for (const g of catalog.dbGrants)
    add(g.user, g.host, {
      scope: { level: 'database', pattern: g.db },
      privileges: g.privileges,
      grantOption: g.grantOption,
    });
  for (const g of catalog.tableGrants) {
    add(g.user, g.host, {
      scope: { level: 'table', database: g.db, table: g.table },
      privileges: g.privileges,
      grantOption: g.grantOption,
    });
  }
  for (const g of catalog.columnGrants) {
    add(g.user, g.host, {
      scope: { level: 'column', database: g.db, table: g.table, column: g.column },
      privileges: g.privileges,
      grantOption: false,
    });
  }
  for (const g of catalog.routineGrants) {
    add(g.user, g.host, {
      scope: { level: 'routine', database: g.db, routine: g.routine, routineType: g.routineType },
      privileges: g.privileges,
      grantOption: g.grantOption,
    });
  }
  for (const g of catalog.proxyGrants) {
    add(g.user, g.host, {
      scope: { level: 'proxy', user: g.proxiedUser, host: g.proxiedHost },
      privileges: ['PROXY'],
      grantOption: g.withGrant,
    });
  }
  return held;
}

// Depth-first through roles_mapping. A role reachable both from the default role and otherwise is
// reported once, as default (it is active at login), with the shortest such chain.
function reachRoles(
  accountKeyText: string,
  defaultRole: string,
  rolesOf: Map<string, { role: string; withAdmin: boolean }[]>,
): ReachedRole[] {
  const reached = new Map<string, ReachedRole>();
  const visit = (role: string, chain: string[], isDefault: boolean, withAdmin: boolean) => {
    const seen = reached.get(role);
    if (seen?.isDefault && !isDefault) return;
    if (seen && seen.isDefault === isDefault && seen.chain.length <= chain.length) return;
    reached.set(role, { role, chain, isDefault, withAdmin });
    for (const next of rolesOf.get(accountKey(role, '')) ?? []) {
      if (chain.includes(next.role)) continue; // MariaDB refuses cycles; stay safe on hand-made catalogs
      visit(next.role, [...chain, next.role], isDefault, withAdmin);
    }
  };
  const direct = rolesOf.get(accountKeyText) ?? [];
  // Default chains first, so they win over SET ROLE-only chains of equal length.
  for (const d of direct) if (d.role === defaultRole) visit(d.role, [d.role], true, d.withAdmin);
  for (const d of direct) if (d.role !== defaultRole) visit(d.role, [d.role], false, d.withAdmin);
  return [...reached.values()].sort((a, b) => a.role.localeCompare(b.role));
}

// ---------------------------------------------------------------------------------------------
// Database-name patterns (mysql.db stores LIKE patterns).

/** True when a stored pattern has an unescaped `_` or `%`, so it can match names other than its own. */
export function isWildPattern(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '_' || c === '%') return true;
  }
  return false;
}

/** The literal name a pattern without wildcards stands for (`orders\_db` → `orders_db`). */
export function unescapePattern(pattern: string): string {
  // Same reading as patternRegExp: `\x` is a literal x, a trailing lone `\` is itself.
  if (!pattern.includes('\\')) return pattern;
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    out += c === '\\' && i + 1 < pattern.length ? pattern[++i]! : c;
  }
  return out;
}

const patternCache = new Map<string, RegExp>();

// Each stored pattern is compiled once per process; audits ask about the same few patterns many times.
function patternRegExp(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (!re) {
    let src = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (c === '\\' && i + 1 < pattern.length) {
        src += escapeRegExp(pattern[++i]!);
      } else if (c === '_') src += '.';
      else if (c === '%') src += '.*';
      else src += escapeRegExp(c);
    }
    re = new RegExp(`^${src}$`, 's');
    patternCache.set(pattern, re);
  }
  return re;
}

/** Whether a stored LIKE pattern matches a database name (case-sensitive, as on Linux by default). */
export function patternMatches(pattern: string, name: string): boolean {
  return patternRegExp(pattern).test(name);
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The databases of a list that each scope reaches, answered by index: a pattern without wildcards (an
 * escaped name, the common case) is one map lookup; only real LIKE patterns are tested against every name.
 */
export class DatabaseIndex {
  private readonly present: Set<string>;
  private readonly wildCache = new Map<string, string[]>();

  constructor(private readonly names: readonly string[]) {
    this.present = new Set(names);
  }

  /** Databases of the list that `scope` reaches, in list order; none for global/proxy. */
  reached(scope: PrivilegeScope): string[] {
    switch (scope.level) {
      case 'database': {
        const pattern = scope.pattern;
        if (!isWildPattern(pattern)) {
          const name = unescapePattern(pattern);
          return this.present.has(name) ? this.occurrences(name) : [];
        }
        let hits = this.wildCache.get(pattern);
        if (!hits) {
          const re = patternRegExp(pattern);
          hits = this.names.filter((n) => re.test(n));
          this.wildCache.set(pattern, hits);
        }
        return [...hits];
      }
      case 'table':
      case 'column':
      case 'routine':
        return this.present.has(scope.database) ? [scope.database] : [];
      case 'global':
      case 'proxy':
        return [];
    }
  }

  // A list may name a database twice (filter kept both); keep that answer for exact names too.
  private occurrences(name: string): string[] {
    return this.present.size === this.names.length ? [name] : this.names.filter((n) => n === name);
  }
}

const indexCache = new WeakMap<readonly string[], DatabaseIndex>();

/** Databases of one scope among `names`: every match for a pattern, the one named for the rest; none for global/proxy. */
export function databasesReached(scope: PrivilegeScope, names: readonly string[]): string[] {
  let index = indexCache.get(names);
  if (!index) {
    index = new DatabaseIndex(names);
    indexCache.set(names, index);
  }
  return index.reached(scope);
}

/** The database a non-global scope is about, as text (`orders\_db` stays a pattern). */
export function scopeDatabase(scope: PrivilegeScope): string | undefined {
  switch (scope.level) {
    case 'database':
      return scope.pattern;
    case 'table':
    case 'column':
    case 'routine':
      return scope.database;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Text for people: objects and paths.

/** `*.*`, `` `orders\_db`.* ``, `` `orders`.`t` ``, `` `orders`.`t`(`c`) ``, `PROCEDURE `orders`.`p``, `PROXY 'u'@'h'`. */
export function describeScope(scope: PrivilegeScope): string {
  const q = (s: string) => `\`${s.replace(/`/g, '``')}\``;
  switch (scope.level) {
    case 'global':
      return '*.*';
    case 'database':
      return `${q(scope.pattern)}.*`;
    case 'table':
      return `${q(scope.database)}.${q(scope.table)}`;
    case 'column':
      return `${q(scope.database)}.${q(scope.table)} (${q(scope.column)})`;
    case 'routine':
      return `${scope.routineType} ${q(scope.database)}.${q(scope.routine)}`;
    case 'proxy':
      return `'${scope.user}'@'${scope.host}'`;
  }
}

/** `direct grant`, `default role a → role b`, `role a`, `PUBLIC`, `grant row 'u'@'h' (…)`. */
export function describePath(path: GrantPath): string {
  switch (path.kind) {
    case 'direct':
      return 'direct grant';
    case 'public':
      return ['PUBLIC', ...path.roles.map((r) => `role ${r}`)].join(' → ');
    case 'host-match': {
      const row = path.row ?? { user: '', host: '', accountExists: false };
      if (row.user === '') return `mysql.db row for any user ''@'${row.host}' (matched by client host alone)`;
      return `grant row of '${row.user}'@'${row.host}' (${row.accountExists ? 'another account' : 'no such account'}; matched by user name and client host)`;
    }
    case 'role':
    case 'default-role':
      return path.roles
        .map((r, i) => (i === 0 && path.kind === 'default-role' ? `default role ${r}` : `role ${r}`))
        .join(' → ');
  }
}

/** The whole path of privileges as a finding shows it: `role reporting_r → SELECT on `customers`.*`. */
export function describeVia(path: GrantPath, privileges: readonly string[], scope: PrivilegeScope): string {
  return `${describePath(path)} → ${privileges.join(', ')} on ${describeScope(scope)}`;
}

// ---------------------------------------------------------------------------------------------
// What an account can do on one object (for definer-rights objects and remote tables).

/** Data privileges that reading or changing an object through another object needs. */
export const DATA_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'EXECUTE'];

export interface ObjectReach {
  grant: EffectiveGrant;
  /** Data privileges of that grant on the object (`ALL PRIVILEGES` expands to every one). */
  privileges: string[];
}

/**
 * The grants of an account that cover object `name` of database `db` (a table, view or routine), with
 * their data privileges. With `definerContext`, only what is active without SET ROLE counts (direct,
 * default role, PUBLIC and its roles, rows of another host whose host pattern matches the account's):
 * the server runs a definer-rights object as its definer user@host, with its default role.
 */
export function reachOnObject(
  ea: EffectiveAccount,
  db: string,
  name: string,
  definerContext: boolean,
  wanted: readonly string[] = DATA_PRIVILEGES,
): ObjectReach[] {
  const out: ObjectReach[] = [];
  for (const grant of ea.grants) {
    if (definerContext) {
      if (grant.path.kind === 'role') continue;
      if (
        grant.path.kind === 'host-match' &&
        grant.path.row &&
        !hostPatternMatches(grant.path.row.host, ea.account.host)
      )
        continue;
    }
    const s = grant.scope;
    const covers =
      s.level === 'global' ||
      (s.level === 'database' && patternMatches(s.pattern, db)) ||
      ((s.level === 'table' || s.level === 'column') && s.database === db && s.table === name) ||
      (s.level === 'routine' && s.database === db && s.routine === name);
    if (!covers) continue;
    const all = grant.privileges.includes('ALL PRIVILEGES') || grant.privileges.includes('ALL');
    const privileges = all ? [...wanted] : wanted.filter((p) => grant.privileges.includes(p));
    if (privileges.length > 0) out.push({ grant, privileges });
  }
  return out;
}
