import { describe, expect, it } from 'vitest';
import { referencedObjects } from '../../../src/grants/sql-references.js';

const DBS = new Set(['customers', 'orders', 'my`db']);

describe('referencedObjects', () => {
  it('reads backticked and bare db.name pairs, and the db.table of db.table.column', () => {
    expect(
      referencedObjects(
        'select `customers`.`customers`.`id` AS `id` from `customers`.`customers` join orders.o on o.id = customers.accounts.id',
        DBS,
      ),
    ).toEqual([
      { db: 'customers', name: 'customers', call: false },
      { db: 'orders', name: 'o', call: false },
      { db: 'customers', name: 'accounts', call: false },
    ]);
  });

  it('skips strings and comments, keeps doubled backticks, ignores databases it does not know', () => {
    expect(
      referencedObjects(
        "select 'customers.secret', \"customers.x\" -- customers.y\n /* customers.z */ # customers.w\n from `my``db`.`t`, other.t2, `customers`.`it's`",
        DBS,
      ),
    ).toEqual([
      { db: 'my`db', name: 't', call: false },
      { db: 'customers', name: "it's", call: false },
    ]);
  });

  it('finds routine calls and unqualified names stay with the object', () => {
    expect(
      referencedObjects('BEGIN CALL customers.merge; SET @x = customers.total(1); SELECT * FROM t; END', DBS),
    ).toEqual([
      { db: 'customers', name: 'merge', call: true },
      { db: 'customers', name: 'total', call: true },
    ]);
    expect(referencedObjects('select a.b from t a', DBS)).toEqual([]);
  });
});
