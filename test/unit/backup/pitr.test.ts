import { describe, expect, it } from 'vitest';
import { type BinlogCandidate, planReplay, stopDatetimeUtc } from '../../../src/backup/pitr.js';

const at = (s: string) => new Date(`2026-11-25T${s}Z`);
const file = (n: number, until: string, source = 'set A'): BinlogCandidate => ({
  file: `orders-bin.${String(n).padStart(6, '0')}`,
  path: `/b/orders-bin.${String(n).padStart(6, '0')}`,
  source,
  coveredUntil: at(until),
});
const pos = { file: 'orders-bin.000002', position: 1234, gtid: '3-3-40' };

describe('planReplay', () => {
  it('chains from the backup file to the first file that covers the target time', () => {
    const r = planReplay(
      'orders',
      pos,
      at('10:00:00'),
      [file(1, '09:00:00'), file(2, '10:00:05'), file(3, '10:30:00'), file(4, '11:00:00', 'datadir')],
      at('10:20:00.700'),
    );
    expect(r).toStrictEqual({
      ok: true,
      plan: {
        server: 'orders',
        startFile: 'orders-bin.000002',
        startPosition: 1234,
        files: [file(2, '10:00:05'), file(3, '10:30:00')],
        stopDatetimeUtc: '2026-11-25 10:20:00',
      },
    });
  });
  it('prefers the first candidate of a name (the chosen set before later copies)', () => {
    const r = planReplay(
      'orders',
      pos,
      at('10:00:00'),
      [file(2, '10:40:00', 'set A'), file(2, '11:00:00', 'datadir')],
      at('10:30:00'),
    );
    expect(r.ok && r.plan.files.map((f) => f.source)).toStrictEqual(['set A']);
  });
  it('refuses a gap in the chain, naming the missing file', () => {
    const r = planReplay(
      'orders',
      pos,
      at('10:00:00'),
      [file(2, '10:05:00'), file(4, '12:00:00', 'datadir')],
      at('11:00:00'),
    );
    expect(r).toStrictEqual({ ok: false, reason: expect.stringMatching(/orders-bin\.000003 or later is missing/) });
  });
  it('refuses when the backup file itself is missing, a time before the backup, or no binlog', () => {
    expect(planReplay('orders', pos, at('10:00:00'), [file(3, '11:00:00')], at('10:30:00'))).toStrictEqual({
      ok: false,
      reason: expect.stringMatching(/orders-bin\.000002.*in no backup set/),
    });
    expect(planReplay('orders', pos, at('10:00:00'), [file(2, '11:00:00')], at('09:59:00'))).toStrictEqual({
      ok: false,
      reason: expect.stringMatching(/before this backup's consistent point/),
    });
    expect(planReplay('orders', null, at('10:00:00'), [], at('10:30:00'))).toStrictEqual({
      ok: false,
      reason: expect.stringMatching(/log_bin off/),
    });
  });
  it('refuses a time after what the binlogs cover (the future included)', () => {
    const r = planReplay(
      'orders',
      pos,
      at('10:00:00'),
      [file(2, '10:05:00'), file(3, '10:06:00', 'datadir')],
      at('10:10:00'),
    );
    expect(r.ok).toBe(false);
  });
  it("chains only files of the backup's own binlog history (names restart after a restore)", () => {
    const h = (f: BinlogCandidate, history: string): BinlogCandidate => ({ ...f, history });
    // The backup (history H1) sits in .000002; a restore began H2, whose .000003 a later set archived.
    const candidates = [h(file(2, '10:05:00'), 'H1'), h(file(3, '11:00:00', 'set C'), 'H2')];
    const refused = planReplay('orders', pos, at('10:00:00'), candidates, at('10:30:00'), 'H1');
    expect(refused).toStrictEqual({
      ok: false,
      reason: expect.stringMatching(
        /^server "orders": .*orders-bin\.000003 or later is missing \(orders-bin\.000003 in set C belongs to another binlog history, H2.*this backup's history is H1/,
      ),
    });
    // The same files of one history chain as before.
    const same = planReplay(
      'orders',
      pos,
      at('10:00:00'),
      [candidates[0]!, h(file(3, '11:00:00'), 'H1')],
      at('10:30:00'),
      'H1',
    );
    expect(same.ok && same.plan.files.map((f) => f.file)).toStrictEqual(['orders-bin.000002', 'orders-bin.000003']);
    // A file of the wanted name from another history is skipped in favour of one of the right history.
    const preferred = planReplay(
      'orders',
      pos,
      at('10:00:00'),
      [h(file(2, '10:40:00', 'set B'), 'H0'), h(file(2, '10:45:00', 'set A'), 'H1')],
      at('10:30:00'),
      'H1',
    );
    expect(preferred.ok && preferred.plan.files.map((f) => f.source)).toStrictEqual(['set A']);
    // Untagged files (older sets) never chain onto a tagged backup, nor tagged ones onto an untagged backup.
    expect(planReplay('orders', pos, at('10:00:00'), [file(2, '11:00:00')], at('10:30:00'), 'H1')).toStrictEqual({
      ok: false,
      reason: expect.stringMatching(/orders-bin\.000002.*in no backup set.*another binlog history, untagged/),
    });
    expect(planReplay('orders', pos, at('10:00:00'), [h(file(2, '11:00:00'), 'H1')], at('10:30:00')).ok).toBe(false);
  });
  it('rounds the stop time down to the second, in UTC', () => {
    expect(stopDatetimeUtc(new Date('2026-11-25T18:30:05.999+01:00'))).toBe('2026-11-25 17:30:05');
  });
  it('takes every later live file of a datadir: they share one cover time, so the first one is not known to reach the target', () => {
    const live = (n: number) => ({ ...file(n, '11:00:00', 'datadir'), live: true });
    const r = planReplay(
      'orders',
      pos,
      at('10:00:00'),
      [file(2, '10:05:00'), live(3), live(4), live(5)],
      at('10:30:00'),
    );
    expect(r.ok && r.plan.files.map((f) => f.file)).toStrictEqual([
      'orders-bin.000002',
      'orders-bin.000003',
      'orders-bin.000004',
      'orders-bin.000005',
    ]);
  });
});
