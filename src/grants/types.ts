// The privilege catalog of one server as plain data, read from the mysql.* tables (never from
// SHOW GRANTS text). Provision diffs the desired state against it; audit-grants computes effective
// privileges from it; `audit-grants --dump` writes it (without password hashes) for offline audits.

export interface CatalogAccount {
  user: string;
  /** Empty for roles. */
  host: string;
  isRole: boolean;
  /** Authentication plugin ('' when none is set). */
  plugin: string;
  /** Every plugin the account may authenticate with, `auth_or` alternatives included (absent in older dumps). */
  plugins?: string[];
  /** True when an authentication string / password is set (the hash itself is never kept). */
  hasPassword: boolean;
  locked: boolean;
  maxUserConnections: number;
  /** '' | 'ANY' | 'X509' | 'SPECIFIED' (REQUIRE SSL is 'ANY'). */
  sslType: string;
  /** Default role set with SET DEFAULT ROLE ('' when none). */
  defaultRole: string;
  /** Global (`*.*`) privileges, upper-case names, sorted. */
  globalPrivileges: string[];
  globalGrantOption: boolean;
}

export interface CatalogDbGrant {
  user: string;
  host: string;
  /** As stored in mysql.db: a LIKE pattern (`orders\_db`, `shop%`). */
  db: string;
  privileges: string[];
  grantOption: boolean;
}

export interface CatalogTableGrant {
  user: string;
  host: string;
  db: string;
  table: string;
  privileges: string[];
  grantOption: boolean;
}

export interface CatalogColumnGrant {
  user: string;
  host: string;
  db: string;
  table: string;
  column: string;
  privileges: string[];
}

export interface CatalogRoutineGrant {
  user: string;
  host: string;
  db: string;
  routine: string;
  routineType: 'FUNCTION' | 'PROCEDURE' | 'PACKAGE' | 'PACKAGE BODY';
  privileges: string[];
  grantOption: boolean;
}

export interface CatalogProxyGrant {
  user: string;
  host: string;
  proxiedUser: string;
  proxiedHost: string;
  withGrant: boolean;
}

export interface CatalogRoleGrant {
  /** Grantee: an account (user@host) or a role (host ''). */
  user: string;
  host: string;
  role: string;
  withAdmin: boolean;
}

export interface CatalogDatabase {
  name: string;
  charset: string;
  collation: string;
}

export interface Catalog {
  server: string;
  /** VERSION() of the server. */
  version: string;
  accounts: CatalogAccount[];
  /** Schemas that exist (SHOW DATABASES, minus nothing). */
  databases: string[];
  /** Default character set and collation of each database (information_schema.SCHEMATA). */
  databaseDetails?: CatalogDatabase[];
  dbGrants: CatalogDbGrant[];
  tableGrants: CatalogTableGrant[];
  columnGrants: CatalogColumnGrant[];
  routineGrants: CatalogRoutineGrant[];
  proxyGrants: CatalogProxyGrant[];
  roleGrants: CatalogRoleGrant[];
}

/** `'user'@'host'` key used to index accounts ('user'@'' for roles). */
export function accountKey(user: string, host: string): string {
  return `'${user}'@'${host}'`;
}
