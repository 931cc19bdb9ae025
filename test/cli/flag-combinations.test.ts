// Flags that would silently do nothing are usage errors; ids that have a sensible default need none.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbps } from '../helpers/dbps-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-flags-'));
  await writeFile(path.join(dir, 'services.yaml'), 'version: 1\nfleet: f\nservices:\n  orders: {}\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('flag combinations', () => {
  it('--force-drop-data without --prune is exit 2, before any server is contacted', async () => {
    const r = await dbps(['provision', '--force-drop-data'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--force-drop-data only acts with --prune/);
  });

  it('backups verify and show default to the latest set', async () => {
    for (const action of ['verify', 'show']) {
      const r = await dbps(['backups', action], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no backup set "latest"/);
      expect(r.stderr).toMatch(/run `dbps backup`/);
      expect(r.stderr).not.toMatch(/name a backup set id/);
    }
  });

  it('binlogs follow --timeout is exit 2 (follow waits for events by design); pull takes it', async () => {
    const r = await dbps(['binlogs', 'follow', '--timeout', '3'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--timeout applies to `binlogs pull`/);
    const bad = await dbps(['binlogs', 'pull', '--timeout', 'soon'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--timeout: "soon" is not a number of seconds/);
  });
});
