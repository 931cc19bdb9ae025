// readObjects asks InnoDB's dictionary whether any foreign key crosses databases before it runs the
// slow information_schema.REFERENTIAL_CONSTRAINTS read. Whichever way it goes, the audit must see every
// cross-database key: with the probe (admin with PROCESS), without it (admin lacking PROCESS), and
// with names the server stores encoded (`parent-db` is `parent@002ddb` in the dictionary), and with
// databases whose names differ only in case (distinct on Linux; a case-blind comparison missed them).
import type { Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CROSS_DATABASE_FK_PROBE_SQL, type QueryFn, readObjects } from '../../src/grants/catalog.js';
import { startTestServer, stopAllTestServers, type TestServer } from '../helpers/mariadb-server.js';

let server: TestServer;
let root: Connection;
let limited: Connection;

const asQuery =
  (c: Connection): QueryFn =>
  async (sql, params) =>
    (await c.query(sql, params)) as never;
const keys = async (q: QueryFn) =>
  (await readObjects(q)).foreignKeys.map((k) => `${k.db}.${k.table} -> ${k.referencedDb}.${k.referencedTable}`).sort();

beforeAll(async () => {
  server = await startTestServer({ name: 'fk-probe' });
  root = await server.connect();
  for (const sql of [
    'CREATE DATABASE `parent-db`',
    'CREATE DATABASE child',
    'CREATE TABLE `parent-db`.p (id INT PRIMARY KEY) ENGINE=InnoDB',
    'CREATE TABLE child.same (id INT PRIMARY KEY) ENGINE=InnoDB',
    // Same database: never reported.
    'CREATE TABLE child.c1 (id INT PRIMARY KEY, s INT, FOREIGN KEY (s) REFERENCES child.same (id)) ENGINE=InnoDB',
    // An admin that can read every table but lacks PROCESS, which the dictionary probe needs.
    "CREATE USER 'reader'@'%' IDENTIFIED BY 'Reader-pw-1'",
    "GRANT SELECT, SHOW VIEW ON *.* TO 'reader'@'%'",
  ])
    await root.query(sql);
  limited = await server.connect({ user: 'reader', password: 'Reader-pw-1' });
});

afterAll(async () => {
  await limited?.end().catch(() => undefined);
  await root?.end().catch(() => undefined);
  await stopAllTestServers();
});

describe('cross-database foreign keys behind the dictionary probe', () => {
  it('reads none when only same-database keys exist, and the probe says so', async () => {
    expect(Number((await root.query(CROSS_DATABASE_FK_PROBE_SQL))[0].n)).toBe(0);
    expect(await keys(asQuery(root))).toEqual([]);
    expect(await keys(asQuery(limited))).toEqual([]);
  });

  it('reads a key into another database, with and without PROCESS, from an encoded database name', async () => {
    await root.query(
      'CREATE TABLE child.c2 (id INT PRIMARY KEY, p INT, CONSTRAINT fk_p FOREIGN KEY (p) REFERENCES `parent-db`.p (id)) ENGINE=InnoDB',
    );
    expect(Number((await root.query(CROSS_DATABASE_FK_PROBE_SQL))[0].n)).toBe(1);
    await expect(limited.query(CROSS_DATABASE_FK_PROBE_SQL)).rejects.toThrow();
    expect(await keys(asQuery(root))).toEqual(['child.c2 -> parent-db.p']);
    expect(await keys(asQuery(limited))).toEqual(['child.c2 -> parent-db.p']);
  });

  it('tells databases that differ only in case apart (the probe compares bytes)', async () => {
    await root.query('DROP TABLE child.c2');
    await root.query('CREATE DATABASE Child');
    await root.query('CREATE TABLE Child.p (id INT PRIMARY KEY) ENGINE=InnoDB');
    await root.query(
      'CREATE TABLE child.c3 (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES Child.p (id)) ENGINE=InnoDB',
    );
    expect(Number((await root.query(CROSS_DATABASE_FK_PROBE_SQL))[0].n)).toBe(1);
    expect(await keys(asQuery(root))).toEqual(['child.c3 -> Child.p']);
  });
});
