// What dbps's own admin account must hold on a server to provision it, and what it lacks. Checked
// before any DDL, so a weak admin gives one sentence per server instead of one "access denied" per change.
import { OperationalError } from '../errors.js';
import type { DesiredServer } from '../fleet/desired.js';
import { GRANT_OPTION } from '../grants/privileges.js';
import type { Catalog } from '../grants/types.js';

/** MariaDB error codes that mean "the account dbps uses is not allowed to do this". */
export const ACCESS_DENIED_CODES = new Set([
  'ER_DBACCESS_DENIED_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_CANT_CREATE_USER_WITH_GRANT',
  'ER_PROCACCESS_DENIED_ERROR',
]);

/** True for a connector error (or an OperationalError wrapping one) that is a missing privilege. */
export function isPrivilegeError(e: unknown): boolean {
  const err = (e instanceof OperationalError ? e.cause : e) as { code?: string } | undefined;
  return err?.code !== undefined && ACCESS_DENIED_CODES.has(err.code);
}

/**
 * Global privileges the admin account needs: every privilege dbps grants (a grantor must hold it),
 * CREATE for databases and outbox tables, CREATE USER, SELECT for the mysql.* catalog, DROP when
 * pruning, EVENT and SET USER for outbox purge events (defined by the migrator), and GRANT OPTION.
 */
export function adminPrivilegesNeeded(desired: DesiredServer, prune: boolean): string[] {
  const out = new Set(['SELECT', 'CREATE', 'CREATE USER', GRANT_OPTION]);
  if (prune) out.add('DROP');
  for (const a of desired.accounts) for (const g of a.grants) for (const p of g.privileges) out.add(p);
  // A purge event is created with the service's migrator as DEFINER: naming another account needs SET USER.
  if (desired.purgeEvents.length > 0) {
    out.add('EVENT');
    out.add('SET USER');
  }
  // Links: CREATE SERVER needs FEDERATED ADMIN, the views name their locked definer (SET USER), and
  // creating a CONNECT MYSQL table needs FILE (granted to the definer too, so already in the set).
  if (desired.links.length > 0) {
    out.add('FEDERATED ADMIN');
    out.add('SET USER');
    out.add('CREATE VIEW');
    out.add('FILE');
  }
  return [...out].sort((a, b) => (a === GRANT_OPTION ? 1 : b === GRANT_OPTION ? -1 : a.localeCompare(b)));
}

/**
 * The needed privileges the account does not hold on `*.*`, directly or through its roles (all granted
 * roles count, transitively, so a role-based admin is never refused wrongly). Database-level grants of
 * the admin are not counted: dbps creates new databases, which only global privileges cover.
 */
export function missingAdminPrivileges(
  catalog: Catalog,
  admin: { user: string; host: string },
  needed: readonly string[],
): string[] {
  const held = new Set<string>();
  const seen = new Set<string>();
  const visit = (user: string, host: string) => {
    const key = `${user}\u0000${host}`;
    if (seen.has(key)) return;
    seen.add(key);
    const a = catalog.accounts.find((x) => x.user === user && x.host === host);
    if (a) {
      for (const p of a.globalPrivileges) held.add(p);
      if (a.globalGrantOption) held.add(GRANT_OPTION);
    }
    for (const r of catalog.roleGrants) if (r.user === user && r.host === host) visit(r.role, '');
  };
  visit(admin.user, admin.host);
  visit('PUBLIC', '');
  return needed.filter((p) => !held.has(p));
}

/** The one sentence for a server whose admin account lacks privileges. */
export function adminPrivilegeError(
  server: string,
  admin: string,
  needed: readonly string[],
  missing: readonly string[] | undefined,
): OperationalError {
  const grantable = needed.filter((p) => p !== GRANT_OPTION);
  return new OperationalError(
    `server "${server}": dbps's admin account ${admin} lacks privileges it needs to provision${
      missing && missing.length > 0 ? ` (missing: ${missing.join(', ')})` : ''
    }; it needs ${grantable.join(', ')} on *.* WITH GRANT OPTION`,
    {
      server,
      hint: `run \`GRANT ${grantable.join(', ')} ON *.* TO ${admin} WITH GRANT OPTION\` as a full admin, or set servers.${server}.admin in services.yaml to an account that has them (e.g. root)`,
    },
  );
}
