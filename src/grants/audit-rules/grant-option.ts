// A service account that can pass privileges on: GRANT OPTION on a database, table or routine, or a role WITH ADMIN.
import { account as accountSql, ident } from '../../sql/quote.js';
import { describeScope, describeVia } from '../effective.js';
import { type AuditRule, accountName, type Finding, grantFinding, inSqlModeFor, ownerOf, scopeSql } from './rule.js';

export const grantOption: AuditRule = {
  id: 'grant-option',
  description: 'A service account can grant privileges to others',
  defaultSeverity: 'error',
  help: "WITH GRANT OPTION (or a role WITH ADMIN OPTION) lets an account hand its privileges to any other account, so one leaked service credential widens everyone's access. dbps never grants it. (GRANT OPTION on *.* is reported by global-data-privileges.)",
  check(ctx) {
    const findings: Finding[] = [];
    for (const ea of ctx.effective) {
      const owner = ownerOf(ctx, ea.account);
      if (!owner) continue;
      for (const grant of ea.grants) {
        if (!grant.grantOption || grant.scope.level === 'global') continue;
        const f = grantFinding(
          ctx,
          this,
          ea,
          grant,
          ['GRANT OPTION'],
          `can grant ${grant.privileges.join(', ')} on ${describeScope(grant.scope)} to other accounts`,
        );
        if (grant.path.kind === 'direct') {
          f.fix =
            grant.scope.level === 'proxy'
              ? `REVOKE PROXY ON ${scopeSql(grant.scope)} FROM ${accountSql(ea.account.user, ea.account.host)};`
              : inSqlModeFor(
                  grant.scope,
                  `REVOKE GRANT OPTION ON ${scopeSql(grant.scope)} FROM ${accountSql(ea.account.user, ea.account.host)};`,
                );
        }
        findings.push(f);
      }
      for (const role of ea.roles) {
        if (!role.withAdmin || role.chain.length !== 1) continue;
        const who = accountSql(ea.account.user, ea.account.host);
        findings.push({
          rule: this.id,
          severity: this.defaultSeverity,
          server: ctx.server.name,
          account: accountName(ea.account),
          service: owner.name,
          object: `role ${role.role}`,
          privilege: 'ADMIN OPTION',
          via: describeVia({ kind: role.isDefault ? 'default-role' : 'role', roles: [role.role] }, ['ADMIN OPTION'], {
            level: 'global',
          }).replace(/ on \*\.\*$/, ''),
          message: `can grant role ${role.role} to other accounts (WITH ADMIN OPTION)`,
          fix: `REVOKE ADMIN OPTION FOR ${ident(role.role)} FROM ${who};`,
        });
      }
    }
    return findings;
  },
};
