// A service account reaching the mysql schema (accounts, password hashes, grants) through a non-global grant.
import { databasesReached } from '../effective.js';
import { type AuditRule, type Finding, grantFinding, ownerOf } from './rule.js';

export const mysqlSchemaAccess: AuditRule = {
  id: 'mysql-schema-access',
  description: 'A service account can reach mysql.*',
  defaultSeverity: 'error',
  help: 'The mysql schema holds every account, password hash and grant of the server: reading it exposes credentials, writing it changes privileges. (Global privileges that reach it are reported by global-data-privileges.)',
  check(ctx) {
    const findings: Finding[] = [];
    for (const ea of ctx.effective) {
      if (!ownerOf(ctx, ea.account)) continue;
      for (const grant of ea.grants) {
        if (grant.scope.level === 'global') continue;
        if (databasesReached(grant.scope, ['mysql']).length === 0) continue;
        findings.push(
          grantFinding(
            ctx,
            this,
            ea,
            grant,
            grant.privileges,
            `can ${grant.privileges.join(', ')} in the mysql schema (accounts, password hashes, grants)`,
          ),
        );
      }
    }
    return findings;
  },
};
