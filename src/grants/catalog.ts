// Reads one server's privilege catalog from the mysql.* tables in a single pipelined burst of
// queries (never one query per account, never SHOW GRANTS text). Password hashes never leave
// the server: only "has a password" is selected, or (for provision's password check) each hash's
// sha256 under a salt drawn for that one read.

import { hash } from 'node:crypto';
import { ident } from '../sql/quote.js';
import { parseVersion } from '../util/version.js';
import { decodeAccess, decodePrivilegeSet, GRANT_OPTION, privilegeOfDbColumn } from './privileges.js';
import {
  accountKey,
  type Catalog,
  type CatalogAccount,
  type CatalogDbGrant,
  type CatalogDefinerObject,
  type CatalogRemoteTable,
  type CatalogRoutineGrant,
  PASSWORD_MARKER,
} from './types.js';

/** The narrow seam to a server: one statement with `?` parameters in, rows out. */
export type QueryFn = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

type Row = Record<string, unknown>;

const SSL_TYPES = ['', 'ANY', 'X509', 'SPECIFIED'];

// JSON_VALUE runs server-side so the authentication_string itself is never sent to dbps. With a
// salt (the one parameter), the hash's sha256 under it comes instead of "has a password": one
// column more, where a join of every desired account against global_priv took the server 0.29 s at
// 20,000 accounts (see passwordDigest).
const globalPrivSql = (salted: boolean) => `SELECT User AS user, Host AS host,
  JSON_VALUE(Priv, '$.access') AS access,
  IFNULL(JSON_VALUE(Priv, '$.plugin'), '') AS plugin,
  JSON_EXTRACT(Priv, '$.auth_or[*].plugin') AS orPlugins,
  ${salted ? "SHA2(CONCAT(?, IFNULL(JSON_VALUE(Priv, '$.authentication_string'), '')), 256) AS pwDigest" : "IFNULL(JSON_VALUE(Priv, '$.authentication_string'), '') <> '' AS hasPassword"},
  IFNULL(JSON_VALUE(Priv, '$.is_role'), 'false') AS isRole,
  IFNULL(JSON_VALUE(Priv, '$.default_role'), '') AS defaultRole,
  IFNULL(JSON_VALUE(Priv, '$.max_user_connections'), '0') AS maxUserConnections,
  IFNULL(JSON_VALUE(Priv, '$.ssl_type'), '0') AS sslType,
  IFNULL(JSON_VALUE(Priv, '$.account_locked'), 'false') AS locked
FROM mysql.global_priv`;

// The privilege columns of mysql.db in table order, into a session variable (backquoted; they are
// the server's own column names), then every row with those columns joined: one Y/N string each.
const DB_PRIV_COLUMNS_SQL = `SELECT GROUP_CONCAT(CONCAT('\`', COLUMN_NAME, '\`') ORDER BY ORDINAL_POSITION) INTO @dbps_db_privs
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = 'db' AND COLUMN_NAME LIKE '%\\_priv'`;
const DB_ROWS_SQL =
  "EXECUTE IMMEDIATE CONCAT('SELECT User AS user, Host AS host, Db AS db, CONCAT(', @dbps_db_privs, ') AS privs FROM mysql.db')";

/** mysql.db's rows and the column each position of their privilege string stands for: three statements sent at once, run in order. */
function readDbRows(query: QueryFn): Promise<{ columns: string[]; rows: Row[] }> {
  const named = query(DB_PRIV_COLUMNS_SQL);
  const columns = query<{ cols: string | null }>('SELECT @dbps_db_privs AS cols');
  const rows = query<Row>(DB_ROWS_SQL);
  return Promise.all([named, columns, rows]).then(([, cols, r]) => ({
    columns: String(cols[0]?.cols ?? '')
      .split(',')
      .map((c) => c.replace(/^`|`$/g, '')),
    rows: r,
  }));
}

/**
 * sha256 (hex) of `salt` followed by an authentication string: what readCatalogWithPasswords reports
 * of each account, so a password is checked by comparing it with this of the hash it should have.
 */
export function passwordDigest(salt: string, authenticationString: string): string {
  return hash('sha256', salt + authenticationString, 'hex');
}

/** Reads the whole catalog of `serverName`; all queries are issued at once so a pipelining connection needs ~1 round trip. */
export async function readCatalog(query: QueryFn, serverName: string): Promise<Catalog> {
  return (await readCatalogRows(query, serverName, undefined)).catalog;
}

