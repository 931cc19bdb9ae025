// `backups list` sizes: a failed entry's files were removed, so its recorded sizeBytes must not count.
import { describe, expect, it } from 'vitest';
import type { BackupManifest, ServerBackup } from '../../../src/backup/manifest.js';
import { summarise } from '../../../src/commands/backups.js';

const entry = (server: string, status: 'ok' | 'failed', sizeBytes: number): ServerBackup => ({
  server,
  services: [server],
  status,
  startedAt: 'x',
  endedAt: 'y',
  durationMs: 0,
  prepared: status === 'ok',
  sizeBytes,
  archivedBinlogs: [{ file: 'b.000001', path: 'p', size: 10, sha256: 's', coveredUntil: 'z' }],
});

describe('summarise', () => {
  it('counts only the bytes of ok entries', () => {
    const manifest: BackupManifest = {
      version: 1,
      id: '20260101T000000Z',
      fleet: 'f',
      status: 'partial',
      startedAt: 'x',
      endedAt: 'y',
      compress: 'none',
      servers: [entry('a', 'ok', 1000), entry('b', 'failed', 5000)],
    };
    expect(summarise({ dir: '/r/20260101T000000Z', manifest }).sizeBytes).toBe(1010);
  });
});
