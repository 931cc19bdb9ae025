// The pure parts of the binlog archive: reading event headers, choosing the history and the first
// file to fetch, the windows the archive gives, and what retention may drop.
import { describe, expect, it } from 'vitest';
import { type ArchiveIndex, archivePrunable, emptyIndex } from '../../../src/backup/archive.js';
import { planFetch } from '../../../src/backup/archive-pull.js';
import { BINLOG_MAGIC, scanBinlog } from '../../../src/backup/binlog-events.js';
import type { BackupManifest } from '../../../src/backup/manifest.js';
import type { BinlogCandidate } from '../../../src/backup/pitr.js';
import { coverageEnd, restoreWindows } from '../../../src/backup/windows.js';

/** One event: header (time, type, server id, length, next pos, flags) and a body of `body` bytes. */
function event(time: number, type: number, body = 8, serverId = 7): Buffer {
  const b = Buffer.alloc(19 + body);
  b.writeUInt32LE(time, 0);
  b[4] = type;
  b.writeUInt32LE(serverId, 5);
  b.writeUInt32LE(19 + body, 9);
  return b;
}

const FD = 15;
const QUERY = 2;
const ROTATE = 4;

describe('scanBinlog', () => {
  it('finds the end of the last whole event, the times, the identity and whether the file closed', () => {
    const file = Buffer.concat([
      BINLOG_MAGIC,
      event(100, FD),
      event(101, QUERY),
      event(105, QUERY),
      event(106, ROTATE),
    ]);
    const scan = scanBinlog(file);
    expect(scan).toMatchObject({
      wholeBytes: file.length,
      events: 4,
      closed: true,
      firstEventTime: 100,
      lastEventTime: 106,
      identity: '100-7',
    });
  });

  it('stops before a torn event and says the file is still open', () => {
    const whole = Buffer.concat([BINLOG_MAGIC, event(100, FD), event(101, QUERY)]);
    const torn = Buffer.concat([whole, event(102, QUERY, 40).subarray(0, 30)]);
    const scan = scanBinlog(torn);
    expect(scan.wholeBytes).toBe(whole.length);
    expect(scan.closed).toBe(false);
    expect(scan.events).toBe(2);
  });

  it('continues a scan from an event boundary, and rejects what is not a binlog', () => {
    const head = Buffer.concat([BINLOG_MAGIC, event(100, FD)]);
    const first = scanBinlog(head);
    const rest = scanBinlog(Buffer.concat([event(103, QUERY), event(104, ROTATE)]), first);
    expect(rest).toMatchObject({ events: 3, closed: true, lastEventTime: 104, identity: '100-7' });
    expect(scanBinlog(Buffer.from('not a binlog at all')).wholeBytes).toBe(0);
  });
});

function indexWith(files: { file: string; size: number; complete: boolean }[], history = 'h1'): ArchiveIndex {
  const index = emptyIndex('ext0');
  index.current = history;
  index.histories.push({
    id: history,
    files: files.map((f) => ({
      ...f,
      path: `${history}/${f.file}`,
      coveredUntil: '2026-12-01T10:00:00.000Z',
      archivedAt: '2026-12-01T10:00:00.000Z',
    })),
  });
  return index;
}

const at = new Date('2026-12-01T12:00:00Z');

