// What every audit rule sees and returns, plus the helpers rules share (who owns an account, SQL fixes).
// Pure: rules get a prepared context and return findings; nothing here talks to a server.
import type { DesiredAccount, DesiredServer } from '../../fleet/desired.js';
import type { Fleet, FleetServer, FleetService } from '../../fleet/model.js';
import { account as accountSql, ident, literal } from '../../sql/quote.js';
import {
  describeScope,
  describeVia,
  type EffectiveAccount,
  type EffectiveGrant,
  type PrivilegeScope,
} from '../effective.js';
import type { RotationRecord } from '../rotation.js';
import type { Catalog, CatalogAccount } from '../types.js';

/** `allowed` marks access that services.yaml declares (a `reads:` entry): shown, never failing. */
export type Severity = 'error' | 'warning' | 'allowed';
/** What `--severity rule=level` may set; `off` silences a rule. */
export type SeverityOverride = 'error' | 'warning' | 'off';

export interface Finding {
  rule: string;
  severity: Severity;
  server: string;
  /** `'user'@'host'`. */
  account: string;
  /** Service owning the account; absent for server-level accounts (orphans, anonymous, dbps's own). */
  service?: string;
  /** Service whose data the account reaches, for cross-service findings. */
  targetService?: string;
  /** What is reached: `*.*`, `` `customers`.* ``, `` PROCEDURE `orders`.`p` ``, an account. */
  object: string;
  /** Privilege names, comma-separated (`SELECT, INSERT`). */
  privilege: string;
  /** How the account gets it: `role reporting_r → SELECT on `customers`.*`. */
  via: string;
  message: string;
  /** SQL that removes the finding (run as admin). */
  fix: string;
}

export interface AuditContext {
  fleet: Fleet;
  server: FleetServer;
  catalog: Catalog;
  desired: DesiredServer;
  effective: EffectiveAccount[];
  /** Managed accounts of this server by `'user'@'host'`. */
  managed: Map<string, DesiredAccount>;
  /** Every fleet user name that belongs to a service, with that service (whatever the host). */
  serviceOfUser: Map<string, FleetService>;
  /** Every service database of the fleet (all servers), with its service. */
  serviceDatabases: { database: string; service: FleetService }[];
  /** The accounts dbps logs in with as admin on this server (CURRENT_USER() of its admin session). */
  adminAccounts: readonly AdminAccount[];
  /** Password rotations started by `dbps rotate` and not finished (rotations.json), all servers. */
  rotations?: readonly RotationRecord[];
  /** The audit's time, for the age of a rotation. */
  now?: Date;
}

/** An account dbps itself uses as admin: exactly this user@host (never a user name on any host). */
export interface AdminAccount {
  user: string;
  host: string;
  /** Only when it authenticates by unix_socket (dumps of older versions named the socket admin by user only). */
  socketOnly?: boolean;
}

export interface AuditRule {
  id: string;
  description: string;
  defaultSeverity: Exclude<Severity, 'allowed'>;
  /** Longer text for SARIF help and the README table. */
  help: string;
  check(ctx: AuditContext): Finding[];
}

/** Plugins that authenticate without a password by design (the OS or Kerberos vouches for the user). */
export const PASSWORDLESS_PLUGINS = ['unix_socket', 'gssapi', 'pam', 'named_pipe'];

/** Every plugin an account may authenticate with: `plugins` (auth_or alternatives included) or the plugin text. */
export function authPlugins(a: CatalogAccount): string[] {
  return a.plugins ?? a.plugin.split(/[\s,]+/).filter(Boolean);
}

/**
 * Server-internal accounts the audit knows and never flags: mariadb.sys@localhost, root and mysql on
 * localhost when unix_socket authenticates them (Debian's `unix_socket OR mysql_native_password USING
 * 'invalid'` included), and the exact account dbps logs in with as admin (the configured external admin,
 * or the socket admin `dbps up` made). Nothing depends on the OS user running dbps, and a user name on
 * another host (root@'%') is an account like any other. dbps_backup/dbps_monitor are managed, not
 * internal: managed-drift holds them to exactly their privileges.
 */
export function isInternalAccount(a: CatalogAccount, adminAccounts: readonly AdminAccount[]): boolean {
  if (a.isRole) return false;
  if (a.user === 'mariadb.sys' && a.host === 'localhost') return true;
  const socket = authPlugins(a).includes('unix_socket');
  if (adminAccounts.some((x) => x.user === a.user && x.host === a.host && (!x.socketOnly || socket))) return true;
  return (a.user === 'root' || a.user === 'mysql') && a.host === 'localhost' && socket;
}

/** The service an account belongs to: its user name is one of that service's accounts (on any host). */
export function ownerOf(ctx: AuditContext, a: CatalogAccount): FleetService | undefined {
  if (isInternalAccount(a, ctx.adminAccounts)) return undefined;
  return ctx.serviceOfUser.get(a.user);
}

/** `'user'@'host'` as findings print it. */
export function accountName(a: { user: string; host: string }): string {
  return `'${a.user}'@'${a.host}'`;
}

/** Fields every finding about one effective grant shares. */
export function grantFinding(
  ctx: AuditContext,
  rule: AuditRule,
  ea: EffectiveAccount,
  grant: EffectiveGrant,
  privileges: readonly string[],
  message: string,
  extra: Partial<Finding> = {},
): Finding {
  const owner = ownerOf(ctx, ea.account);
  return {
    rule: rule.id,
    severity: rule.defaultSeverity,
    server: ctx.server.name,
    account: accountName(ea.account),
    ...(owner ? { service: owner.name } : {}),
    object: describeScope(grant.scope),
    privilege: privileges.join(', '),
    via: describeVia(grant.path, privileges, grant.scope),
    message,
    fix: revokeFix(ea.account, grant, privileges),
    ...extra,
  };
}