/**
 * The catalog, and for every account (accountKey of its user and host as stored) passwordDigest of
 * its top-level authentication string under `salt` (a fresh random one per read: the digests say
 * nothing outside this process, and nothing of them is kept).
 */
export async function readCatalogWithPasswords(
  query: QueryFn,
  serverName: string,
  salt: string,
): Promise<{ catalog: Catalog; passwordDigests: Map<string, string> }> {
  const { catalog, passwordDigests } = await readCatalogRows(query, serverName, salt);
  return { catalog, passwordDigests: passwordDigests ?? new Map() };
}

async function readCatalogRows(
  query: QueryFn,
  serverName: string,
  salt: string | undefined,
): Promise<{ catalog: Catalog; passwordDigests?: Map<string, string> }> {
  const [versionRows, globalRows, dbRows, tableRows, columnRows, procRows, proxyRows, roleRows, schemaRows] =
    await Promise.all([
      query<{ v: string }>('SELECT VERSION() AS v'),
      salt === undefined ? query<Row>(globalPrivSql(false)) : query<Row>(globalPrivSql(true), [salt]),
      // mysql.db has one Y/N column per privilege (which ones depends on the version): the server
      // joins them into one string per row, named once, so 15,000 rows are 15,000 short strings
      // instead of 330,000 cells for the client to decode (a third of the audit's client time).
      readDbRows(query),
      query<Row>(
        'SELECT Host AS host, Db AS db, User AS user, Table_name AS tbl, Table_priv AS privs FROM mysql.tables_priv',
      ),
      query<Row>(
        'SELECT Host AS host, Db AS db, User AS user, Table_name AS tbl, Column_name AS col, Column_priv AS privs FROM mysql.columns_priv',
      ),
      query<Row>(
        'SELECT Host AS host, Db AS db, User AS user, Routine_name AS routine, Routine_type AS type, Proc_priv AS privs FROM mysql.procs_priv',
      ),
      query<Row>(
        'SELECT Host AS host, User AS user, Proxied_host AS proxiedHost, Proxied_user AS proxiedUser, With_grant AS withGrant FROM mysql.proxies_priv',
      ),
      query<Row>(
        'SELECT Host AS host, User AS user, Role AS role, Admin_option AS adminOption FROM mysql.roles_mapping',
      ),
      query<Row>(
        'SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA',
      ),
    ]);
  const versionText = String(versionRows[0]?.v ?? '0.0.0');
  const version = parseVersion(versionText);

  const noPassword = salt === undefined ? '' : passwordDigest(salt, '');
  const passwordDigests = salt === undefined ? undefined : new Map<string, string>();
  const accounts: CatalogAccount[] = globalRows.map((r) => {
    const decoded = decodeAccess(BigInt(String(r.access ?? '0')), version);
    const isRole = isTrue(r.isRole);
    if (passwordDigests) passwordDigests.set(accountKey(String(r.user), String(r.host)), String(r.pwDigest));
    return {
      user: String(r.user),
      host: isRole ? '' : String(r.host),
      isRole,
      plugin: String(r.plugin ?? ''),
      plugins: authPluginList(String(r.plugin ?? ''), r.orPlugins),
      hasPassword: passwordDigests ? String(r.pwDigest) !== noPassword : Number(r.hasPassword) === 1,
      locked: isTrue(r.locked),
      maxUserConnections: Number(r.maxUserConnections ?? 0),
      sslType: SSL_TYPES[Number(r.sslType ?? 0)] ?? String(r.sslType),
      defaultRole: String(r.defaultRole ?? ''),
      globalPrivileges: decoded.privileges,
      globalGrantOption: decoded.grantOption,
    };
  });

  // Position i of each row's privilege string is the column named i-th; named once for all rows.
  const privColumns = dbRows.columns
    .map((column, at) => ({ at, name: privilegeOfDbColumn(column) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const dbGrants: CatalogDbGrant[] = dbRows.rows.map((r) => {
    const flags = String(r.privs ?? '');
    const privileges: string[] = [];
    let grantOption = false;
    for (const { at, name } of privColumns) {
      if (flags.charCodeAt(at) !== 89 /* Y */) continue;
      if (name === GRANT_OPTION) grantOption = true;
      else privileges.push(name);
    }
    return { user: String(r.user), host: String(r.host), db: String(r.db), privileges, grantOption };
  });

  const routineGrants: CatalogRoutineGrant[] = procRows.map((r) => {
    const set = decodePrivilegeSet(r.privs as string | string[]);
    return {
      user: String(r.user),
      host: String(r.host),
      db: String(r.db),
      routine: String(r.routine),
      routineType: String(r.type) as CatalogRoutineGrant['routineType'],
      privileges: set.privileges,
      grantOption: set.grantOption,
    };
  });

  const catalog: Catalog = {
    server: serverName,
    version: versionText,
    accounts,
    databases: schemaRows.map((r) => String(r.name)),
    databaseDetails: schemaRows.map((r) => ({
      name: String(r.name),
      charset: String(r.charset),
      collation: String(r.collation),
    })),
    dbGrants,
    tableGrants: tableRows.map((r) => {
      const set = decodePrivilegeSet(r.privs as string | string[]);
      return {
        user: String(r.user),
        host: String(r.host),
        db: String(r.db),
        table: String(r.tbl),
        privileges: set.privileges,
        grantOption: set.grantOption,
      };
    }),
    columnGrants: columnRows.map((r) => ({
      user: String(r.user),
      host: String(r.host),
      db: String(r.db),
      table: String(r.tbl),
      column: String(r.col),
      privileges: decodePrivilegeSet(r.privs as string | string[]).privileges,
    })),
    routineGrants,
    proxyGrants: proxyRows.map((r) => ({
      user: String(r.user),
      host: String(r.host),
      proxiedUser: String(r.proxiedUser),
      proxiedHost: String(r.proxiedHost),
      withGrant: Number(r.withGrant) === 1,
    })),
    roleGrants: roleRows.map((r) => ({
      user: String(r.user),
      host: String(r.host),
      role: String(r.role),
      withAdmin: String(r.adminOption) === 'Y',
    })),
  };
  return passwordDigests ? { catalog, passwordDigests } : { catalog };
}

// `IDENTIFIED VIA a OR b` keeps one plugin in $.plugin and the others in $.auth_or[*].plugin (Debian's
// root@localhost: mysql_native_password USING 'invalid' OR unix_socket): the audit needs all of them.
function authPluginList(plugin: string, orPlugins: unknown): string[] {
  const list = plugin ? [plugin] : [];
  let more: unknown = orPlugins;
  // The connector may hand a JSON result over parsed or as text.
  if (typeof more === 'string' && more !== '') {
    try {
      more = JSON.parse(more);
    } catch {
      more = [];
    }
  }
  if (Array.isArray(more)) for (const p of more) if (typeof p === 'string' && !list.includes(p)) list.push(p);
  return list;
}

// JSON_VALUE returns JSON true as '1' (10.11) or 'true', depending on version.
function isTrue(v: unknown): boolean {
  return v === 1 || v === '1' || v === 'true' || v === true;
}

// ---------------------------------------------------------------------------------------------
// Objects that reach data without a grant on it: definer-rights objects, foreign keys across
// databases, tables whose engine reaches another server. Read only by the audit (provision does not
// need them), in one pipelined burst: one query per kind, never one per object, except SHOW CREATE
// TABLE for the (rare) remote tables, whose CONNECTION string information_schema does not show.

const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'];
const NOT_SYSTEM = `NOT IN (${SYSTEM_SCHEMAS.map(() => '?').join(', ')})`;

/** The audit's extra catalog: what definer-rights-access, cross-service-foreign-key and remote-table read. */
export async function readObjects(
  query: QueryFn,
): Promise<Required<Pick<Catalog, 'definerObjects' | 'foreignKeys' | 'remoteTables'>>> {
  const sys = SYSTEM_SCHEMAS;
  // information_schema.VIEWS and CREATE_OPTIONS open every table of the server in full (each a scan of
  // all databases); TABLE_TYPE and ENGINE need only the table's definition file. So one light scan
  // finds the views and remote tables, and the full reads then name only the schemas and tables found:
  // at 5000 tables that halves the server's part of the audit.
  const [candidates, routines, triggers, events, fks, servers] = await Promise.all([
    query<Row>(
      `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, TABLE_TYPE AS type, ENGINE AS engine FROM information_schema.TABLES WHERE (TABLE_TYPE = 'VIEW' OR ENGINE IN ('CONNECT', 'FEDERATED', 'SPIDER')) AND TABLE_SCHEMA ${NOT_SYSTEM}`,
      sys,
    ),
    query<Row>(
      `SELECT ROUTINE_SCHEMA AS db, ROUTINE_NAME AS name, ROUTINE_TYPE AS kind, DEFINER AS definer, ROUTINE_DEFINITION AS body FROM information_schema.ROUTINES WHERE SECURITY_TYPE = 'DEFINER' AND ROUTINE_SCHEMA ${NOT_SYSTEM}`,
      sys,
    ),
    query<Row>(
      `SELECT TRIGGER_SCHEMA AS db, TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS tbl, EVENT_MANIPULATION AS event, DEFINER AS definer, ACTION_STATEMENT AS body FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA ${NOT_SYSTEM}`,
      sys,
    ),
    query<Row>(
      `SELECT EVENT_SCHEMA AS db, EVENT_NAME AS name, DEFINER AS definer, EVENT_DEFINITION AS body FROM information_schema.EVENTS WHERE EVENT_SCHEMA ${NOT_SYSTEM}`,
      sys,
    ),
    crossDatabaseForeignKeys(query),
    // CREATE SERVER entries that a FEDERATED/SPIDER CONNECTION may name; the password column is never selected.
    query<Row>(
      "SELECT Server_name AS name, Host AS host, Port AS port, Db AS db, Username AS user, Password <> '' AS hasPassword FROM mysql.servers",
    ).catch(() => [] as Row[]),
  ]);
  const viewSchemas = [...new Set(candidates.filter((r) => r.type === 'VIEW').map((r) => String(r.db)))];
  const remoteFound = candidates.filter((r) => r.type !== 'VIEW');
  const [views, remote, definition] = await Promise.all([
    definerViews(query, viewSchemas),
    Promise.all(
      remoteFound.map((r) =>
        query<Row>(
          'SELECT CREATE_OPTIONS AS options FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
          [String(r.db), String(r.tbl)],
        ).then((rows) => ({ ...r, options: rows[0]?.options ?? '' })),
      ),
    ),
    Promise.all(
      remoteFound.map((r) =>
        query<Row>(`SHOW CREATE TABLE ${ident(String(r.db))}.${ident(String(r.tbl))}`)
          .then((rows) => String(rows[0]?.['Create Table'] ?? ''))
          .catch(() => ''),
      ),
    ),
  ]);
  const definerObjects: CatalogDefinerObject[] = [
    ...views.map((r) => ({ ...definerObject('VIEW', r), updatable: String(r.updatable) === 'YES' })),
    ...routines.map((r) => definerObject(String(r.kind) as CatalogDefinerObject['kind'], r)),
    ...triggers.map((r) => ({ ...definerObject('TRIGGER', r), table: String(r.tbl), event: String(r.event) })),
    ...events.map((r) => definerObject('EVENT', r)),
  ];
  return {
    definerObjects,
    foreignKeys: fks.map((r) => ({
      db: String(r.db),
      table: String(r.tbl),
      constraint: String(r.name),
      referencedDb: String(r.refDb),
      referencedTable: String(r.refTable),
    })),
    remoteTables: remote.map((r, i) => remoteTable(r, definition[i]!, servers)),
  };
}

const DEFINER_VIEWS_SQL = `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, DEFINER AS definer, VIEW_DEFINITION AS body, IS_UPDATABLE AS updatable FROM information_schema.VIEWS WHERE SECURITY_TYPE = 'DEFINER'`;
// Past this many schemas with views, one scan of all databases costs less than a query per schema.
const VIEW_SCHEMAS_ONE_BY_ONE = 64;

/** The definer-rights views of the schemas that hold views: one query each (the server opens only that schema), or one scan when many do. */
async function definerViews(query: QueryFn, schemas: string[]): Promise<Row[]> {
  if (schemas.length === 0) return [];
  if (schemas.length > VIEW_SCHEMAS_ONE_BY_ONE)
    return query<Row>(`${DEFINER_VIEWS_SQL} AND TABLE_SCHEMA ${NOT_SYSTEM}`, SYSTEM_SCHEMAS);
  const each = await Promise.all(schemas.map((db) => query<Row>(`${DEFINER_VIEWS_SQL} AND TABLE_SCHEMA = ?`, [db])));
  return each.flat();
}

const FOREIGN_KEYS_SQL =
  'SELECT CONSTRAINT_SCHEMA AS db, TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, UNIQUE_CONSTRAINT_SCHEMA AS refDb, REFERENCED_TABLE_NAME AS refTable FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE BINARY UNIQUE_CONSTRAINT_SCHEMA <> BINARY CONSTRAINT_SCHEMA';

// InnoDB's own foreign-key dictionary, names as `db/table` in the server's file-name encoding (which
// maps each name to one spelling, so equal prefixes are equal databases; compared as bytes, as the
// file system does). Only InnoDB keeps foreign keys.
export const CROSS_DATABASE_FK_PROBE_SQL = `SELECT COUNT(*) AS n FROM information_schema.INNODB_SYS_FOREIGN
  WHERE BINARY SUBSTRING_INDEX(FOR_NAME, '/', 1) <> BINARY SUBSTRING_INDEX(REF_NAME, '/', 1)`;

/**
 * Foreign keys whose parent table is in another database. information_schema.REFERENTIAL_CONSTRAINTS
 * opens every table of every database (60 ms at 500 databases, growing with the tables), so InnoDB's
 * dictionary is asked first whether there is any such key at all: almost always none, and then the
 * slow query is skipped. When there is one, or the probe cannot run (it needs PROCESS; a server
 * without the table), the full query runs as before: the rule always sees every key.
 */
async function crossDatabaseForeignKeys(query: QueryFn): Promise<Row[]> {
  const probe = await query<{ n: number }>(CROSS_DATABASE_FK_PROBE_SQL).catch(() => undefined);
  if (probe && Number(probe[0]?.n) === 0) return [];
  return query<Row>(FOREIGN_KEYS_SQL);
}

function definerObject(kind: CatalogDefinerObject['kind'], r: Row): CatalogDefinerObject {
  return { kind, db: String(r.db), name: String(r.name), definer: String(r.definer ?? ''), body: String(r.body ?? '') };
}

function remoteTable(r: Row, createTable: string, servers: Row[]): CatalogRemoteTable {
  const engine = String(r.engine).toUpperCase();
  const tableType = /`?TABLE_TYPE`?\s*=\s*'?([A-Za-z0-9_]+)/i.exec(String(r.options ?? ''))?.[1]?.toUpperCase() ?? '';
  const raw = tableOption(createTable, 'CONNECTION') ?? '';
  const optionList = tableOption(createTable, 'OPTION_LIST') ?? '';
  const comment = tableOption(createTable, 'COMMENT') ?? '';
  let { text: connection, hadPassword } = maskConnection(raw);
  // A CONNECTION that names a CREATE SERVER entry: show where it points. Its password stays in
  // mysql.servers (admins only; never read here), not in the table's definition: no exposure.
  const server = servers.find((s) => connection !== '' && String(s.name) === connection.split('/')[0]);
  if (server) {
    const rest = connection.includes('/') ? connection.slice(connection.indexOf('/')) : '';
    connection = `mysql://${String(server.user ?? '')}${Number(server.hasPassword) === 1 ? `:${PASSWORD_MARKER}` : ''}@${String(server.host ?? '')}:${Number(server.port ?? 0) || 3306}/${String(server.db ?? '')}${rest}`;
  }
  // CONNECT may also carry a password in OPTION_LIST, SPIDER in COMMENT (`password "…"`).
  if (/(^|,)\s*password\s*=/i.test(optionList) || /\bpassword\s+["']/i.test(comment)) hadPassword = true;
  return { db: String(r.db), table: String(r.tbl), engine, tableType, connection, hasPassword: hadPassword };
}

/** The value of `NAME='…'` in SHOW CREATE TABLE text ('' doubled and backslash escapes undone), or undefined. */
export function tableOption(createTable: string, name: string): string | undefined {
  const re = new RegExp(`\\b${name}\\s*=\\s*'((?:[^'\\\\]|''|\\\\.)*)'`, 'i');
  const m = re.exec(createTable);
  if (!m) return undefined;
  return m[1]!.replace(/''/g, "'").replace(/\\(.)/g, '$1');
}

/** `scheme://user:password@host…` with the password replaced by the marker. */
export function maskConnection(connection: string): { text: string; hadPassword: boolean } {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:@/]*):([^@]*)@/.exec(connection);
  if (!m) return { text: connection, hadPassword: false };
  return { text: `${m[1]}:${PASSWORD_MARKER}@${connection.slice(m[0].length)}`, hadPassword: m[2] !== '' };
}
