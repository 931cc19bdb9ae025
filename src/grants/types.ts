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

/** A view, routine, trigger or event that runs with its definer's privileges (`SQL SECURITY DEFINER`). */
export interface CatalogDefinerObject {
  kind: 'VIEW' | 'PROCEDURE' | 'FUNCTION' | 'TRIGGER' | 'EVENT' | 'PACKAGE' | 'PACKAGE BODY';
  db: string;
  name: string;
  /** `user@host` as information_schema shows it (a role definer has no `@host`). */
  definer: string;
  /** The body: the view's SELECT, the routine's, trigger's or event's statement. */
  body: string;
  /** Views: whether INSERT/UPDATE/DELETE pass through it (information_schema.VIEWS.IS_UPDATABLE). */
  updatable?: boolean;
  /** Triggers: the table whose INSERT/UPDATE/DELETE fires it, and which of them. */
  table?: string;
  event?: string;
}

/** A foreign key whose parent table is in another database. */
export interface CatalogForeignKey {
  db: string;
  table: string;
  constraint: string;
  referencedDb: string;
  referencedTable: string;
}

/** A table whose engine reaches another server: CONNECT, FEDERATED (FederatedX), SPIDER. */
export interface CatalogRemoteTable {
  db: string;
  table: string;
  engine: string;
  /** CONNECT's TABLE_TYPE (MYSQL, ODBC, …), '' for the others. */
  tableType: string;
  /** The CONNECTION string with its password replaced by PASSWORD_MARKER (never the secret itself). */
  connection: string;
  /** True when the table's own definition held a password (now masked); a named server's does not count. */
  hasPassword: boolean;
}

/** What a CONNECT/FEDERATED connection's password is replaced by when read from the server. */
export const PASSWORD_MARKER = '<redacted>';

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
  /** Definer-rights objects outside the system schemas (absent when not read, e.g. older dumps). */
  definerObjects?: CatalogDefinerObject[];
  /** Foreign keys that cross databases (absent when not read). */
  foreignKeys?: CatalogForeignKey[];
  /** Tables that reach another server (absent when not read). */
  remoteTables?: CatalogRemoteTable[];
}

/** `'user'@'host'` key used to index accounts ('user'@'' for roles). */
export function accountKey(user: string, host: string): string {
  return `'${user}'@'${host}'`;
}
