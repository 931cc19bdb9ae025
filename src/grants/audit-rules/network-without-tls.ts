// Accounts that log in over a network without being required to use TLS: their passwords (and every
// query and result) may cross the network in clear. Local servers listen on 127.0.0.1 only.

import { account as accountSql } from '../../sql/quote.js';
import type { CatalogAccount } from '../types.js';
import { type AuditContext, type AuditRule, accountName, type Finding, isInternalAccount } from './rule.js';

/** Hosts that admit only clients of the server's own machine. */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);

/** True when the account accepts logins from another machine and no TLS requirement (REQUIRE SSL/X509/…) is set. */
export function loginsWithoutTls(ctx: AuditContext, a: CatalogAccount): boolean {
  if (ctx.server.driver !== 'external') return false;
  if (a.isRole || LOCAL_HOSTS.has(a.host) || isInternalAccount(a, ctx.adminAccounts)) return false;
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
