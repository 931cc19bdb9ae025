// The text of mariadb-dump output (fixtures from 10.11 and 11.8, --databases mode, as dbps takes them):
// the position the dump recorded, and the split into what loads into scratch databases and what is
// created under the real names after the swap.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DumpRouter, databaseSwitch, parseDumpPosition } from '../../../src/backup/dump-text.js';

const dump = (name: string) => readFileSync(new URL(`../../../fixtures/dumps/${name}`, import.meta.url), 'utf8');

function split(text: string) {
  const r = new DumpRouter();
  const parts: Record<string, Record<string, string[]>> = {};
  for (const line of text.split('\n')) {
    const part = r.route(line);
    const db = r.database ?? '(header)';
    const byPart = parts[db] ?? {};
    parts[db] = byPart;
    const lines = byPart[part] ?? [];
    byPart[part] = lines;
    lines.push(line);
  }
  return { parts, completed: r.completed };
}

describe('parseDumpPosition', () => {
  it('reads the CHANGE MASTER header and the gtid_slave_pos trailer', () => {
    const text = dump('10.11-two-databases.sql');
    expect(parseDumpPosition(text.slice(0, 4000), text.slice(-4000))).toEqual({
      file: 'bin.000001',
      pos: 2963,
      gtid: '0-1-16',
    });
    expect(parseDumpPosition('-- MariaDB dump\n', '')).toBeNull();
  });
});

describe('DumpRouter', () => {
  for (const name of ['10.11-two-databases.sql', '11.8-one-database.sql']) {
    it(`${name}: tables and rows go to the scratch load, triggers/views/routines/events after the swap`, () => {
      const { parts, completed } = split(dump(name));
      expect(completed).toBe(true);
      const a = parts.a!;
      const tables = a.tables!.join('\n');
      const objects = a.objects!.join('\n');
      expect(tables).toContain('CREATE TABLE `t`');
      expect(tables).toContain('INSERT INTO `t` VALUES');
      // Nothing that names the database, or defines an object, reaches the scratch database.
      for (const word of ['TRIGGER', 'VIEW', 'PROCEDURE', 'EVENT', 'USE ', 'CREATE DATABASE'])
        expect(tables).not.toContain(word);
      expect(objects).toMatch(/TRIGGER a\.tr BEFORE INSERT ON a\.t/);
      expect(objects).toContain('CREATE DEFINER=`a_mig`@`localhost` PROCEDURE `p`()');
      expect(objects).toMatch(/EVENT `e` ON SCHEDULE/);
      expect(objects).toMatch(/VIEW `v` AS select/);
      expect(objects).not.toContain('INSERT INTO');
      // The header's session settings go to both.
      expect(parts['(header)']!.both!.join('\n')).toContain('FOREIGN_KEY_CHECKS=0');
    });
  }

  it('keeps each database of a multi-database dump apart', () => {
    const { parts } = split(dump('10.11-two-databases.sql'));
    expect(parts.b!.tables!.join('\n')).toContain('INSERT INTO `s` VALUES');
    expect(parts.a!.tables!.join('\n')).not.toContain('`s`');
  });

  it('a dump cut short has no Dump completed line', () => {
    const text = dump('11.8-one-database.sql');
    expect(split(text.slice(0, text.length >> 1)).completed).toBe(false);
  });

  it('reads quoted database names of USE and Current Database lines', () => {
    expect(databaseSwitch('USE `we``ird`;')).toBe('we`ird');
    expect(databaseSwitch('-- Current Database: `a`')).toBe('a');
    expect(databaseSwitch('USE a;')).toBeUndefined();
  });
});
