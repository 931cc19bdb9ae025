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
  const ALL = ['orders', 'customers', 'inventory'];
  type S = { id: string; status: 'complete' | 'partial'; servers: ServerBackup[] };
  const set = (day: number, servers: string[], opts: { failed?: string[]; verifyFailed?: string[] } = {}): S => {
    const entries = servers.map((s) => {
      const e = entry(s, opts.failed?.includes(s) ? 'failed' : 'ok');
      if (opts.verifyFailed?.includes(s)) e.verify = { at: 'x', ok: false, badFiles: ['a.ibd'], tables: [] };
      return e;
    });
    return { id: `202601${String(day).padStart(2, '0')}T000000Z`, status: setStatusOf(entries), servers: entries };
  };
  const ids = (sets: S[]) => sets.map((s) => s.id);

  it('keeps a full set when a newer single-service set exists (the other servers have no other backup)', () => {
    const full = set(1, ALL);
    const ordersOnly = set(2, ['orders']);
    expect(selectPrune([full, ordersOnly], 1)).toStrictEqual({
      keep: ids([full, ordersOnly]),
      remove: [],
      protects: { [full.id]: ['customers', 'inventory'], [ordersOnly.id]: ['orders'] },
    });
  });
  it("keeps each server's N newest good backups and every set after the oldest of them", () => {
    const sets = [set(1, ALL), set(2, ALL), set(3, ['orders']), set(4, ALL, { failed: ['customers'] }), set(5, ALL)];
    expect(selectPrune(sets, 1)).toMatchObject({ keep: ids(sets.slice(4)), remove: ids(sets.slice(0, 4)) });
    // Two per server: orders' are days 5 and 3, the others' days 5 and 2.
    expect(selectPrune(sets, 2)).toMatchObject({ keep: ids(sets.slice(1)), remove: ids(sets.slice(0, 1)) });
  });
  it('never counts a set that failed verify or is partial as good', () => {
    const good = set(1, ALL);
    const verifyFailed = set(2, ALL, { verifyFailed: ['inventory'] });
    const partial = set(3, ALL, { failed: ['customers'] });
    const r = selectPrune([good, verifyFailed, partial], 1);
    expect(r.remove).toStrictEqual([]);
    expect(r.protects[good.id]).toStrictEqual(['customers', 'inventory', 'orders']);
    expect(r.protects[verifyFailed.id]).toBeUndefined();
    // Once a newer good set exists, the verify-failed and partial sets before it go.
    const newer = set(4, ALL);
    expect(selectPrune([good, verifyFailed, partial, newer], 1)).toMatchObject({
      keep: [newer.id],
      remove: ids([good, verifyFailed, partial]),
    });
  });
  it('keeps every restorable backup of a server with fewer than N good ones, but not a verify-failed one', () => {
    const old = set(1, ['sessions'], { verifyFailed: ['sessions'] });
    const partialOk = set(2, ['orders', 'sessions'], { failed: ['orders'] });
    const full = set(3, ['orders']);
    const r = selectPrune([old, partialOk, full], 1);
    expect(r).toMatchObject({ keep: ids([partialOk, full]), remove: [old.id] });
    expect(r.protects[partialOk.id]).toStrictEqual(['sessions']);
  });
  it('removes nothing when nothing is restorable, and refuses a bad --keep', () => {
    const failed = set(1, ['orders'], { failed: ['orders'] });
    expect(selectPrune([failed], 1)).toStrictEqual({ keep: [failed.id], remove: [], protects: {} });
    expect(() => selectPrune([failed], 0)).toThrow(/--keep/);
  });
});
