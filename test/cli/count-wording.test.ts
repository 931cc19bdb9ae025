// Counts in messages agree with their number: "1 error, 1 warning", never "1 errors, 1 warnings".
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbps } from '../helpers/dbps-cli.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/catalog');
let dir: string;

/** A catalog dump of the audit fixture's clean server, plus the given accounts and db grants. */
async function writeDump(accounts: object[], dbGrants: object[]): Promise<string> {
  const catalog = JSON.parse(readFileSync(path.join(FIXTURES, 'base.json'), 'utf8'));
  const defaults = {
    isRole: false,
    plugin: 'mysql_native_password',
    hasPassword: true,
    locked: false,
    maxUserConnections: 0,
    sslType: '',
    defaultRole: '',
    globalPrivileges: [],
    globalGrantOption: false,
  };
  catalog.accounts.push(...accounts.map((a) => ({ ...defaults, ...a })));
  catalog.dbGrants.push(...dbGrants);
  const file = path.join(dir, 'dump.json');
  await writeFile(
    file,
    JSON.stringify({
      version: 1,
      kind: 'dbps-catalog-dump',
      fleet: 'audit',
      createdAt: new Date().toISOString(),
      servers: [{ server: 'shared', adminAccounts: [{ user: 'root', host: 'localhost' }], catalog }],
    }),
  );
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-count-'));
  await writeFile(path.join(dir, 'services.yaml'), readFileSync(path.join(FIXTURES, 'fleet.yaml')));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('audit-grants --output summary', () => {
  it('says "1 error, 1 warning" for one of each', async () => {
    const dump = await writeDump(
      [{ user: 'legacy_app', host: '%' }],
      [{ user: 'orders_app', host: '%', db: 'customers', privileges: ['SELECT'], grantOption: false }],
    );
    const out = path.join(dir, 'report.json');
    const r = await dbps(
      [
        'audit-grants',
        '--from-dump',
        dump,
        '--format',
        'json',
        '--output',
        out,
        '--severity',
        'cross-service-access=error',
        'orphan-account=warning',
      ],
      { cwd: dir },
    );
    const summary = JSON.parse(readFileSync(out, 'utf8')).summary as { errors: number; warnings: number };
    expect(summary.errors).toBe(1);
    expect(r.code).toBe(1);
    const warnings = `${summary.warnings} warning${summary.warnings === 1 ? '' : 's'}`;
    expect(r.stderr).toContain(`: 1 error, ${warnings}, `);
    expect(summary.warnings).toBe(1);
    expect(r.stderr).not.toMatch(/\b1 errors|\b1 warnings/);
  });

  it('keeps the plural for two', async () => {
    const dump = await writeDump(
      [
        { user: 'legacy_app', host: '%' },
        { user: 'legacy_two', host: '%' },
      ],
      [],
    );
    const r = await dbps(
      ['audit-grants', '--from-dump', dump, '--output', path.join(dir, 'r2.txt'), '--severity', 'orphan-account=error'],
      { cwd: dir },
    );
    expect(r.stderr).toMatch(/report written to .*: 2 errors, 0 warnings/);
  });
});
