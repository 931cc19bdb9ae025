// readBinlogInfo: which of the two binlog-info file names mariadb-backup wrote, read from a backup
// directory (temp dirs written here; no server).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBinlogInfo } from '../../../src/backup/take.js';

let root: string;
let n = 0;
async function backupDir(files: Record<string, string>): Promise<string> {
  const dir = path.join(root, `b${++n}`);
  await mkdir(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'dbps-binlog-info-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readBinlogInfo', () => {
  it('reads xtrabackup_binlog_info (10.11, 11.0)', async () => {
    const dir = await backupDir({ xtrabackup_binlog_info: 'orders-bin.000003\t1170\t5-5-42\n', 'backup-my.cnf': '' });
    expect(await readBinlogInfo(dir)).toStrictEqual({
      file: 'xtrabackup_binlog_info',
      position: { file: 'orders-bin.000003', position: 1170, gtid: '5-5-42' },
    });
  });
  it('reads mariadb_backup_binlog_info (11.1+) with a comma list of GTIDs', async () => {
    const dir = await backupDir({ mariadb_backup_binlog_info: 'shared-bin.000012\t329\t0-1-7,3-3-19,4-4-2\n' });
    expect(await readBinlogInfo(dir)).toStrictEqual({
      file: 'mariadb_backup_binlog_info',
      position: { file: 'shared-bin.000012', position: 329, gtid: '0-1-7,3-3-19,4-4-2' },
    });
  });
  it('reads a line without the GTID column (no GTID written yet)', async () => {
    const dir = await backupDir({ xtrabackup_binlog_info: 'orders-bin.000001\t328\n' });
    expect(await readBinlogInfo(dir)).toStrictEqual({
      file: 'xtrabackup_binlog_info',
      position: { file: 'orders-bin.000001', position: 328 },
    });
  });
  it('prefers the 11.1+ name when both files are present', async () => {
    const dir = await backupDir({
      xtrabackup_binlog_info: 'old-bin.000001\t4\t1-1-1\n',
      mariadb_backup_binlog_info: 'new-bin.000002\t8\t1-1-2\n',
    });
    expect(await readBinlogInfo(dir)).toStrictEqual({
      file: 'mariadb_backup_binlog_info',
      position: { file: 'new-bin.000002', position: 8, gtid: '1-1-2' },
    });
  });
  it('means log_bin off when neither file exists (or it is empty)', async () => {
    expect(
      await readBinlogInfo(await backupDir({ xtrabackup_checkpoints: 'backup_type = full-backuped\n' })),
    ).toStrictEqual({ position: null });
    expect(await readBinlogInfo(await backupDir({ xtrabackup_binlog_info: '' }))).toStrictEqual({
      file: 'xtrabackup_binlog_info',
      position: null,
    });
  });
  it('throws on a file it cannot read or parse instead of calling it "no binlog"', async () => {
    const dir = await backupDir({});
    await mkdir(path.join(dir, 'xtrabackup_binlog_info'));
    await expect(readBinlogInfo(dir)).rejects.toThrow(/EISDIR/);
    await expect(readBinlogInfo(await backupDir({ xtrabackup_binlog_info: 'garbage\n' }))).rejects.toThrow(
      /not a binlog-info line/,
    );
  });
});
