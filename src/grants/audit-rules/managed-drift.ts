// Managed accounts (service accounts, dbps_backup, dbps_monitor) holding more than desired.ts gives them.
import type { DesiredAccount, DesiredGrant } from '../../fleet/desired.js';
import { type EffectiveGrant, isWildPattern, unescapePattern } from '../effective.js';
import { accountKey } from '../types.js';
import { type AuditRule, type Finding, grantFinding, hasAll } from './rule.js';

export const managedDrift: AuditRule = {
  id: 'managed-drift',
  description: 'A managed account holds more than its role gives it',
  defaultSeverity: 'warning',
  help: 'Every account dbps manages has an exact set of privileges (its role on its own database, or the backup/monitor set). Anything more was added by hand or by an older configuration; `dbps provision` removes it. The accounts of a declared link (dbps_link_*) are held to their declaration as errors.',
  check(ctx) {
    const findings: Finding[] = [];
    for (const ea of ctx.effective) {
      const desired = ctx.managed.get(accountKey(ea.account.user, ea.account.host));
      if (!desired) continue;
      for (const grant of ea.grants) {
        const extra = hasAll(grant.privileges)
          ? ['ALL PRIVILEGES']
          : grant.privileges.filter((p) => !covered(desired, grant, p));
        if (extra.length === 0) continue;
        findings.push(
          grantFinding(
            ctx,
            this,
            ea,
            grant,
            extra,
            `${desired.service ? `${desired.kind} account of ${desired.service}` : `dbps ${desired.kind} account`} holds ${extra.join(', ')} beyond what services.yaml gives it`,
            // A link's accounts reach another service's data by design: anything beyond the declaration is an error.
            desired.kind === 'link' || desired.kind === 'link-definer' ? { severity: 'error' } : {},
          ),
        );
      }
    }
    return findings;
  },
};

/** A privilege is covered when a desired grant on the same object or an enclosing one gives it. */
export function covered(desired: DesiredAccount, grant: EffectiveGrant, privilege: string): boolean {
  const has = (g: DesiredGrant) => g.privileges.includes(privilege);
  const onDatabase = (db: string) =>
    desired.grants.some((g) => g.scope.level === 'database' && g.scope.database === db && has(g));
  const s = grant.scope;
  switch (s.level) {
    case 'global':
      return desired.grants.some((g) => g.scope.level === 'global' && has(g));
    case 'database':
      return !isWildPattern(s.pattern) && onDatabase(unescapePattern(s.pattern));
    case 'table':
      return (
        onDatabase(s.database) ||
        desired.grants.some(
          (g) => g.scope.level === 'table' && g.scope.database === s.database && g.scope.table === s.table && has(g),
        )
      );
    case 'column':
      return (
        onDatabase(s.database) ||
        desired.grants.some(
          (g) =>
            (g.scope.level === 'table' && g.scope.database === s.database && g.scope.table === s.table && has(g)) ||
            (g.scope.level === 'column' &&
              g.scope.database === s.database &&
              g.scope.table === s.table &&
              g.scope.column === s.column &&
              has(g)),
        )
      );
    case 'routine':
      // MariaDB gives a routine's creator EXECUTE and ALTER ROUTINE on it: covered by the same privileges on its database.
      return onDatabase(s.database);
    case 'proxy':
      return false;
  }
}
