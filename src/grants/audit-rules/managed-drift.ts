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

// A desired account's grants keyed by the object they are on. dbps_backup holds one grant per service
// database, so a scan of them for each grant it holds would be quadratic in the fleet (10,000 services).
interface GrantIndex {
  global: Set<string>;
  database: Map<string, Set<string>>;
  table: Map<string, Set<string>>;
  column: Map<string, Set<string>>;
}
const indexes = new WeakMap<DesiredAccount, GrantIndex>();
const objectKey = (...parts: string[]) => parts.join('\u0000');
const EMPTY: ReadonlySet<string> = new Set();

function grantIndex(desired: DesiredAccount): GrantIndex {
  let index = indexes.get(desired);
  if (index) return index;
  index = { global: new Set(), database: new Map(), table: new Map(), column: new Map() };
  const into = (map: Map<string, Set<string>>, key: string, g: DesiredGrant) => {
    let set = map.get(key);
    if (!set) {
      set = new Set();
      map.set(key, set);
    }
    for (const p of g.privileges) set.add(p);
  };
  for (const g of desired.grants) {
    const s = g.scope;
    if (s.level === 'global') for (const p of g.privileges) index.global.add(p);
    else if (s.level === 'database') into(index.database, s.database, g);
    else if (s.level === 'table') into(index.table, objectKey(s.database, s.table), g);
    else if (s.level === 'column') into(index.column, objectKey(s.database, s.table, s.column), g);
  }
  indexes.set(desired, index);
  return index;
}

// The privileges covering a grant: the union of the desired grants on the same object or an enclosing
// one, looked up in the account's index (built once per account, not once per grant or privilege).
export function coveringPrivileges(desired: DesiredAccount, grant: EffectiveGrant): ReadonlySet<string> {
  const index = grantIndex(desired);
  const onDatabase = (db: string) => index.database.get(db) ?? EMPTY;
  const union = (...sets: ReadonlySet<string>[]) => {
    const nonEmpty = sets.filter((x) => x.size > 0);
    return nonEmpty.length <= 1 ? (nonEmpty[0] ?? EMPTY) : new Set(nonEmpty.flatMap((x) => [...x]));
  };
  const s = grant.scope;
  switch (s.level) {
    case 'global':
      return index.global;
    case 'database':
      return isWildPattern(s.pattern) ? EMPTY : onDatabase(unescapePattern(s.pattern));
    case 'table':
      return union(onDatabase(s.database), index.table.get(objectKey(s.database, s.table)) ?? EMPTY);
    case 'column':
      return union(
        onDatabase(s.database),
        index.table.get(objectKey(s.database, s.table)) ?? EMPTY,
        index.column.get(objectKey(s.database, s.table, s.column)) ?? EMPTY,
      );
    case 'routine':
      // MariaDB gives a routine's creator EXECUTE and ALTER ROUTINE on it: covered by the same privileges on its database.
      return onDatabase(s.database);
    case 'proxy':
      return EMPTY;
  }
}