describe('planFetch', () => {
  it('starts at the first file not archived whole, in the same history', () => {
    const index = indexWith([
      { file: 'b.000001', size: 100, complete: true },
      { file: 'b.000002', size: 50, complete: false },
    ]);
    const plan = planFetch(
      { server: 'ext0', credentials: { user: 'u' } },
      index,
      [
        { name: 'b.000001', size: 100 },
        { name: 'b.000002', size: 80 },
      ],
      at,
    );
    expect(plan.history.id).toBe('h1');
    expect(plan.start).toBe('b.000002');
    expect(plan.gap).toBeUndefined();
  });

  it('begins a new history for an external server whose file of a known name has another size', () => {
    const index = indexWith([{ file: 'b.000001', size: 100, complete: true }]);
    const plan = planFetch({ server: 'ext0', credentials: { user: 'u' } }, index, [{ name: 'b.000001', size: 90 }], at);
    expect(plan.history.id).not.toBe('h1');
    expect(plan.start).toBe('b.000001');
  });

  it('refuses a local server whose recorded history forked, and reports purged files as a gap', () => {
    const index = indexWith([{ file: 'b.000001', size: 100, complete: true }]);
    expect(() =>
      planFetch(
        { server: 'orders', credentials: { user: 'u' }, history: 'h1' },
        index,
        [{ name: 'b.000001', size: 90 }],
        at,
      ),
    ).toThrow(/forked/);
    const gap = planFetch(
      { server: 'orders', credentials: { user: 'u' }, history: 'h1' },
      index,
      [{ name: 'b.000004', size: 10 }],
      at,
    );
    expect(gap.gap).toMatchObject({ after: 'b.000001', before: 'b.000004' });
    expect(gap.start).toBe('b.000004');
  });

  it('refuses a server without binlogs with a hint', () => {
    expect(() => planFetch({ server: 'ext0', credentials: { user: 'u' } }, emptyIndex('ext0'), [], at)).toThrow(
      /no binary log/,
    );
  });
});

const cand = (file: string, until: string, history = 'h1'): BinlogCandidate => ({
  file,
  path: `/a/${file}`,
  source: 'binlog archive',
  coveredUntil: new Date(until),
  history,
});

describe('restore windows', () => {
  const candidates = [
    cand('b.000001', '2026-12-01T10:10:00Z'),
    cand('b.000002', '2026-12-01T10:20:00Z'),
    cand('b.000004', '2026-12-01T10:40:00Z'),
    cand('b.000002', '2026-12-01T11:00:00Z', 'other'),
  ];

  it('reaches as far as the files run without a gap, in the one history', () => {
    expect(coverageEnd('b.000001', candidates, 'h1')?.toISOString()).toBe('2026-12-01T10:20:00.000Z');
    expect(coverageEnd('b.000004', candidates, 'h1')?.toISOString()).toBe('2026-12-01T10:40:00.000Z');
    expect(coverageEnd('b.000003', candidates, 'h1')).toBeUndefined();
  });

  it('merges overlapping spans of sets into one window and keeps a gap as two', () => {
    const set = (id: string, file: string, point: string): BackupManifest =>
      ({
        id,
        servers: [
          {
            server: 'ext0',
            services: [],
            status: 'ok',
            history: 'h1',
            binlog: { file, position: 4 },
            endedAt: point,
            copyEndedAt: point,
            archivedBinlogs: [],
          },
        ],
      }) as unknown as BackupManifest;
    const windows = restoreWindows(
      [
        set('20261201T100000Z', 'b.000001', '2026-12-01T10:00:00Z'),
        set('20261201T100500Z', 'b.000001', '2026-12-01T10:05:00Z'),
        set('20261201T103000Z', 'b.000004', '2026-12-01T10:30:00Z'),
      ],
      () => candidates,
    );
    expect(windows.map((w) => [w.from, w.until, w.sets.length])).toEqual([
      ['2026-12-01T10:00:00.000Z', '2026-12-01T10:20:00.000Z', 2],
      ['2026-12-01T10:30:00.000Z', '2026-12-01T10:40:00.000Z', 1],
    ]);
  });
});

describe('archive retention', () => {
  it('drops files before the oldest kept set, and histories no kept set needs, never the current one', () => {
    const index = indexWith([
      { file: 'b.000001', size: 1, complete: true },
      { file: 'b.000002', size: 1, complete: true },
      { file: 'b.000003', size: 1, complete: false },
    ]);
    index.histories.push({ id: 'old', files: [{ ...index.histories[0]!.files[0]!, path: 'old/b.000001' }] });
    const drop = archivePrunable(index, [{ history: 'h1', file: 'b.000002' }]);
    const h1 = index.histories[0]!;
    expect(h1.files.map((f) => drop(h1, f))).toEqual([true, false, false]);
    expect(drop(index.histories[1]!, index.histories[1]!.files[0]!)).toBe(true);
    const none = archivePrunable(index, []);
    expect(h1.files.every((f) => !none(h1, f))).toBe(true);
  });
});
