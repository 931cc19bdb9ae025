// A service account reaching another service's database, table, column or routine, by any path.
// Reads declared in services.yaml are reported as `allowed`, with the declaration, never silently.
import { databasesReached } from '../effective.js';
import { type AuditRule, type Finding, grantFinding, ownerOf } from './rule.js';

export const crossServiceAccess: AuditRule = {
  id: 'cross-service-access',
  description: "A service account can reach another service's data",
  defaultSeverity: 'error',
  help: "Database-per-service means a service reads another's data only through its API. Any privilege on another service's database, table, column or routine breaks that, whether granted directly, through a role (default, SET ROLE-able or nested) or through PUBLIC. Declare a justified read under `reads:` in services.yaml instead (or a `links:` entry across servers, whose account may SELECT exactly its tables).",
  check(ctx) {
    const findings: Finding[] = [];
    const names = ctx.serviceDatabases.map((d) => d.database);
    const serviceOfDatabase = new Map(ctx.serviceDatabases.map((d) => [d.database, d.service]));
    for (const ea of ctx.effective) {
      const owner = ownerOf(ctx, ea.account);
      if (!owner) continue;
      for (const grant of ea.grants) {
        for (const database of databasesReached(grant.scope, names)) {
          const target = serviceOfDatabase.get(database)!;
          if (target.name === owner.name) continue;
          const read = owner.reads.find((r) => r.service === target.name);
          const table = grant.scope.level === 'table' || grant.scope.level === 'column' ? grant.scope.table : undefined;
          // A declared link's own account, and only it, may SELECT the link's tables.
          const link = (owner.links ?? []).find((l) => l.service === target.name && l.user === ea.account.user);
          const linked = link !== undefined && table !== undefined && link.tables.includes(table);
          const declared = (read && table !== undefined && read.tables.includes(table)) || linked;
          const allowedPrivileges: string[] = declared ? grant.privileges.filter((p) => p === 'SELECT') : [];
          const forbidden = grant.privileges.filter((p) => !allowedPrivileges.includes(p));
          if (allowedPrivileges.length > 0) {
            findings.push(
              grantFinding(
                ctx,
                this,
                ea,
                grant,
                allowedPrivileges,
                linked
                  ? `declared link: services.${owner.name}.links allows SELECT on ${target.name}.${table} (read by ${owner.name}'s server through CONNECT)`
                  : `declared read: services.${owner.name}.reads allows SELECT on ${target.name}.${table}`,
                {
                  severity: 'allowed',
                  targetService: target.name,
                  fix: '',
                },
              ),
            );
          }
          if (forbidden.length > 0 || (grant.grantOption && allowedPrivileges.length > 0)) {
            const privileges = forbidden.length > 0 ? forbidden : ['GRANT OPTION'];
            const reach =
              grant.scope.level === 'database' && grant.scope.pattern !== database
                ? ` (pattern matches ${database})`
                : '';
            findings.push(
              grantFinding(
                ctx,
                this,
                ea,
                grant,
                privileges,
                `${owner.name}'s account can ${privileges.join(', ')} ${target.name}'s data in database ${database}${reach}${read ? ` beyond its declared read of ${read.tables.join(', ')}` : link ? ` beyond its declared link to ${link.tables.join(', ')}` : ''}`,
                { targetService: target.name },
              ),
            );
          }
        }
      }
    }
    return findings;
  },
};
