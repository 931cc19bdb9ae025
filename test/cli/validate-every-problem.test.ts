// `dbps validate` reports every problem of a file in one run, whatever stage finds it (YAML keys,
// schema, semantic checks), and exits 2 with all of them, as text and as one JSON document.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dbps } from '../helpers/dbps-cli.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dbps-validate-all-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const FILE = [
  'version: 1',
  'fleet: shop',
  'servers:',
  '  shared: { port: 4000 }',
  'services:',
  '  Orders: {}',
  '  catalog: { port: 4000 }',
  '  billing: { server: shared, backup: { retention: 3x, schedule: "99 * * * *" } }',
  '  payments: { server: shraed }',
  '',
].join('\n');

describe('dbps validate: every problem in one run', () => {
  const file = path.join(tmp, 'services.yaml');
  writeFileSync(file, FILE);

  it('names, port clash, retention, schedule and an unknown server are all reported, exit 2', async () => {
    const r = await dbps(['-f', file, 'validate'], { cwd: tmp });
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith(`${file}:`));
    expect(lines.map((l) => l.slice(file.length + 1).replace(/ .*/, ''))).toEqual([
      '6:3:',
      '7:20:',
      '8:51:',
      '8:65:',
      '9:23:',
    ]);
    expect(lines[1]).toMatch(/port 4000 is used by both "shared" and "catalog"/);
    expect(lines[3]).toMatch(/schedule "99 \* \* \* \*"/);
    expect(lines[4]).toMatch(/server "shraed", which is not declared under "servers:"; did you mean "shared"/);
    expect(r.stderr).toMatch(/5 problems in /);
  });

  it('--json carries the same five errors in one document', async () => {
    const r = await dbps(['--json', '-f', file, 'validate'], { cwd: tmp });
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { valid: boolean; errors: { line: number; column: number }[] };
    expect(doc.valid).toBe(false);
    expect(doc.errors.map((e) => `${e.line}:${e.column}`)).toEqual(['6:3', '7:20', '8:51', '8:65', '9:23']);
  });
});
