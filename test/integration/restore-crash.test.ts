// Restore is all or nothing on a real server: a failure after the datadir moved puts it back by itself;
// a dbps killed (SIGKILL, through the test-only DBPS_TEST_KILL_AT hook) during copy-back, before the
// start or during a point-in-time replay leaves a record that makes `up` and `status` refuse the server
// until `dbps restore --resume` or `--rollback`, and each of those ends with every committed row present.
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort, serverSql } from '../helpers/local-fleet.js';

let fleet: LocalFleet;

function sql<T = Record<string, unknown>>(q: string): Promise<T[]> {
  return serverSql<T>(fleet, 'orders', q);
}

async function rowCount(): Promise<number> {
  return (await sql<{ n: number }>('SELECT COUNT(*) AS n FROM orders.items'))[0]!.n;
}

async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
}

interface StateEntry {
  restore?: { phase: string; set: string; movedAside: string; history: string; previousHistory?: string };
  history?: string;
  datadir: string;
}
const entry = () => fleet.state().servers.orders as unknown as StateEntry;

let setId: string;
/** Rows committed after the backup: only a point-in-time restore (or a rollback) brings them back. */
let allRowsAt: Date;

beforeAll(async () => {
  fleet = await createFleet(`version: 1
fleet: rc
defaults: { basePort: ${randomBasePort()} }
services:
  orders: { memory: 256M }
`);
  expect((await fleet.run(['up'])).code).toBe(0);
  expect((await fleet.run(['provision'])).code).toBe(0);
  await sql('CREATE TABLE orders.items (id INT PRIMARY KEY, v VARCHAR(20))');
  await sql("INSERT INTO orders.items SELECT seq, 'before' FROM orders.seq_1_to_100");
  const b = await fleet.run(['--json', 'backup']);
  expect(b.code, b.stderr).toBe(0);
  setId = (JSON.parse(b.stdout) as { id: string }).id;
  await sql("INSERT INTO orders.items SELECT seq, 'after' FROM orders.seq_101_to_150");
  await nextSecond();
  allRowsAt = new Date();
  await nextSecond();
}, 240_000);

afterAll(async () => {
  await destroyAllFleets();
});

