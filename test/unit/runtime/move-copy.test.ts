// The binlog point of a `mariadb-dump --master-data=2` snapshot, read from the dump's own comment.
import { describe, expect, it } from 'vitest';
import { dumpBinlogPoint } from '../../../src/runtime/move-copy.js';

describe('dumpBinlogPoint', () => {
  it('reads the file and position of the commented CHANGE MASTER line', () => {
    const head = [
      '-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)',
      '--',
      '-- Position to start replication or point-in-time recovery from',
      '--',
      '',
      "-- CHANGE MASTER TO MASTER_LOG_FILE='shared-bin.000003', MASTER_LOG_POS=48213;",
      '',
    ].join('\n');
    expect(dumpBinlogPoint(head)).toStrictEqual({ file: 'shared-bin.000003', position: 48213 });
  });

  it('is undefined for a dump without one (log_bin off, or --master-data not given)', () => {
    expect(dumpBinlogPoint('-- MariaDB dump 10.19\n/*!40101 SET NAMES utf8mb4 */;\n')).toBeUndefined();
  });
});
