// `backups prune --retention`: a set goes only when every point-in-time window it anchors is older than the retention.
import { describe, expect, it } from 'vitest';
import { setIdTime } from '../../../src/backup/manifest.js';
import { type PrunableSet, selectRetention } from '../../../src/backup/retention.js';

const set = (id: string, servers: [string, 'ok' | 'failed'][]): PrunableSet => ({
  id,
  status: servers.every(([, s]) => s === 'ok') ? 'complete' : 'partial',
  servers: servers.map(([server, status]) => ({ server, status })),
});
const DAY = 86_400_000;
const now = new Date('2026-12-10T00:00:00Z');

describe('selectRetention', () => {
  it('keeps the newest set older than the cutoff: its window reaches into the retention', () => {
    const sets = [
      set('20261201T000000Z', [['a', 'ok']]),
      set('20261202T000000Z', [['a', 'ok']]),
      set('20261205T000000Z', [['a', 'ok']]),
      set('20261209T000000Z', [['a', 'ok']]),
    ];
    // Cutoff 2026-12-03: the 12-02 set's window runs to 12-05, inside the retention; 12-01's ended on 12-02.
    expect(selectRetention(sets, () => 7 * DAY, now, setIdTime)).toEqual({
      keep: ['20261202T000000Z', '20261205T000000Z', '20261209T000000Z'],
      remove: ['20261201T000000Z'],
    });
  });

  it('a set goes only when the windows of every server in it are old; a failed backup anchors nothing', () => {
    const sets = [
      set('20261201T000000Z', [
        ['a', 'ok'],
        ['b', 'ok'],
      ]),
      // b failed here: b's next backup is in the 12-08 set, so the 12-01 set still anchors b until then.
      set('20261202T000000Z', [
        ['a', 'ok'],
        ['b', 'failed'],
      ]),
      set('20261208T000000Z', [
        ['a', 'ok'],
        ['b', 'ok'],
      ]),
    ];
    expect(selectRetention(sets, () => 7 * DAY, now, setIdTime).remove).toEqual([]);
    expect(selectRetention(sets, () => DAY, now, setIdTime).remove).toEqual(['20261201T000000Z', '20261202T000000Z']);
  });

  it('a server without retention keeps every set holding it; the newest set of a server always stays', () => {
    const sets = [set('20261101T000000Z', [['a', 'ok']]), set('20261102T000000Z', [['b', 'ok']])];
    expect(selectRetention(sets, (s) => (s === 'a' ? undefined : DAY), now, setIdTime).remove).toEqual([]);
    expect(selectRetention(sets, () => DAY, now, setIdTime).remove).toEqual([]);
  });
});
