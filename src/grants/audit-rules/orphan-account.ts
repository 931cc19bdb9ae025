// Login accounts that services.yaml does not know and that are not the server's own.
import { account as accountSql } from '../../sql/quote.js';
import { accountKey } from '../types.js';
import { type AuditRule, accountName, type Finding, isInternalAccount } from './rule.js';
import { isStrayServiceHost } from './wildcard-host.js';

export const orphanAccount: AuditRule = {
  id: 'orphan-account',
  description: 'An account that services.yaml does not know',
  defaultSeverity: 'warning',
  help: 'An account that no service declares has no owner to answer for it: a leftover of a removed service, a hand-made debugging login, or an intruder. Drop it, or declare it in services.yaml. Set the severity with --severity orphan-account=error|warning|off.',
  check(ctx) {
    const findings: Finding[] = [];
    const effectiveOf = new Map(ctx.effective.map((e) => [e.account, e]));
    for (const a of ctx.catalog.accounts) {
      if (a.isRole || a.user === '' || isInternalAccount(a, ctx.adminAccounts)) continue;
      if (ctx.managed.has(accountKey(a.user, a.host)) || isStrayServiceHost(ctx, a)) continue;
      const ea = effectiveOf.get(a);
      const reach =
        ea && ea.grants.length > 0 ? ` and holds ${ea.grants.length} grant${ea.grants.length === 1 ? '' : 's'}` : '';
      findings.push({
        rule: this.id,
        severity: this.defaultSeverity,
        server: ctx.server.name,
        account: accountName(a),
        object: accountName(a),
        privilege: '',
        via: 'account',
        message: `no service in ${ctx.fleet.file} declares this account${reach}`,
        fix: `DROP USER ${accountSql(a.user, a.host)};`,
      });
    }
    return findings;
  },
};
