import { describe, expect, it } from 'vitest';
import {
  type BackupManifest,
  parseManifest,
  renderManifest,
  type ServerBackup,
  setIdFor,
  setIdTime,
  setStatusOf,
} from '../../../src/backup/manifest.js';
import { selectPrune } from '../../../src/backup/retention.js';

const entry = (server: string, status: 'ok' | 'failed'): ServerBackup => ({
  server,
  services: [server],
  status,
  startedAt: '2026-11-25T17:00:00.000Z',
  endedAt: '2026-11-25T17:00:05.000Z',
  durationMs: 5000,
  prepared: status === 'ok',
  archivedBinlogs: [],
});

describe('manifest', () => {
  it('makes sortable UTC set ids and reads them back', () => {
    const id = setIdFor(new Date('2026-11-25T17:26:50.123Z'));
    expect(id).toBe('20261125T172650Z');
    expect(setIdTime(id)?.toISOString()).toBe('2026-11-25T17:26:50.000Z');
    expect(setIdTime(`${id}-2`)?.toISOString()).toBe('2026-11-25T17:26:50.000Z');
    expect(setIdTime('yesterday')).toBeUndefined();
  });
  it('is complete only when every server is ok', () => {
    expect(setStatusOf([entry('a', 'ok'), entry('b', 'ok')])).toBe('complete');
    expect(setStatusOf([entry('a', 'ok'), entry('b', 'failed')])).toBe('partial');
    expect(setStatusOf([])).toBe('partial');
  });
  it('round-trips and rejects malformed manifests', () => {
    const m: BackupManifest = {
      version: 1,
      id: '20261125T172650Z',
      fleet: 'shop',
      status: 'partial',
      startedAt: 'x',
      endedAt: 'y',
      compress: 'none',
      servers: [entry('a', 'ok'), entry('b', 'failed')],
    };
    expect(parseManifest(renderManifest(m))).toStrictEqual(m);
    expect(() => parseManifest(JSON.stringify({ ...m, version: 2 }))).toThrow(/version/);
    expect(() => parseManifest(JSON.stringify({ ...m, status: 'done' }))).toThrow(/status/);
    expect(() => parseManifest(JSON.stringify({ ...m, servers: [{ server: 'a', status: 'maybe' }] }))).toThrow(
      /malformed/,
    );
  });
});

describe('selectPrune', () => {
  const sets = [
    { id: '20260101T000000Z', status: 'complete' as const },
    { id: '20260102T000000Z', status: 'partial' as const },
    { id: '20260103T000000Z', status: 'complete' as const },
    { id: '20260104T000000Z', status: 'partial' as const },
    { id: '20260105T000000Z', status: 'complete' as const },
  ];
  it('keeps the N newest complete sets and the partial sets between them', () => {
    expect(selectPrune(sets, 2)).toStrictEqual({
      keep: ['20260103T000000Z', '20260104T000000Z', '20260105T000000Z'],
      remove: ['20260101T000000Z', '20260102T000000Z'],
    });
    expect(selectPrune(sets, 1)).toStrictEqual({
      keep: ['20260105T000000Z'],
      remove: sets.slice(0, 4).map((s) => s.id),
    });
  });
  it('removes nothing when there are not more complete sets than asked to keep', () => {
    expect(selectPrune(sets, 3).remove).toStrictEqual([]);
    expect(() => selectPrune(sets, 0)).toThrow(/--keep/);
  });
});
