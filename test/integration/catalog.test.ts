// readCatalog against a real server: the version-aware bit table of mysql.global_priv is checked by
// granting every global privilege to its own account and reading it back, and likewise for mysql.db,
// tables_priv, columns_priv, procs_priv, roles_mapping, proxies_priv and the account options.
import type { Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordDigest, type QueryFn, readCatalog, readCatalogWithPasswords } from '../../src/grants/catalog.js';
import { globalPrivilegeNames } from '../../src/grants/privileges.js';
import type { Catalog } from '../../src/grants/types.js';
import { parseVersion } from '../../src/util/version.js';
import { startTestServer, stopAllTestServers, type TestServer } from '../helpers/mariadb-server.js';

let server: TestServer;
let conn: Connection;
let catalog: Catalog;
let globals: string[];

const DB_PRIVS = [
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'CREATE',
  'DROP',
  'REFERENCES',
  'INDEX',
  'ALTER',
  'CREATE TEMPORARY TABLES',
  'LOCK TABLES',
  'EXECUTE',
  'CREATE VIEW',
  'SHOW VIEW',
  'CREATE ROUTINE',
  'ALTER ROUTINE',
  'EVENT',
  'TRIGGER',
  'DELETE HISTORY',
];
const TABLE_PRIVS = [
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'CREATE',
  'DROP',
  'REFERENCES',
  'INDEX',
  'ALTER',
  'CREATE VIEW',
  'SHOW VIEW',
  'TRIGGER',
  'DELETE HISTORY',
];
const COLUMN_PRIVS = ['SELECT', 'INSERT', 'UPDATE', 'REFERENCES'];

const query: QueryFn = async (sql, params) => (await conn.query(sql, params)) as never;
const slug = (p: string) => p.toLowerCase().replace(/[^a-z]/g, '');

beforeAll(async () => {
  server = await startTestServer({ name: 'catalog' });
  conn = await server.connect();
  const version = parseVersion(String((await conn.query('SELECT VERSION() AS v'))[0].v));
  globals = globalPrivilegeNames(version);
  await conn.query('CREATE DATABASE `x_y`');
  await conn.query('CREATE TABLE `x_y`.t (id INT, c INT)');
  await conn.query('CREATE PROCEDURE `x_y`.p() SELECT 1');
  const statements: string[] = [];
  for (const p of globals) statements.push(`CREATE USER 'g_${slug(p)}'@'%'`, `GRANT ${p} ON *.* TO 'g_${slug(p)}'@'%'`);
  for (const p of DB_PRIVS)
    statements.push(`CREATE USER 'd_${slug(p)}'@'%'`, `GRANT ${p} ON \`x\\_y\`.* TO 'd_${slug(p)}'@'%'`);
  for (const p of TABLE_PRIVS)
    statements.push(`CREATE USER 't_${slug(p)}'@'%'`, `GRANT ${p} ON \`x_y\`.t TO 't_${slug(p)}'@'%'`);
  for (const p of COLUMN_PRIVS)
    statements.push(`CREATE USER 'c_${slug(p)}'@'%'`, `GRANT ${p} (c) ON \`x_y\`.t TO 'c_${slug(p)}'@'%'`);
  statements.push(
    "CREATE USER 'opts'@'10.%' IDENTIFIED BY 'catalog-secret-1' REQUIRE SSL WITH MAX_USER_CONNECTIONS 7 ACCOUNT LOCK",
    "GRANT SELECT ON *.* TO 'opts'@'10.%' WITH GRANT OPTION",
    "GRANT EXECUTE, ALTER ROUTINE ON PROCEDURE `x_y`.p TO 'opts'@'10.%' WITH GRANT OPTION",
    'CREATE ROLE reader',
    'GRANT SELECT ON `x\\_y`.* TO reader',
    "GRANT reader TO 'opts'@'10.%' WITH ADMIN OPTION",
    "SET DEFAULT ROLE reader FOR 'opts'@'10.%'",
    "GRANT PROXY ON 'g_select'@'%' TO 'opts'@'10.%'",
    // Debian's root@localhost form: a password that never matches OR unix_socket.
    "CREATE USER 'deb'@'localhost' IDENTIFIED VIA mysql_native_password USING 'invalid' OR unix_socket",
    // Oracle-mode packages: GRANT … ON PACKAGE [BODY] parses only under sql_mode=ORACLE.
    "CREATE USER 'pk'@'%'",
    "SET SESSION sql_mode = 'ORACLE'",
    'CREATE PACKAGE `x_y`.pk AS FUNCTION f RETURN INT; END;',
    'CREATE PACKAGE BODY `x_y`.pk AS FUNCTION f RETURN INT AS BEGIN RETURN 1; END; END;',
    "GRANT EXECUTE ON PACKAGE `x_y`.pk TO 'pk'@'%'",
    "GRANT EXECUTE ON PACKAGE BODY `x_y`.pk TO 'pk'@'%' WITH GRANT OPTION",
    'SET SESSION sql_mode = DEFAULT',
  );
  // Pipelined on one connection: order is kept, and it costs about one round trip.
  await Promise.all(statements.map((s) => conn.query(s)));
  catalog = await readCatalog(query, 'catalog');
});

afterAll(async () => {
  await conn?.end().catch(() => undefined);
  await stopAllTestServers();
});

