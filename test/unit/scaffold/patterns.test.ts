// The pure part of dbps scaffold: numbering, file text, and what every pattern's SQL must (not) contain.
import { describe, expect, it } from 'vitest';
import {
  findPattern,
  NO_XA,
  numberParts,
  PATTERNS,
  parseMigrationName,
  renderPart,
  scaffoldFiles,
  versionSupported,
} from '../../../src/scaffold/patterns.js';
import type { PatternInput } from '../../../src/scaffold/types.js';
import { parseVersion } from '../../../src/util/version.js';

const input: PatternInput = {
  service: 'shop',
  database: 'shop',
  server: 'shared',
  version: parseVersion('10.11'),
  outboxTable: 'shop_events_outbox',
};

describe('numbering', () => {
  it('continues after the highest existing number and reuses the number of a part already there', () => {
    expect(numberParts(['outbox-table', 'outbox-orders'], [])).toStrictEqual([
      '0001_outbox-table.sql',
      '0002_outbox-orders.sql',
    ]);
    expect(
      numberParts(
        ['outbox-table', 'reservation-stock'],
        ['0001_outbox-table.sql', '0007_hand-written.sql', 'notes.txt'],
      ),
    ).toStrictEqual(['0001_outbox-table.sql', '0008_reservation-stock.sql']);
  });

  it('parses only numbered .sql names', () => {
    expect(parseMigrationName('0012_read-model-order-items.sql')).toStrictEqual({
      number: 12,
      key: 'read-model-order-items',
    });
    expect(parseMigrationName('read-model.sql')).toBeUndefined();
    expect(parseMigrationName('12_x.sql')).toBeUndefined();
  });
});

describe('file text', () => {
  it('puts compound statements between DELIMITER $$ and DELIMITER ;, and ends plain ones with ;', () => {
    const compound = renderPart(
      'outbox',
      { part: 'p', summary: 's', statements: ['CREATE PROCEDURE p() BEGIN SELECT 1; END'] },
      input,
    );
    expect(compound).toMatch(/\nDELIMITER \$\$\n\nCREATE PROCEDURE p\(\) BEGIN SELECT 1; END\n\$\$\n\nDELIMITER ;\n$/);
    const plain = renderPart(
      'outbox',
      { part: 'p', summary: 's', statements: ['CREATE TABLE IF NOT EXISTS t (a INT)'] },
      input,
    );
    expect(plain).not.toMatch(/DELIMITER/);
    expect(plain).toMatch(/\nCREATE TABLE IF NOT EXISTS t \(a INT\);\n$/);
  });

  it('is deterministic and names the service, database and server version', () => {
    for (const p of PATTERNS) {
      const a = scaffoldFiles(p, input, []);
      expect(scaffoldFiles(p, input, [])).toStrictEqual(a);
      for (const f of a) expect(f.text).toMatch(/Service "shop", database `shop`, server "shared" \(MariaDB 10\.11\)/);
    }
  });
});

describe('every pattern', () => {
  const all = PATTERNS.flatMap((p) =>
    p.build(input).flatMap((part) => part.statements.map((sql) => ({ p: p.name, sql }))),
  );

  it('is re-runnable: only CREATE TABLE IF NOT EXISTS and CREATE OR REPLACE', () => {
    for (const { sql } of all)
      expect(sql).toMatch(/^CREATE (TABLE IF NOT EXISTS|OR REPLACE (PROCEDURE|TRIGGER|EVENT)) /);
  });

  it('grants nothing and names no definer (the migrator that applies it is the definer)', () => {
    for (const { sql } of all) {
      expect(sql).not.toMatch(/\bGRANT\b|\bDEFINER\s*=/i);
      if (sql.startsWith('CREATE OR REPLACE PROCEDURE')) expect(sql).toMatch(/\n {2}SQL SECURITY INVOKER\n/);
    }
  });

  it('stays in the service database: no other schema is named', () => {
    for (const { sql } of all) {
      for (const m of sql.matchAll(/`([^`]+)`\.`/g)) expect(m[1]).toBe('shop');
    }
  });

  it('compares NULL-safely in the change-capture trigger', () => {
    const trigger = all.find((s) => s.sql.startsWith('CREATE OR REPLACE TRIGGER'))!.sql;
    expect(trigger).toMatch(/OLD\.email <=> NEW\.email/);
    expect(trigger.replace(/--.*$/gm, '')).not.toMatch(/!=/);
  });

  it('prefixes its own objects with --name, never the shared outbox table', () => {
    const files = scaffoldFiles(findPattern('outbox')!, { ...input, prefix: 'eu' }, []);
    expect(files.map((f) => f.name)).toStrictEqual([
      '0001_outbox-table.sql',
      '0002_outbox-eu-orders.sql',
      '0003_outbox-eu-create-order.sql',
    ]);
    expect(files[2]!.text).toMatch(/CREATE OR REPLACE PROCEDURE `eu_create_order`/);
    expect(files[2]!.text).toMatch(/INSERT INTO `shop_events_outbox`/);
  });
});

describe('registry', () => {
  it('finds the five patterns, none called xa, and says why', () => {
    expect(PATTERNS.map((p) => p.name)).toStrictEqual([
      'outbox',
      'reservation',
      'projection',
      'change-capture',
      'read-model',
    ]);
    expect(findPattern('xa')).toBeUndefined();
    expect(NO_XA).toMatch(/^xa: not offered/);
  });

  it('needs MariaDB 10.3 or later', () => {
    expect(versionSupported(parseVersion('10.2.44'))).toBe(false);
    expect(versionSupported(parseVersion('10.11'))).toBe(true);
    expect(versionSupported(parseVersion('11.8'))).toBe(true);
  });
});
