// Service accounts on a wildcard host that services.yaml (defaults.accountHost / users[].host) does not give them.

import { account as accountSql } from '../../sql/quote.js';
import type { CatalogAccount } from '../types.js';
import { type AuditContext, type AuditRule, accountName, type Finding, isInternalAccount } from './rule.js';

/** A service's user name on a host with `%` other than the host services.yaml gives that user. */
export function isStrayServiceHost(ctx: AuditContext, a: CatalogAccount): boolean {
  if (a.isRole || !a.host.includes('%') || isInternalAccount(a, ctx.adminAccounts)) return false;
  const service = ctx.serviceOfUser.get(a.user);
  if (!service) return false;
  return !service.accounts.some((x) => x.user === a.user && x.host === a.host);
}

export const wildcardHost: AuditRule = {
  id: 'wildcard-host',
  description: "A service account accepts logins from a wildcard host services.yaml doesn't allow",
  defaultSeverity: 'warning',
  help: "services.yaml limits where service accounts log in from (defaults.accountHost, or a user's host). An account for the same user on '%' accepts that user from anywhere, with its own password and grants.",
  check(ctx) {
    const findings: Finding[] = [];
    for (const a of ctx.catalog.accounts) {
      if (!isStrayServiceHost(ctx, a)) continue;
      const service = ctx.serviceOfUser.get(a.user)!;
      findings.push({
        rule: this.id,
        severity: this.defaultSeverity,
        server: ctx.server.name,
        account: accountName(a),
        service: service.name,
        object: accountName(a),
        privilege: '',
        via: 'account',
        message: `${service.name}'s user ${a.user} is declared for host '${ctx.fleet.accountHost}' but also exists on '${a.host}'`,
        fix: `DROP USER ${accountSql(a.user, a.host)};`,
      });
    }
    return findings;
  },
};
