// Accounts that log in over a network without being required to use TLS: their passwords (and every
// query and result) may cross the network in clear. Local servers listen on 127.0.0.1 only, and a
// server reached on loopback is on this machine too.

import { isLocalAccountHost, isLoopbackHost } from '../../fleet/hosts.js';
import { account as accountSql } from '../../sql/quote.js';
import type { CatalogAccount } from '../types.js';
import { type AuditContext, type AuditRule, accountName, type Finding, isInternalAccount } from './rule.js';

/** True when the account accepts logins from another machine and no TLS requirement (REQUIRE SSL/X509/…) is set. */
export function loginsWithoutTls(ctx: AuditContext, a: CatalogAccount): boolean {
  // A server dbps reaches on loopback runs on this machine (or behind a tunnel): its network is not visible here.
  if (ctx.server.driver !== 'external' || isLoopbackHost(ctx.server.host)) return false;
  if (a.isRole || isLocalAccountHost(a.host) || isInternalAccount(a, ctx.adminAccounts)) return false;
  return a.sslType === '' || a.sslType === 'NONE';
}

export const networkWithoutTls: AuditRule = {
  id: 'network-without-tls',
  description: 'An account reachable over the network is not required to use TLS',
  defaultSeverity: 'warning',
  help: 'An account whose host admits other machines and that has no REQUIRE SSL may log in without TLS: its password exchange, queries and results cross the network in clear. dbps gives service accounts REQUIRE SSL on external servers with TLS (set requireSsl: true, or REQUIRE SSL by hand for other accounts).',
  check(ctx) {
    const findings: Finding[] = [];
    for (const a of ctx.catalog.accounts) {
      if (!loginsWithoutTls(ctx, a)) continue;
      const service = ctx.serviceOfUser.get(a.user);
      findings.push({
        rule: this.id,
        severity: this.defaultSeverity,
        server: ctx.server.name,
        account: accountName(a),
        ...(service ? { service: service.name } : {}),
        object: accountName(a),
        privilege: '',
        via: 'account',
        message: `${accountName(a)} accepts logins from '${a.host}' without TLS`,
        fix: service
          ? `set requireSsl: true on ${a.user} in services.yaml and run \`dbps provision\` (ALTER USER ${accountSql(a.user, a.host)} REQUIRE SSL;)`
          : `ALTER USER ${accountSql(a.user, a.host)} REQUIRE SSL;`,
      });
    }
    return findings;
  },
};
