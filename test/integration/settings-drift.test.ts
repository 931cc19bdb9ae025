// Profile or memory changed in services.yaml while the servers run: status and plan show the settings
// that differ (SHOW GLOBAL VARIABLES against the my.cnf dbps would write now), `up` names them, and
// `up --restart` applies them: SET GLOBAL when every one is dynamic (same process), else a clean restart.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort } from '../helpers/local-fleet.js';

let fleet: LocalFleet;
const base = randomBasePort();
const yaml = (sharedMemory: string, searchMemory: string) =>
  [
    'version: 1',
    'fleet: sd',
    `defaults: { basePort: ${base} }`,
    'servers:',
    `  shared: { memory: ${sharedMemory} }`,
    'services:',
    '  orders: { server: shared }',
    '  catalog: { server: shared }',
    `  search: { memory: ${searchMemory} }`,
    '',
  ].join('\n');
// Full-size memory: at the helper's default scale every server would get the 128M floor whatever is declared.
const SCALE = { DBPS_MEMORY_SCALE: '1' };
const run = (args: string[]) => fleet.run(args, SCALE);

interface Drift {
  name: string;
  wanted: string;
  running: string;
  dynamic: boolean;
}
interface Probe {
  server: string;
  pid?: number;
  settingsDrift?: Drift[];
}

async function statusJson(): Promise<Probe[]> {
  const r = await run(['--json', 'status']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { servers: Probe[] }).servers;
}

