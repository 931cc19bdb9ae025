// `dbps up` killed while mariadb-install-db bootstraps the datadir template leaves its partial copy
// (`templates/<version>.partial-<pid>`); the next bootstrap removes those of dead processes.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, randomBasePort } from '../helpers/local-fleet.js';

afterAll(async () => {
  await destroyAllFleets();
});

describe('up after a bootstrap killed midway', () => {
  it("removes the dead process's partial template and bootstraps a new one", async () => {
    const yaml = (services: string) =>
      `version: 1\nfleet: ul\ndefaults: { basePort: ${randomBasePort()} }\nservices:\n${services}`;
    const fleet = await createFleet(yaml('  orders: { memory: 128M }\n'));
    expect((await fleet.run(['up'])).code).toBe(0);
    const templates = path.join(fleet.stateDir, 'templates');
    const version = readdirSync(templates).find((n) => /^\d+\.\d+\.\d+$/.test(n))!;
    expect(version).toBeDefined();
    // What a kill -9 during the bootstrap leaves: no finished template, a partial one of a dead pid.
    const dead = spawnSync('true').pid!;
    const partial = path.join(templates, `${version}.partial-${dead}`);
    await rm(path.join(templates, version), { recursive: true, force: true });
    await mkdir(path.join(partial, 'data'), { recursive: true });
    await writeFile(path.join(partial, 'data', 'ibdata1'), 'half');
    // A new server needs the template again.
    await writeFile(
      path.join(fleet.dir, 'services.yaml'),
      yaml('  orders: { memory: 128M }\n  billing: { memory: 128M }\n'),
    );
    const up = await fleet.run(['up']);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(existsSync(partial), 'the dead bootstrap left its partial template').toBe(false);
    expect(readdirSync(templates).filter((n) => n.includes('.partial-'))).toStrictEqual([]);
    expect(existsSync(path.join(templates, version, 'data', 'mysql'))).toBe(true);
  });
});
