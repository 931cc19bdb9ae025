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
  it('writes extra options after the credentials, so they override the included my.cnf', () => {
    expect(
      defaultsFileText({ user: 'u', socket: '/s.sock' }, ['mariadb-backup'], '/srv/my.cnf', [
        ['innodb_flush_method', 'fsync'],
      ]),
    ).toBe('!include /srv/my.cnf\n[mariadb-backup]\nuser="u"\nsocket="/s.sock"\ninnodb_flush_method="fsync"\n');
  });
  it('picks the error line of a tool log', () => {
    expect(
      lastErrorLine('[00] copying\n[00] 2026 Error: failed to execute query BACKUP STAGE\nsomething else\n'),
    ).toMatch(/failed to execute query/);
  });
  it("prefers the line naming the system's error to a generic failure after it", () => {
    const copyBack =
      '[01] 2026-12-01 13:49:21 Copying ibdata1 to /d/./ibdata1\nmariadb-backup: Error writing file \'/d/./ibdata1\' (errno: 28 "No space left on device")\n[01] 2026-12-01 13:49:21 Error: copy_file() failed.\n';
    expect(lastErrorLine(copyBack)).toBe(
      'mariadb-backup: Error writing file \'/d/./ibdata1\' (errno: 28 "No space left on device")',
    );
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

describe('backup preflight', () => {
  it('reads data files through the page cache with 10.x tools, and leaves 11.x tools alone', async () => {
    const { backupReadOptions } = await import('../../../src/backup/take.js');
    expect(backupReadOptions('10.11.19')).toStrictEqual([['innodb_flush_method', 'fsync']]);
    expect(backupReadOptions('11.8.3')).toStrictEqual([]);
  });
  it('turns every version mismatch into one error naming the servers; unreachable servers are not mismatches', async () => {
    const { versionMismatchError } = await import('../../../src/backup/take.js');
    expect(
      versionMismatchError(
        ['orders', 'gone'],
        [{ version: '10.11.19-MariaDB' }, { reason: 'not reachable' }],
        '10.11.19',
      ),
    ).toBeUndefined();
    const one = versionMismatchError(
      ['orders', 'billing'],
      [{ version: '10.11.19' }, { version: '11.8.3' }],
      '10.11.19',
    );
    expect(one?.message).toMatch(/^mariadb-backup 10\.11\.19 cannot back up server "billing" running MariaDB 11\.8\.3/);
    expect(one?.server).toBe('billing');
    expect(one?.hint).toMatch(/nothing was copied/);
    const two = versionMismatchError(['a', 'b'], [{ version: '11.4.2' }, { version: '11.8.3' }], '10.11.19');
    expect(two?.message).toMatch(/server "a".*; .*server "b"/);
    expect(two?.server).toBeUndefined();
  });
});
