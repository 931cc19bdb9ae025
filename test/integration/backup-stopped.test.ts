// `dbps backup` with a server stopped by `dbps down`: the others are backed up, and the stopped one is
// named once, as stopped, with the two ways on (start it, or back up the others alone).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

let fleet: LocalFleet;

beforeAll(async () => {
  fleet = await createFleet(
    `version: 1\nfleet: bs\nservices:\n  a: { memory: 128M, port: ${await freePort()} }\n  b: { memory: 128M, port: ${await freePort()} }\n`,
  );
  for (const args of [['up'], ['provision'], ['down', 'b']]) {
    const r = await fleet.run(args);
    if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  }
});

afterAll(async () => {
  await destroyAllFleets();
});

describe('backup with a stopped server', () => {
  it('backs up the running server and names the stopped one once, with what to run', async () => {
    const r = await fleet.run(['backup']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/ok +a: /);
    expect(r.stdout).toContain(
      'server "b" is not running; start it first: `dbps up b`, or back up the others alone: `dbps backup a`',
    );
    expect(r.stdout + r.stderr).not.toMatch(/ENOENT/);
    // Progress (stderr) names the failure once, not as a progress line and again as the result line.
    expect(r.stderr.match(/server "b" is not running/g)).toHaveLength(1);
  });

  it('the suggested command backs up the others with exit 0', async () => {
    const r = await fleet.run(['backup', 'a']);
    expect(r.code, r.stderr).toBe(0);
  });
});
