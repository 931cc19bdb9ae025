// A service with its own instance is renamed (or removed) in services.yaml: its mariadbd and data are
// still there. status shows it as an orphan, down stops it, and its data is destroyed only when named.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processAlive } from '../../src/runtime/process.js';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

let fleet: LocalFleet;
let searchPid: number;
let searchDir: string;

beforeAll(async () => {
  const [p1, p2] = [await freePort(), await freePort()];
  fleet = await createFleet(
    `version: 1\nfleet: ren\nservices:\n  orders: { memory: 128M, port: ${p1} }\n  search: { memory: 128M, port: ${p2} }\n`,
  );
  const up = await fleet.run(['up']);
  if (up.code !== 0) throw new Error(up.stderr);
  searchPid = fleet.state().servers.search!.pid!;
  searchDir = fleet.state().servers.search!.dir;
  // search is renamed to finder (and not started yet).
  await writeFile(
    path.join(fleet.dir, 'services.yaml'),
    `version: 1\nfleet: ren\nservices:\n  orders: { memory: 128M, port: ${p1} }\n  finder: { memory: 128M, port: ${await freePort()} }\n`,
  );
});

afterAll(async () => {
  await destroyAllFleets();
});

describe('a server services.yaml no longer declares', () => {
  it('status shows it as a running orphan with what to do, without failing the fleet on it', async () => {
    const r = await fleet.run(['status', 'orders', 'search']);
    expect(r.stdout).toMatch(/^search +local +\(not declared\) +running/m);
    expect(r.stdout).toMatch(
      /orphan search: in the state dir but not in services\.yaml .*still running, data kept; `dbps down search` stops it/,
    );
    expect(r.code).toBe(0);
    const json = JSON.parse((await fleet.run(['--json', 'status', 'search'])).stdout) as {
      servers: { server: string; orphan?: boolean; state: string }[];
    };
    expect(json.servers).toEqual([expect.objectContaining({ server: 'search', orphan: true, state: 'running' })]);
  });

  it('down stops it with the fleet, and down --destroy of the whole fleet keeps its data', async () => {
    const down = await fleet.run(['down']);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr + down.stdout).toMatch(/search \(not in services\.yaml\): stopped/);
    expect(processAlive(searchPid)).toBe(false);
    const destroy = await fleet.run(['down', '--destroy', '--yes']);
    expect(destroy.code, destroy.stderr).toBe(0);
    expect(existsSync(path.join(searchDir, 'data'))).toBe(true);
    expect(Object.keys(fleet.state().servers)).toContain('search');
  });

  it('down <orphan> --destroy removes it and its state entry', async () => {
    const r = await fleet.run(['down', 'search', '--destroy', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(searchDir)).toBe(false);
    expect(Object.keys(fleet.state().servers)).not.toContain('search');
  });
});
