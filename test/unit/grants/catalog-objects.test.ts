import { describe, expect, it } from 'vitest';
import { maskConnection, readObjects, tableOption } from '../../../src/grants/catalog.js';

describe('remote table definitions', () => {
  it('masks the password of a CONNECTION url and says whether there was one', () => {
    expect(maskConnection('mysql://report_user:S3cret@customers-db:3306/customers')).toEqual({
      text: 'mysql://report_user:<redacted>@customers-db:3306/customers',
      hadPassword: true,
    });
    expect(maskConnection('mysql://u:p@ss:w0rd@h/db/t')).toEqual({
      text: 'mysql://u:<redacted>@ss:w0rd@h/db/t',
      hadPassword: true,
    });
    expect(maskConnection('mysql://u@h:3306/db')).toEqual({ text: 'mysql://u@h:3306/db', hadPassword: false });
    expect(maskConnection('archive_server/t')).toEqual({ text: 'archive_server/t', hadPassword: false });
  });

  it("reads a table option's quoted value from SHOW CREATE TABLE text, undoing '' and backslash escapes", () => {
    const ddl =
      "CREATE TABLE `r` (\n  `id` int(11) NOT NULL\n) ENGINE=CONNECT DEFAULT CHARSET=latin1 CONNECTION='mysql://u:it''s\\\\x@h:3306/c/t' `TABLE_TYPE`='MYSQL' COMMENT='a'";
    expect(tableOption(ddl, 'CONNECTION')).toBe("mysql://u:it's\\x@h:3306/c/t");
    expect(tableOption(ddl, 'OPTION_LIST')).toBeUndefined();
  });

  it('never lets a password through readObjects: CONNECTION, a named server, OPTION_LIST', async () => {
    const options: Record<string, string> = { a: "`TABLE_TYPE`='MYSQL'", b: '', c: "`TABLE_TYPE`='MYSQL'" };
    const query = async (sql: string, params?: unknown[]) => {
      // The light scan finds the remote tables; their CREATE_OPTIONS are then read one table at a time.
      if (sql.includes('CREATE_OPTIONS')) return [{ options: options[String(params?.[1])] }];
      if (sql.includes('information_schema.TABLES'))
        return [
          { db: 'orders', tbl: 'a', type: 'BASE TABLE', engine: 'CONNECT' },
          { db: 'orders', tbl: 'b', type: 'BASE TABLE', engine: 'FEDERATED' },
          { db: 'orders', tbl: 'c', type: 'BASE TABLE', engine: 'CONNECT' },
        ];
      if (sql.includes('mysql.servers'))
        return [{ name: 'cust', host: 'customers-db', port: 3307, db: 'customers', user: 'r', hasPassword: 1 }];
      if (sql.startsWith('SHOW CREATE TABLE `orders`.`a`'))
        return [
          {
            'Create Table':
              "CREATE TABLE `a` (x int) ENGINE=CONNECT CONNECTION='mysql://r:Top-Secret@h:3306/customers/t'",
          },
        ];
      if (sql.startsWith('SHOW CREATE TABLE `orders`.`b`'))
        return [{ 'Create Table': "CREATE TABLE `b` (x int) ENGINE=FEDERATED CONNECTION='cust/t'" }];
      if (sql.startsWith('SHOW CREATE TABLE `orders`.`c`'))
        return [
          { 'Create Table': "CREATE TABLE `c` (x int) ENGINE=CONNECT OPTION_LIST='host=h,user=r,password=Top-Secret'" },
        ];
      return [];
    };
    const objects = await readObjects(query as never);
    expect(JSON.stringify(objects)).not.toContain('Top-Secret');
    expect(objects.remoteTables).toEqual([
      {
        db: 'orders',
        table: 'a',
        engine: 'CONNECT',
        tableType: 'MYSQL',
        connection: 'mysql://r:<redacted>@h:3306/customers/t',
        hasPassword: true,
      },
      {
        db: 'orders',
        table: 'b',
        engine: 'FEDERATED',
        tableType: '',
        connection: 'mysql://r:<redacted>@customers-db:3307/customers/t',
        // The password of a named server is in mysql.servers, not in the table's definition.
        hasPassword: false,
      },
      { db: 'orders', table: 'c', engine: 'CONNECT', tableType: 'MYSQL', connection: '', hasPassword: true },
    ]);
  });
});

describe('definer-rights views', () => {
  // The light scan names the schemas that hold views; VIEWS (which opens every table it scans) is then
  // asked per schema, or in one scan when many schemas hold views.
  const viewsOf = (schemas: string[]) => {
    const asked: { sql: string; params?: unknown[] }[] = [];
    const query = async (sql: string, params?: unknown[]) => {
      asked.push({ sql, params });
      if (sql.includes('information_schema.TABLES'))
        return schemas.map((db) => ({ db, tbl: 'v', type: 'VIEW', engine: null }));
      if (sql.includes('information_schema.VIEWS')) {
        const dbs = sql.includes('TABLE_SCHEMA = ?') ? [String(params?.[0])] : schemas;
        return dbs.map((db) => ({ db, name: 'v', definer: 'root@localhost', body: 'select 1', updatable: 'NO' }));
      }
      return [];
    };
    return { asked, read: readObjects(query as never) };
  };

  it('reads the views of each schema that holds one, and no other schema', async () => {
    const { asked, read } = viewsOf(['orders', 'billing']);
    const objects = await read;
    expect(objects.definerObjects.map((o) => `${o.kind} ${o.db}.${o.name}`)).toEqual([
      'VIEW orders.v',
      'VIEW billing.v',
    ]);
    const viewQueries = asked.filter((q) => q.sql.includes('information_schema.VIEWS'));
    expect(viewQueries.map((q) => q.params)).toEqual([['orders'], ['billing']]);
  });

  it('reads all views in one scan when more than 64 schemas hold views', async () => {
    const schemas = Array.from({ length: 65 }, (_, i) => `s${i}`);
    const { asked, read } = viewsOf(schemas);
    expect((await read).definerObjects).toHaveLength(65);
    const viewQueries = asked.filter((q) => q.sql.includes('information_schema.VIEWS'));
    expect(viewQueries).toHaveLength(1);
    expect(viewQueries[0]!.sql).not.toContain('TABLE_SCHEMA = ?');
  });

  it('asks nothing of VIEWS when the server has no view', async () => {
    const { asked, read } = viewsOf([]);
    expect((await read).definerObjects).toEqual([]);
    expect(asked.some((q) => q.sql.includes('information_schema.VIEWS'))).toBe(false);
  });
});
