import { describe, expect, it } from 'vitest';
import { defaultsFileText, lastErrorLine, optionValue } from '../../../src/backup/proc.js';
import { parseToTime } from '../../../src/commands/restore.js';

describe('defaults file text', () => {
  it('quotes values so quotes and backslashes in passwords survive', () => {
    expect(optionValue('p"w\\x')).toBe('"p\\"w\\\\x"');
    expect(
      defaultsFileText({ user: 'dbps_backup', password: 'a"b', socket: '/s.sock' }, ['mariadb-backup'], '/srv/my.cnf'),
    ).toBe('!include /srv/my.cnf\n[mariadb-backup]\nuser="dbps_backup"\npassword="a\\"b"\nsocket="/s.sock"\n');
  });
  it('picks the error line of a tool log', () => {
    expect(
      lastErrorLine('[00] copying\n[00] 2026 Error: failed to execute query BACKUP STAGE\nsomething else\n'),
    ).toMatch(/failed to execute query/);
  });
});

describe('parseToTime', () => {
  it('needs a zone', () => {
    expect(parseToTime('2026-11-25T18:30:05+01:00')?.toISOString()).toBe('2026-11-25T17:30:05.000Z');
    expect(() => parseToTime('2026-11-25T18:30:05')).toThrow(/no time zone/);
    expect(() => parseToTime('soonZ')).toThrow(/not an ISO 8601/);
  });
});

describe('toolMismatch', () => {
  it('accepts only the server its own version', async () => {
    const { toolMismatch } = await import('../../../src/backup/take.js');
    expect(toolMismatch('orders', '10.11.19-MariaDB-0+deb12u1', '10.11.19')).toBeUndefined();
    expect(toolMismatch('orders', '10.11.20-MariaDB', '10.11.19')).toMatch(
      /mariadb-backup 10\.11\.19 cannot back up server "orders" running MariaDB 10\.11\.20; install mariadb-backup 10\.11\.20/,
    );
    expect(toolMismatch('orders', '11.8.3-MariaDB', '10.11.19')).toMatch(/11\.8\.3/);
  });
});
