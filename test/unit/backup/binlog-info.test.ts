import { describe, expect, it } from 'vitest';
import { binlogInfoFileName, gtidByDomain, parseBinlogInfo, splitBinlogName } from '../../../src/backup/binlog-info.js';
import { parseVersion } from '../../../src/util/version.js';

describe('parseBinlogInfo', () => {
  it('reads file, position and one GTID', () => {
    expect(parseBinlogInfo('orders-bin.000001\t1170\t5-5-5\n')).toStrictEqual({
      file: 'orders-bin.000001',
      position: 1170,
      gtid: '5-5-5',
    });
  });
  it('reads a comma list of GTIDs, also wrapped over lines', () => {
    expect(parseBinlogInfo('a-bin.000003\t42\t0-1-9,5-5-17\n')).toStrictEqual({
      file: 'a-bin.000003',
      position: 42,
      gtid: '0-1-9,5-5-17',
    });
    expect(parseBinlogInfo('a-bin.000003\t42\t0-1-9,\n5-5-17\n')).toStrictEqual({
      file: 'a-bin.000003',
      position: 42,
      gtid: '0-1-9,5-5-17',
    });
  });
  it('accepts a missing or empty GTID column', () => {
    expect(parseBinlogInfo('a-bin.000001\t329\n')).toStrictEqual({ file: 'a-bin.000001', position: 329 });
    expect(parseBinlogInfo('a-bin.000001\t329\t\n')).toStrictEqual({ file: 'a-bin.000001', position: 329 });
  });
  it('returns undefined for an empty file and throws on garbage', () => {
    expect(parseBinlogInfo('  \n')).toBeUndefined();
    expect(() => parseBinlogInfo('hello world')).toThrow(/not a binlog-info line/);
    expect(() => parseBinlogInfo('a-bin.000001\t12\tnot-a-gtid')).toThrow(/not a GTID/);
  });
});

describe('binlog names and versions', () => {
  it('names the file by version (11.1 renamed it)', () => {
    expect(binlogInfoFileName(parseVersion('10.11.19'))).toBe('xtrabackup_binlog_info');
    expect(binlogInfoFileName(parseVersion('11.0.6'))).toBe('xtrabackup_binlog_info');
    expect(binlogInfoFileName(parseVersion('11.1.0'))).toBe('mariadb_backup_binlog_info');
    expect(binlogInfoFileName(parseVersion('11.8'))).toBe('mariadb_backup_binlog_info');
  });
  it('splits binlog names and GTID lists', () => {
    expect(splitBinlogName('orders-bin.000012')).toStrictEqual({ base: 'orders-bin', index: 12 });
    expect(splitBinlogName('orders-bin.index')).toBeUndefined();
    expect([...gtidByDomain('1-1-5,2-7-9')]).toStrictEqual([
      [1, { serverId: 1, seq: 5 }],
      [2, { serverId: 7, seq: 9 }],
    ]);
  });
});