describe('readCatalog on a real server', () => {
  it('decodes every global privilege bit of this version to its own name', () => {
    expect(globals.length).toBeGreaterThanOrEqual(38);
    for (const p of globals) {
      const a = catalog.accounts.find((x) => x.user === `g_${slug(p)}`);
      expect({ p, got: a?.globalPrivileges, grantOption: a?.globalGrantOption }).toEqual({
        p,
        got: [p],
        grantOption: false,
      });
    }
  });

  it('reads every database-level privilege column, keeping the escaped LIKE pattern', () => {
    for (const p of DB_PRIVS) {
      const rows = catalog.dbGrants.filter((g) => g.user === `d_${slug(p)}`);
      expect({ p, rows }).toEqual({
        p,
        rows: [{ user: `d_${slug(p)}`, host: '%', db: 'x\\_y', privileges: [p], grantOption: false }],
      });
    }
  });

  it('reads table, column, routine, role and proxy grants', () => {
    for (const p of TABLE_PRIVS) {
      expect(catalog.tableGrants.filter((g) => g.user === `t_${slug(p)}`)).toEqual([
        { user: `t_${slug(p)}`, host: '%', db: 'x_y', table: 't', privileges: [p], grantOption: false },
      ]);
    }
    for (const p of COLUMN_PRIVS) {
      expect(catalog.columnGrants.filter((g) => g.user === `c_${slug(p)}`)).toEqual([
        { user: `c_${slug(p)}`, host: '%', db: 'x_y', table: 't', column: 'c', privileges: [p] },
      ]);
    }
    expect(catalog.routineGrants.filter((g) => g.user === 'opts')).toEqual([
      {
        user: 'opts',
        host: '10.%',
        db: 'x_y',
        routine: 'p',
        routineType: 'PROCEDURE',
        privileges: ['ALTER ROUTINE', 'EXECUTE'],
        grantOption: true,
      },
    ]);
    expect(catalog.routineGrants.filter((g) => g.user === 'pk')).toEqual([
      {
        user: 'pk',
        host: '%',
        db: 'x_y',
        routine: 'pk',
        routineType: 'PACKAGE',
        privileges: ['EXECUTE'],
        grantOption: false,
      },
      {
        user: 'pk',
        host: '%',
        db: 'x_y',
        routine: 'pk',
        routineType: 'PACKAGE BODY',
        privileges: ['EXECUTE'],
        grantOption: true,
      },
    ]);
    expect(catalog.roleGrants).toContainEqual({ user: 'opts', host: '10.%', role: 'reader', withAdmin: true });
    expect(catalog.proxyGrants).toContainEqual({
      user: 'opts',
      host: '10.%',
      proxiedUser: 'g_select',
      proxiedHost: '%',
      withGrant: false,
    });
    expect(catalog.dbGrants).toContainEqual({
      user: 'reader',
      host: '',
      db: 'x\\_y',
      privileges: ['SELECT'],
      grantOption: false,
    });
  });

  it('reads account options and roles, and never the password hash', () => {
    const opts = catalog.accounts.find((a) => a.user === 'opts');
    expect(opts).toEqual({
      user: 'opts',
      host: '10.%',
      isRole: false,
      plugin: 'mysql_native_password',
      plugins: ['mysql_native_password'],
      hasPassword: true,
      locked: true,
      maxUserConnections: 7,
      sslType: 'ANY',
      defaultRole: 'reader',
      globalPrivileges: ['SELECT'],
      globalGrantOption: true,
    });
    expect(catalog.accounts.find((a) => a.user === 'reader')).toMatchObject({
      isRole: true,
      host: '',
      hasPassword: false,
    });
    expect(catalog.accounts.find((a) => a.user === 'g_select')).toMatchObject({
      hasPassword: false,
      locked: false,
      sslType: '',
      maxUserConnections: 0,
    });
    // Every alternative of IDENTIFIED VIA … OR …, so the audit sees unix_socket on Debian's root.
    expect(catalog.accounts.find((a) => a.user === 'deb')).toMatchObject({
      plugin: 'mysql_native_password',
      plugins: ['mysql_native_password', 'unix_socket'],
      hasPassword: true,
    });
    expect(catalog.databases).toEqual(expect.arrayContaining(['x_y', 'mysql', 'information_schema']));
    expect(JSON.stringify(catalog)).not.toMatch(/\*[0-9A-F]{40}/);
  });

  it("with a salt, gives each account's hash only as its salted digest, and the same catalog", async () => {
    const salt = 'f00dfeedf00dfeedf00dfeedf00dfeed';
    const { catalog: salted, passwordDigests } = await readCatalogWithPasswords(query, 'catalog', salt);
    expect(salted).toStrictEqual(catalog);
    const [{ hash }] = await conn.query(
      "SELECT JSON_VALUE(Priv, '$.authentication_string') AS hash FROM mysql.global_priv WHERE User = 'opts'",
    );
    expect(hash).toMatch(/^\*[0-9A-F]{40}$/);
    expect(passwordDigests.get("'opts'@'10.%'")).toBe(passwordDigest(salt, hash));
    // An account without a password: the digest of the empty string.
    expect(passwordDigests.get("'g_select'@'%'")).toBe(passwordDigest(salt, ''));
    expect(JSON.stringify([...passwordDigests])).not.toContain(hash);
    expect(passwordDigests.size).toBe(catalog.accounts.length);
  });
});