/** SQL object of a scope for GRANT/REVOKE (columns go with the privilege, see revokeFix). */
export function scopeSql(scope: PrivilegeScope): string {
  switch (scope.level) {
    case 'global':
      return '*.*';
    case 'database':
      // The stored pattern goes back as is: its `\_` escapes are what REVOKE must name.
      return `${ident(scope.pattern)}.*`;
    case 'table':
    case 'column':
      return `${ident(scope.database)}.${ident(scope.table)}`;
    case 'routine':
      // PACKAGE and PACKAGE BODY need sql_mode=ORACLE around the statement: see inSqlModeFor.
      return `${scope.routineType} ${ident(scope.database)}.${ident(scope.routine)}`;
    case 'proxy':
      return accountSql(scope.user, scope.host);
  }
}

/**
 * SQL that takes the privileges away along the path they came: REVOKE from the account for a direct
 * grant, REVOKE the first role of the chain (and unset it as default) for a role, REVOKE FROM PUBLIC;
 * for a row of another host, REVOKE from that account, or delete the row when no account owns it
 * (REVOKE cannot name an account that does not exist).
 */
export function revokeFix(
  a: { user: string; host: string },
  grant: EffectiveGrant,
  privileges: readonly string[],
): string {
  if (grant.path.kind === 'host-match' && grant.path.row) {
    const row = grant.path.row;
    if (row.accountExists)
      return inSqlModeFor(
        grant.scope,
        `${revokeStatement(grant.scope, privileges)} FROM ${accountSql(row.user, row.host)};`,
      );
    return deleteRowFix(row.user, row.host, grant.scope);
  }
  const who = accountSql(a.user, a.host);
  if (grant.path.kind === 'public' && grant.path.roles.length > 0)
    return `REVOKE ${ident(grant.path.roles[0]!)} FROM PUBLIC;`;
  if (grant.path.kind === 'role' || grant.path.kind === 'default-role') {
    const role = ident(grant.path.roles[0]!);
    return `${grant.path.kind === 'default-role' ? `SET DEFAULT ROLE NONE FOR ${who}; ` : ''}REVOKE ${role} FROM ${who};`;
  }
  const from = grant.path.kind === 'public' ? 'PUBLIC' : who;
  return inSqlModeFor(grant.scope, `${revokeStatement(grant.scope, privileges)} FROM ${from};`);
}

/**
 * GRANT and REVOKE on PACKAGE / PACKAGE BODY parse only under sql_mode=ORACLE (checked on 10.11, where
 * SET STATEMENT … FOR does not help: the statement is parsed first), so such a fix switches the session's
 * sql_mode around the statement and restores it after.
 */
export function inSqlModeFor(scope: PrivilegeScope, statement: string): string {
  if (scope.level !== 'routine' || (scope.routineType !== 'PACKAGE' && scope.routineType !== 'PACKAGE BODY'))
    return statement;
  return `SET @dbps_sql_mode = @@SESSION.sql_mode; SET SESSION sql_mode = 'ORACLE'; ${statement} SET SESSION sql_mode = @dbps_sql_mode;`;
}

/** Deletes one stored grant row that no account owns, then reloads the grant tables. */
export function deleteRowFix(user: string, host: string, scope: PrivilegeScope): string {
  const who = `Host = ${literal(host)} AND User = ${literal(user)}`;
  switch (scope.level) {
    case 'database':
      return `DELETE FROM mysql.db WHERE ${who} AND Db = ${literal(scope.pattern)}; FLUSH PRIVILEGES;`;
    case 'table':
      return `DELETE FROM mysql.tables_priv WHERE ${who} AND Db = ${literal(scope.database)} AND Table_name = ${literal(scope.table)}; FLUSH PRIVILEGES;`;
    case 'column':
      return `DELETE FROM mysql.columns_priv WHERE ${who} AND Db = ${literal(scope.database)} AND Table_name = ${literal(scope.table)} AND Column_name = ${literal(scope.column)}; FLUSH PRIVILEGES;`;
    case 'routine':
      return `DELETE FROM mysql.procs_priv WHERE ${who} AND Db = ${literal(scope.database)} AND Routine_name = ${literal(scope.routine)} AND Routine_type = ${literal(scope.routineType)}; FLUSH PRIVILEGES;`;
    case 'global':
    case 'proxy':
      return `REVOKE ALL PRIVILEGES ON *.* FROM ${accountSql(user, host)};`;
  }
}

/** `REVOKE <privileges> ON <object>` for a scope (without the FROM part). */
export function revokeStatement(scope: PrivilegeScope, privileges: readonly string[]): string {
  if (scope.level === 'proxy') return `REVOKE PROXY ON ${scopeSql(scope)}`;
  if (scope.level === 'column')
    return `REVOKE ${privileges.map((p) => `${p} (${ident(scope.column)})`).join(', ')} ON ${scopeSql(scope)}`;
  return `REVOKE ${privileges.join(', ')} ON ${scopeSql(scope)}`;
}

/** `ALL PRIVILEGES` as the catalog may spell it, expanded by nothing: rules treat it as every privilege. */
export function hasAll(privileges: readonly string[]): boolean {
  return privileges.includes('ALL PRIVILEGES') || privileges.includes('ALL');
}
