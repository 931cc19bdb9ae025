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
        let extra: string[];
        if (hasAll(grant.privileges)) extra = ['ALL PRIVILEGES'];
        else {
          const cover = coveringPrivileges(desired, grant);
          extra = grant.privileges.filter((p) => !cover.has(p));
        }
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
  return coveringPrivileges(desired, grant).has(privilege);
}

// The privileges covering a grant: the union of the desired grants on the same object or an enclosing
// one, built once per grant (not once per privilege: 1000s of accounts).
export function coveringPrivileges(desired: DesiredAccount, grant: EffectiveGrant): Set<string> {
  const cover = new Set<string>();
  const add = (pick: (g: DesiredGrant) => boolean) => {
    for (const g of desired.grants) if (pick(g)) for (const p of g.privileges) cover.add(p);
  };
  const onDatabase = (db: string) => add((g) => g.scope.level === 'database' && g.scope.database === db);
  const s = grant.scope;
  switch (s.level) {
    case 'global':
      add((g) => g.scope.level === 'global');
      break;
    case 'database':
      if (!isWildPattern(s.pattern)) onDatabase(unescapePattern(s.pattern));
      break;
    case 'table':
      onDatabase(s.database);
      add((g) => g.scope.level === 'table' && g.scope.database === s.database && g.scope.table === s.table);
      break;
    case 'column':
      onDatabase(s.database);
      add(
        (g) =>
          (g.scope.level === 'table' && g.scope.database === s.database && g.scope.table === s.table) ||
          (g.scope.level === 'column' &&
            g.scope.database === s.database &&
            g.scope.table === s.table &&
            g.scope.column === s.column),
      );
      break;
    case 'routine':
      // MariaDB gives a routine's creator EXECUTE and ALTER ROUTINE on it: covered by the same privileges on its database.
      onDatabase(s.database);
      break;
    case 'proxy':
      break;
  }
  return cover;
}
