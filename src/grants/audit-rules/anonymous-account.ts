// Accounts with an empty user name: anyone who can reach the port logs in as them.
import { account as accountSql } from '../../sql/quote.js';
import { type AuditRule, accountName, type Finding } from './rule.js';

export const anonymousAccount: AuditRule = {
  id: 'anonymous-account',
  description: 'An anonymous account (empty user name) exists',
  defaultSeverity: 'error',
  help: "An anonymous account ''@host accepts any user name, and because it is more specific it can shadow real accounts from that host. mariadb-install-db without --skip-test-db style hardening leaves them; drop them.",
  check(ctx) {
    const findings: Finding[] = [];
    for (const a of ctx.catalog.accounts) {
      if (a.isRole || a.user !== '') continue;
      findings.push({
        rule: this.id,
        severity: this.defaultSeverity,
        server: ctx.server.name,
        account: accountName(a),
        object: accountName(a),
        privilege: '',
        via: 'account',
        message: `anonymous account on host '${a.host}': any user name logs in`,
        fix: `DROP USER ${accountSql(a.user, a.host)};`,
      });
    }
    return findings;
  },
};
