// 2000 services with 60-character names on one shared server, run the way users run it: the server
// must start from its own generated my.cnf (no line may reach mariadbd's 4095-byte limit), every
// command must work, and no output line may grow with the fleet.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD_MISMATCH_SQL } from '../../src/runtime/converge.js';
import type { CliRun } from '../helpers/dbps-cli.js';
import { createFleet, destroyAllFleets, type LocalFleet } from '../helpers/local-fleet.js';
import { freePort } from '../helpers/mariadb-server.js';

const SERVICES = 2000;
const name = (i: number) => `svc_${String(i).padStart(4, '0')}_`.padEnd(60, 'x');

let fleet: LocalFleet;

/**
 * Every line dbps printed, on both streams, stays short: 100 columns plus room for one long name and
 * one path (the version note names services.yaml by its path), never a list that grows with the fleet.
 */
function expectShortLines(r: CliRun, what: string): void {
  const lines = `${r.stdout}\n${r.stderr}`.split('\n');
  const longest = lines.reduce((a, l) => (l.length > a.length ? l : a), '');
  expect(longest.length, `${what}: longest line: ${longest.slice(0, 200)}`).toBeLessThanOrEqual(260);
  // A shared server's whole service list never reaches the output.
  expect(`${r.stdout}${r.stderr}`.includes(`${name(0)},${name(1)}`), what).toBe(false);
}

async function admin() {
  const st = fleet.state().servers.shared!;
  return mariadb.createConnection({ socketPath: st.socket, user: 'root' });
}

beforeAll(async () => {
  const lines = [
    'version: 1',
    'fleet: big',
    'servers:',
    `  shared: { driver: local, memory: 256M, port: ${await freePort()} }`,
    'services:',
  ];
  for (let i = 0; i < SERVICES; i++) lines.push(`  ${name(i)}: { server: shared }`);
  fleet = await createFleet(`${lines.join('\n')}\n`);
});

afterAll(async () => {
  await destroyAllFleets();
});

describe(`a shared server with ${SERVICES} services of 60-character names`, () => {
  it('generates files whose every line is short', async () => {
    const r = await fleet.run(['generate']);
    expect(r.code, r.stderr).toBe(0);
    const cnf = readFileSync(path.join(fleet.dir, 'generated', 'mycnf', 'shared.cnf'), 'utf8');
    expect(Math.max(...cnf.split('\n').map((l) => Buffer.byteLength(l)))).toBeLessThan(4095);
    expect(Math.max(...cnf.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
    expect(readFileSync(path.join(fleet.dir, 'generated', 'fleet.md')).length).toBeLessThan(50_000);
  });

  it('starts from its own my.cnf, provisions, and a second plan has nothing to do', async () => {
    const up = await fleet.run(['up']);
    expect(up.code, up.stderr).toBe(0);
    expectShortLines(up, 'up');
    expect(up.stderr).toContain(`shared (${SERVICES} services)`);
    const prov = await fleet.run(['provision']);
    expect(prov.code, prov.stderr).toBe(0);
    expectShortLines(prov, 'provision');
    const plan = await fleet.run(['plan']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expectShortLines(plan, 'plan');
  });

  it("checks passwords with one primary-key lookup per account, not a nested loop over the server's accounts", async () => {
    const c = await admin();
    try {
      const rows = (await c.query(`EXPLAIN ${PASSWORD_MISMATCH_SQL}`, [
        JSON.stringify([[`${name(1)}_app`, '%', '*00']]),
      ])) as {
        table: string;
        type: string;
      }[];
      expect(rows.find((r) => r.table === 'g')?.type).toBe('eq_ref');
    } finally {
      await c.end();
    }
  });

  it('audits clean, and reports status within the width', async () => {
    const audit = await fleet.run(['audit-grants']);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    expectShortLines(audit, 'audit-grants');
    const status = await fleet.run(['status']);
    expect(status.code, status.stderr).toBe(0);
    for (const l of status.stdout.split('\n')) expect(l.length).toBeLessThanOrEqual(100);
    expect(status.stdout).toContain(`${SERVICES} services`);
  });

  it('backs up and restores the server, which starts again with every database', async () => {
    const c = await admin();
    try {
      await c.query(`CREATE TABLE \`${name(1999)}\`.t (id INT PRIMARY KEY)`);
      await c.query(`INSERT INTO \`${name(1999)}\`.t VALUES (42)`);
    } finally {
      await c.end();
    }
    const backup = await fleet.run(['backup']);
    expect(backup.code, backup.stderr).toBe(0);
    expectShortLines(backup, 'backup');
    const restore = await fleet.run(['restore', 'latest', '--yes']);
    expect(restore.code, restore.stderr).toBe(0);
    expectShortLines(restore, 'restore');
    const after = await admin();
    try {
      const rows = (await after.query(`SELECT id FROM \`${name(1999)}\`.t`)) as { id: number }[];
      expect(rows.map((r) => r.id)).toEqual([42]);
      const dbs = (await after.query(
        "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'svc\\_%'",
      )) as { n: bigint }[];
      expect(Number(dbs[0]!.n)).toBe(SERVICES);
    } finally {
      await after.end();
    }
  });
});
