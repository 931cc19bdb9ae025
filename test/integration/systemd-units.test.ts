// `dbps generate --only systemd`: the units pass `systemd-analyze verify` (which also checks that
// ExecStart's program exists: the units point at this node and this checkout's bin/dbps.js), every
// OnCalendar parses, and a broken unit is caught by the same check.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/dbps-cli.js';
import { createFleet } from '../helpers/local-fleet.js';

const run = promisify(execFile);

async function verify(files: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run('systemd-analyze', ['verify', '--man=no', ...files]);
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe('generate --only systemd', () => {
  it('writes a .service and .timer per schedule, a follow service, and crontab lines; systemd-analyze verify accepts them', async () => {
    const fleet = await createFleet(`version: 1
fleet: shop
servers:
  legacy: { driver: external, host: db.internal, admin: { user: root }, binlogs: follow }
services:
  orders: { backup: { schedule: "0 3 * * *", retention: 7d } }
  billing: { server: legacy, backup: { schedule: "0 3 * * *", retention: 14d } }
  users: { server: legacy, backup: { schedule: "*/15 8-18 1,15 * mon-fri" } }
  audit: { backup: { schedule: "@weekly" } }
`);
    const r = await fleet.run(['generate', '--only', 'systemd', '--systemd-dbps', `${process.execPath} ${BIN}`]);
    expect(r.code, r.stderr).toBe(0);
    const dir = path.join(fleet.dir, 'generated', 'systemd');
    const names = readdirSync(dir).sort();
    expect(names).toEqual([
      'crontab',
      'dbps-shop-backup-audit.service',
      'dbps-shop-backup-audit.timer',
      'dbps-shop-backup-orders.service',
      'dbps-shop-backup-orders.timer',
      'dbps-shop-backup-users.service',
      'dbps-shop-backup-users.timer',
      'dbps-shop-binlogs-legacy.service',
    ]);
    const units = names.filter((n) => n !== 'crontab').map((n) => path.join(dir, n));
    const ok = await verify(units);
    expect(ok.code, ok.out).toBe(0);
    const orders = readFileSync(path.join(dir, 'dbps-shop-backup-orders.service'), 'utf8');
    // One unit for both services of the schedule, the external one included, then pruning by retention.
    expect(orders).toContain(
      `ExecStart=${process.execPath} ${BIN} -f ${path.join(fleet.dir, 'services.yaml')} backup orders billing`,
    );
    expect(orders).toContain('backups prune --retention');
    const follow = readFileSync(path.join(dir, 'dbps-shop-binlogs-legacy.service'), 'utf8');
    expect(follow).toMatch(/ExecStart=.* binlogs follow legacy\n/);
    expect(follow).toContain('Restart=always');
    // Cron's day-of-month OR weekday becomes two OnCalendar lines; each parses as a systemd calendar.
    const timer = readFileSync(path.join(dir, 'dbps-shop-backup-users.timer'), 'utf8');
    const calendars = [...timer.matchAll(/^OnCalendar=(.*)$/gm)].map((m) => m[1]!);
    expect(calendars).toEqual(['*-*-01,15 08..18:0/15:00', 'Mon..Fri *-*-* 08..18:0/15:00']);
    for (const c of calendars) await run('systemd-analyze', ['calendar', c]);
    expect(readFileSync(path.join(dir, 'crontab'), 'utf8')).toContain('*/15 8-18 1,15 * mon-fri cd ');

    // The same check fails on a unit whose program does not exist: it is a real check.
    const broken = path.join(dir, 'dbps-shop-backup-audit.service');
    writeFileSync(broken, readFileSync(broken, 'utf8').replace(process.execPath, '/nonexistent/node'));
    expect((await verify([broken])).code).not.toBe(0);
  }, 60_000);
});
