// `status` text fits the terminal (100 columns when stdout is not a TTY) at any fleet size; --wide
// (and --json) keep every column in full.
import { describe, expect, it } from 'vitest';
import type { StatusResult } from '../../../src/commands/status.js';
import { noPaint } from '../../../src/ui/paint.js';
import { fitColumns, statusText } from '../../../src/ui/render/fleet-runtime.js';

const longName = (i: number) => `svc_${String(i).padStart(4, '0')}_`.padEnd(60, 'x');

function result(): StatusResult {
  const shared = Array.from({ length: 2000 }, (_, i) => longName(i));
  const servers: StatusResult['servers'] = [
    {
      server: 'shared',
      driver: 'local',
      services: shared,
      host: '127.0.0.1',
      port: 33061,
      pid: 12345,
      state: 'running',
      shouldRun: true,
      version: '10.11.19-MariaDB-0+deb12u1',
      uptimeSeconds: 4000,
      threadsConnected: 3,
      socket: '/very/long/state/dir/of/a/project/that/lives/deep/in/a/home/directory/.dbps/run/shared.sock',
      health: shared.slice(0, 50).map((service) => ({
        service,
        database: service,
        databaseExists: true,
        activeQueries: 0,
        threadsConnected: 3,
        bufferPoolReads: 123456,
      })),
    },
    {
      server: longName(9999),
      driver: 'local',
      services: [longName(9999)],
      host: '127.0.0.1',
      state: 'stopped',
      shouldRun: true,
      health: [],
      detail: 'stopped by dbps down',
    },
  ] as StatusResult['servers'];
  return { command: 'status', fleet: 'big', servers, down: [longName(9999)], outcome: 'failed' };
}

const widest = (text: string) => Math.max(...text.split('\n').map((l) => l.length));

describe('status text width', () => {
  it('fits 100 columns by default, naming a big server by its service count', () => {
    const text = statusText(result(), noPaint);
    const tableLines = text.split('\n').filter((l) => !l.includes('should be running'));
    expect(widest(tableLines.join('\n'))).toBeLessThanOrEqual(100);
    expect(text).toContain('2000 services');
    expect(text).not.toContain('SOCKET');
    // The summary line names a few servers at most, and still says what to run.
    expect(text).toMatch(/should be running but is not: .*; run `dbps up`/);
  });

  it('fits a narrower terminal too', () => {
    const text = statusText(result(), noPaint, { width: 80 });
    const lines = text
      .split('\n')
      .filter((l) => l.startsWith('SERVER') || l.startsWith('shared') || l.startsWith('svc_'));
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('--wide keeps every column and every name in full', () => {
    const text = statusText(result(), noPaint, { wide: true });
    expect(text).toContain('SOCKET');
    expect(text).toContain(longName(1999));
    expect(text).toContain('/.dbps/run/shared.sock');
  });

  it('clips only the shrinkable columns, with an ellipsis', () => {
    const rows = fitColumns(
      [
        ['A', 'B'],
        ['x'.repeat(50), 'running'],
      ],
      30,
      [0],
    );
    expect(rows[1]![0]!.length + 2 + rows[1]![1]!.length).toBeLessThanOrEqual(30);
    expect(rows[1]![0]!.endsWith('…')).toBe(true);
    expect(rows[1]![1]).toBe('running');
  });
});
