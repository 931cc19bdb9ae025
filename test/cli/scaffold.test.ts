// `dbps scaffold` through the built binary without a server: --list, usage errors (exit 2 with a
// suggestion), files written once and never overwritten when they differ, unless --force.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbps } from '../helpers/dbps-cli.js';

let dir: string;
const run = (...args: string[]) => dbps(args, { cwd: dir });

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'dbps-scaffold-'));
  writeFileSync(
    path.join(dir, 'services.yaml'),
    'version: 1\nfleet: t\nservices:\n  orders: { outbox: true }\n  inventory: {}\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dbps scaffold', () => {
  it('--list shows the five patterns and why there is no XA pattern', async () => {
    const r = await run('scaffold', '--list');
    expect(r.code).toBe(0);
    for (const p of ['outbox', 'reservation', 'projection', 'change-capture', 'read-model'])
      expect(r.stdout).toMatch(new RegExp(`^${p} `, 'm'));
    expect(r.stdout).toMatch(/xa: not offered/);
    const j = await run('--json', 'scaffold', '--list');
    expect(JSON.parse(j.stdout)).toMatchObject({ version: 1, command: 'scaffold', list: expect.any(Array) });
  });

  it('exits 2 for an unknown pattern or service, with a suggestion', async () => {
    const p = await run('scaffold', 'outbx', 'orders');
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/"outbx" is not a scaffold pattern; did you mean "outbox"\?/);
    const s = await run('scaffold', 'outbox', 'ordres');
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/"ordres" is not a service in services.yaml; did you mean "orders"\?/);
    const xa = await run('scaffold', 'xa', 'orders');
    expect(xa.code).toBe(2);
    expect(xa.stderr).toMatch(/xa: not offered/);
    const missing = await run('scaffold', 'outbox');
    expect(missing.code).toBe(2);
    const name = await run('scaffold', 'outbox', 'orders', '--name', 'bad-name');
    expect(name.code).toBe(2);
    expect(readdirSync(dir)).not.toContain('migrations');
  });

  it('writes numbered files into migrations/<service>/, then reports them unchanged', async () => {
    const first = await run('scaffold', 'reservation', 'inventory');
    expect(first.code).toBe(0);
    const files = readdirSync(path.join(dir, 'migrations', 'inventory'));
    expect(files).toStrictEqual([
      '0001_outbox-table.sql',
      '0002_reservation-stock.sql',
      '0003_reservation-reserve.sql',
      '0004_reservation-release.sql',
      '0005_reservation-expiry.sql',
    ]);
    expect(readFileSync(path.join(dir, 'migrations', 'inventory', files[0]!), 'utf8')).toMatch(
      /CREATE TABLE IF NOT EXISTS `inventory`\.`inventory_events_outbox`/,
    );
    const again = await run('--json', 'scaffold', 'reservation', 'inventory');
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout) as { files: { status: string }[] };
    expect(doc.files.map((f) => f.status)).toStrictEqual(Array(5).fill('unchanged'));
    // A second pattern comes after the first and shares its outbox table file.
    const next = await run('scaffold', 'outbox', 'inventory');
    expect(next.code).toBe(0);
    expect(readdirSync(path.join(dir, 'migrations', 'inventory'))).toContain('0006_outbox-orders.sql');
  });

  it('never overwrites a file that differs without --force', async () => {
    const file = path.join(dir, 'migrations', 'orders', '0002_projection-apply-customer-event.sql');
    expect((await run('scaffold', 'projection', 'orders')).code).toBe(0);
    writeFileSync(file, '-- my edit\n');
    const refused = await run('scaffold', 'projection', 'orders');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/0002_projection-apply-customer-event\.sql exists and differs.*--force/s);
    expect(readFileSync(file, 'utf8')).toBe('-- my edit\n');
    const forced = await run('scaffold', 'projection', 'orders', '--force');
    expect(forced.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/CREATE OR REPLACE PROCEDURE `apply_customer_event`/);
  });

  it('--out puts the files elsewhere; --apply without a running server is an operational failure (3)', async () => {
    const out = await run('scaffold', 'change-capture', 'orders', '--out', 'db/changes');
    expect(out.code).toBe(0);
    expect(readdirSync(path.join(dir, 'db', 'changes'))).toHaveLength(3);
    const apply = await run('scaffold', 'read-model', 'orders', '--apply');
    expect(apply.code).toBe(3);
    expect(apply.stderr).not.toMatch(/\n\s+at /);
  });
});
