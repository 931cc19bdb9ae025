// What every audit rule sees and returns, plus the helpers rules share (who owns an account, SQL fixes).
// Pure: rules get a prepared context and return findings; nothing here talks to a server.
import type { DesiredAccount, DesiredServer } from '../../fleet/desired.js';
import type { Fleet, FleetServer, FleetService } from '../../fleet/model.js';
import { account as accountSql, ident } from '../../sql/quote.js';
import {
  describeScope,
  describeVia,
  type EffectiveAccount,
  type EffectiveGrant,
  type PrivilegeScope,
} from '../effective.js';
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
  /** OS users that `dbps up` made socket admins (the state file's adminUser, the user running dbps). */
  adminUsers: readonly string[];
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

/**
 * Server-internal accounts the audit knows and never flags: mariadb.sys, root/mysql on localhost, the
 * `dbps up` socket admin and an external server's configured admin user (both passed in `adminUsers`).
 */
export function isInternalAccount(a: CatalogAccount, adminUsers: readonly string[]): boolean {
  if (a.isRole) return false;
  if (a.user === 'mariadb.sys' && a.host === 'localhost') return true;
  // Debian's root@localhost is `unix_socket OR mysql_native_password USING 'invalid'`: the catalog shows the
  // first plugin with a (never matching) password, so a password counts as well as the socket plugin.
  // A passwordless root or admin stays unknown, so no-password reports it.
  const socket = a.plugin.split(/[\s,]+/).includes('unix_socket');
  if (!socket && !a.hasPassword) return false;
  if (adminUsers.includes(a.user)) return a.host === 'localhost' || a.hasPassword;
  return (a.user === 'root' || a.user === 'mysql') && a.host === 'localhost';
}

/** The service an account belongs to: its user name is one of that service's accounts (on any host). */
export function ownerOf(ctx: AuditContext, a: CatalogAccount): FleetService | undefined {
  if (isInternalAccount(a, ctx.adminUsers)) return undefined;
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
      return `${scope.routineType === 'PACKAGE BODY' ? 'PACKAGE BODY' : scope.routineType} ${ident(scope.database)}.${ident(scope.routine)}`;
    case 'proxy':
      return accountSql(scope.user, scope.host);
  }
}

/**
 * SQL that takes the privileges away along the path they came: REVOKE from the account for a direct
 * grant, REVOKE the first role of the chain (and unset it as default) for a role, REVOKE FROM PUBLIC.
 */
export function revokeFix(
  a: { user: string; host: string },
  grant: EffectiveGrant,
  privileges: readonly string[],
): string {
  const who = accountSql(a.user, a.host);
  if (grant.path.kind === 'role' || grant.path.kind === 'default-role') {
    const role = ident(grant.path.roles[0]!);
    return `${grant.path.kind === 'default-role' ? `SET DEFAULT ROLE NONE FOR ${who}; ` : ''}REVOKE ${role} FROM ${who};`;
  }
  const from = grant.path.kind === 'public' ? 'PUBLIC' : who;
  return `${revokeStatement(grant.scope, privileges)} FROM ${from};`;
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