async function variable(service: string, name: string): Promise<string> {
  const r = await run(['connect', service, '--admin', '-e', `SELECT @@GLOBAL.${name} AS v`]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').pop()!.trim();
}

beforeAll(async () => {
  fleet = await createFleet(yaml('128M', '128M'));
  const up = await run(['up']);
  if (up.code !== 0) throw new Error(up.stderr);
  // Databases and accounts in place, so that plan has only settings to report.
  const provision = await run(['provision']);
  if (provision.code !== 0) throw new Error(provision.stderr);
});
afterAll(destroyAllFleets);

describe('settings drift of running servers', () => {
  it('a fleet just started has none', async () => {
    const probes = await statusJson();
    expect(probes.map((p) => p.settingsDrift)).toEqual([undefined, undefined]);
    const plan = await run(['plan']);
    expect(plan.code, plan.stdout).toBe(0);
    expect(plan.stdout).not.toMatch(/settings/);
  });

  it('after a memory change: status (exit 0) and plan (exit 1) show it; up names it and how to apply it', async () => {
    writeFileSync(path.join(fleet.dir, 'services.yaml'), yaml('256M', '512M'));
    const status = await run(['status']);
    expect(status.code, status.stderr).toBe(0);
    // shared: only the buffer pool changes (dynamic); search: the redo log buffer too (read-only at run time).
    expect(status.stdout).toContain(
      'settings shared: 1 setting differs from services.yaml: innodb_buffer_pool_size 166M (runs with 82M); `dbps up --restart shared` applies it with SET GLOBAL, no restart',
    );
    expect(status.stdout).toMatch(
      /settings search: \d+ settings differ from services\.yaml: .*innodb_log_buffer_size 10M \(runs with 8M\).*`dbps up --restart search` applies them with a clean restart \(innodb_log_buffer_size cannot change at run time\)/,
    );
    const probes = await statusJson();
    const shared = probes.find((p) => p.server === 'shared')!;
    expect(shared.settingsDrift).toEqual([
      { name: 'innodb_buffer_pool_size', wanted: '166M', running: String(82 * 1024 * 1024), dynamic: true },
    ]);
    const search = probes.find((p) => p.server === 'search')!;
    expect(search.settingsDrift).toContainEqual({
      name: 'innodb_log_buffer_size',
      wanted: '10M',
      running: String(8 * 1024 * 1024),
      dynamic: false,
    });

    const plan = await run(['plan']);
    expect(plan.code, plan.stderr).toBe(1);
    expect(plan.stdout).toContain('settings shared: 1 setting differs from services.yaml');
    expect(plan.stdout).toContain('Not in sync: 2 servers run with settings that differ from services.yaml');
    const planJson = JSON.parse((await run(['--json', 'plan'])).stdout) as { inSync: boolean; settings: Drift[] };
    expect(planJson.inSync).toBe(false);
    expect(planJson.settings).toContainEqual(
      expect.objectContaining({ server: 'shared', name: 'innodb_buffer_pool_size' }),
    );

    const up = await run(['up']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).not.toMatch(/nothing to do/);
    expect(up.stderr).toContain('settings: shared: 1 setting differs from services.yaml');
    expect(up.stderr).toContain('`dbps up --restart search` applies them with a clean restart');
    // Nothing was applied: the servers still run with the old values.
    expect(await variable('orders', 'innodb_buffer_pool_size')).toBe(String(82 * 1024 * 1024));
  });

  it('up --restart: SET GLOBAL on shared (same process), a clean restart of search; the drift is gone', async () => {
    const before = await statusJson();
    const pid = (name: string, list: Probe[]) => list.find((p) => p.server === name)!.pid;
    const up = await run(['--json', 'up', '--restart']);
    expect(up.code, up.stderr).toBe(0);
    const result = JSON.parse(up.stdout) as {
      servers: { server: string; action: string; pid: number; appliedSettings?: Drift[]; pendingSettings?: Drift[] }[];
    };
    const shared = result.servers.find((s) => s.server === 'shared')!;
    const search = result.servers.find((s) => s.server === 'search')!;
    expect(shared.action).toBe('reconfigured');
    expect(shared.appliedSettings?.map((d) => d.name)).toEqual(['innodb_buffer_pool_size']);
    expect(search.action).toBe('restarted');
    expect(search.appliedSettings?.map((d) => d.name)).toContain('innodb_log_buffer_size');
    expect(shared.pendingSettings).toBeUndefined();
    expect(search.pendingSettings).toBeUndefined();

    const after = await statusJson();
    expect(pid('shared', after)).toBe(pid('shared', before));
    expect(pid('search', after)).not.toBe(pid('search', before));
    expect(after.map((p) => p.settingsDrift)).toEqual([undefined, undefined]);
    expect(await variable('orders', 'innodb_buffer_pool_size')).toBe(String(166 * 1024 * 1024));
    expect(await variable('search', 'innodb_log_buffer_size')).toBe(String(10 * 1024 * 1024));
    expect(await variable('search', 'innodb_buffer_pool_size')).toBe(String(332 * 1024 * 1024));
    // SET GLOBAL alone would be lost at the next start: my.cnf holds the new value too.
    const cnf = readFileSync(path.join(fleet.stateDir, 'servers', 'shared', 'my.cnf'), 'utf8');
    expect(cnf).toContain('innodb_buffer_pool_size = 166M');

    const plan = await run(['plan']);
    expect(plan.stdout).not.toMatch(/settings/);
    const again = await run(['up', '--restart']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('nothing to do: all 2 servers are already running');
  });

  it('a profile change that is all dynamic is applied without a restart', async () => {
    writeFileSync(
      path.join(fleet.dir, 'services.yaml'),
      yaml('256M', '512M').replace('memory: 256M', 'memory: 256M, profile: sessions'),
    );
    const before = (await statusJson()).find((p) => p.server === 'shared')!;
    expect(before.settingsDrift?.map((d) => d.name)).toEqual(
      expect.arrayContaining(['innodb_flush_log_at_trx_commit', 'sync_binlog', 'max_connections', 'event_scheduler']),
    );
    const up = await run(['up', '--restart', 'orders']);
    expect(up.code, up.stderr).toBe(0);
    const after = (await statusJson()).find((p) => p.server === 'shared')!;
    // Every option oltp and sessions differ in is dynamic: same process.
    expect(before.settingsDrift!.every((d) => d.dynamic)).toBe(true);
    expect(after.pid).toBe(before.pid);
    expect(after.settingsDrift).toBeUndefined();
    expect(await variable('orders', 'innodb_flush_log_at_trx_commit')).toBe('2');
    expect(await variable('orders', 'event_scheduler')).toBe('OFF');
  });
});