describe('restore survives failures and kills', () => {
  it('a set that failed verify needs --force; a restore that fails after the datadir moved puts it back by itself', async () => {
    // A damaged system tablespace in the set (checksums skipped): the restored server cannot start.
    const backupDir = path.join(fleet.stateDir, 'backups', setId);
    const manifest = JSON.parse(readFileSync(path.join(backupDir, 'manifest.json'), 'utf8')) as {
      servers: { path: string }[];
    };
    const ibdata = path.join(backupDir, manifest.servers[0]!.path, 'ibdata1');
    const good = readFileSync(ibdata);
    await writeFile(ibdata, Buffer.alloc(good.length, 0x5a));
    try {
      // `backups verify` finds the damage and records it; skipping the checksums alone is then not enough.
      expect((await fleet.run(['backups', 'verify', setId])).code).toBe(3);
      const refused = await fleet.run(['restore', setId, '--yes', '--no-verify-checksums']);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain('--force');
      expect(refused.stderr).toContain('nothing was stopped');
      expect(entry().restore).toBeUndefined();
      const r = await fleet.run(['restore', setId, '--yes', '--no-verify-checksums', '--force']);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('rolled back');
    } finally {
      await writeFile(ibdata, good);
    }
    expect(entry().restore).toBeUndefined();
    expect(await rowCount()).toBe(150);
    const st = await fleet.run(['status']);
    expect(st.code, st.stdout + st.stderr).toBe(0);
  });

  it('killed during copy-back: up and status refuse the server; --rollback brings every row back', async () => {
    const historyBefore = entry().history;
    const r = await fleet.run(['restore', setId, '--yes'], { DBPS_TEST_KILL_AT: 'restore:copy-back' });
    expect(r.code).not.toBe(0);
    expect(entry().restore).toMatchObject({ phase: 'copy-back', set: setId });
    // The new history is recorded before the move, so nothing can append to the old one under its name.
    expect(entry().history).not.toBe(historyBefore);
    const st = await fleet.run(['status']);
    expect(st.code).toBe(3);
    expect(st.stdout + st.stderr).toContain('dbps restore --resume');
    const up = await fleet.run(['up']);
    expect(up.code).toBe(3);
    expect(up.stdout + up.stderr).toContain('dbps restore --rollback');
    // Nor do provision and backup work on the half-restored server.
    for (const args of [['provision'], ['backup']]) {
      const refused = await fleet.run(args);
      expect(refused.code, args[0]).toBe(3);
      expect(refused.stdout + refused.stderr).toContain('dbps restore --resume');
    }
    // Another restore does not pile onto the unfinished one (the same one again would finish it).
    const again = await fleet.run(['restore', setId, '--to-time', allRowsAt.toISOString(), '--yes']);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('--resume');

    const rb = await fleet.run(['restore', '--rollback', '--yes']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(entry().restore).toBeUndefined();
    expect(entry().history).toBe(historyBefore);
    expect(await rowCount()).toBe(150);
    expect((await fleet.run(['status'])).code).toBe(0);
  });

  it('killed before the restored server starts: --resume finishes the same restore', async () => {
    const r = await fleet.run(['restore', setId, '--yes'], { DBPS_TEST_KILL_AT: 'restore:start' });
    expect(r.code).not.toBe(0);
    expect(entry().restore?.phase).toBe('start');
    expect((await fleet.run(['up'])).code).toBe(3);
    const res = await fleet.run(['restore', '--resume', '--yes']);
    expect(res.code, res.stderr).toBe(0);
    expect(entry().restore).toBeUndefined();
    // The backup point: the 100 rows it held, healthy.
    expect(await rowCount()).toBe(100);
    expect((await fleet.run(['status'])).code).toBe(0);
    // Back to everything: a rollback is no longer possible, but point-in-time from the set is
    // (the binlogs of the rows after the backup are in the datadirs moved aside).
    const pitr = await fleet.run(['restore', setId, '--to-time', allRowsAt.toISOString(), '--yes']);
    expect(pitr.code, pitr.stderr).toBe(0);
    expect(await rowCount()).toBe(150);
  });

  it('killed during a point-in-time replay: status exits 3 until --resume, which replays every committed row', async () => {
    const r = await fleet.run(['restore', setId, '--to-time', allRowsAt.toISOString(), '--yes'], {
      DBPS_TEST_KILL_AT: 'restore:replay',
    });
    expect(r.code).not.toBe(0);
    expect(entry().restore?.phase, r.stderr).toBe('replay');
    // The server answers, half-replayed: that is not healthy.
    expect(await rowCount()).toBe(100);
    const st = await fleet.run(['--json', 'status']);
    expect(st.code).toBe(3);
    expect(JSON.parse(st.stdout).servers[0].restoreInterrupted).toMatchObject({ phase: 'replay', set: setId });
    const res = await fleet.run(['restore', '--resume', '--yes']);
    expect(res.code, res.stderr).toBe(0);
    expect(await rowCount()).toBe(150);
    expect((await fleet.run(['status'])).code).toBe(0);
    // And a plain re-run of the same point-in-time restore works too.
    const again = await fleet.run(['restore', setId, '--to-time', allRowsAt.toISOString(), '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(await rowCount()).toBe(150);
  });
  it('point-in-time refuses two binlogs of one name and history with different contents (a fork), naming both', async () => {
    const history = entry().history!;
    const s1 = await fleet.run(['--json', 'backup']);
    expect(s1.code, s1.stderr).toBe(0);
    const set1 = (JSON.parse(s1.stdout) as { id: string }).id;
    await sql("INSERT INTO orders.items SELECT seq, 'timeline-a' FROM orders.seq_151_to_160");
    expect((await fleet.run(['restore', set1, '--yes'])).code).toBe(0);
    // What dbps before the restore record did after a restore killed in copy-back: the server went on
    // under the old history id, so its new binlogs (names restarted) share names with the old ones.
    const file = path.join(fleet.stateDir, 'state.json');
    const state = JSON.parse(readFileSync(file, 'utf8'));
    state.servers.orders.history = history;
    await writeFile(file, JSON.stringify(state));
    await sql("INSERT INTO orders.items SELECT seq, 'timeline-b' FROM orders.seq_161_to_170");
    expect((await fleet.run(['backup'])).code).toBe(0);
    await nextSecond();
    const at = new Date().toISOString();
    await nextSecond();
    const r = await fleet.run(['restore', set1, '--to-time', at, '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('forked');
    expect(r.stderr).toContain('nothing was stopped');
    expect(r.stderr).toMatch(/exists twice with different contents, \/\S+ \(set .+\) and \/\S+ \(/);
    // Refused before anything stopped: the server still has timeline b, no record.
    expect(entry().restore).toBeUndefined();
    expect(await rowCount()).toBe(160);
  });

  it('a restore in the same second as the one before (its moved-aside name taken) moves the datadir to a free name', async () => {
    // Two restores within one second (a --resume, then the next restore) aimed at one
    // `<datadir>.before-restore-<second>`: the second rename failed with ENOTEMPTY and rolled back.
    const taken: string[] = [];
    for (let s = 0; s < 20; s++) {
      const stamp = new Date(Date.now() + s * 1000)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      const dir = `${entry().datadir}.before-restore-${stamp}`;
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'earlier-restore'), 'x');
      taken.push(dir);
    }
    try {
      const r = await fleet.run(['restore', setId, '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(await rowCount()).toBe(100);
      const aside = entry() as unknown as { movedAside?: { dir: string }[] };
      const last = aside.movedAside?.[aside.movedAside.length - 1]?.dir;
      expect(last).toMatch(/\.before-restore-\d{8}T\d{6}Z-\d+$/);
      for (const dir of taken) expect(readFileSync(path.join(dir, 'earlier-restore'), 'utf8')).toBe('x');
    } finally {
      for (const dir of taken) await rm(dir, { recursive: true, force: true });
    }
  });
});
