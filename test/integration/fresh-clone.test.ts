// A fresh clone, alone in an empty directory, installs and passes the tests that read reference data
// (the vendored JSON Schemas): nothing outside the clone is read, as on a CI machine or a new laptop.
// The clone is of this checkout's HEAD (committed work only), and nothing sits beside it.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/fleets.js';

const run = promisify(execFile);

// Every unit/CLI test file that validates output against a vendored third-party schema.
const SCHEMA_TESTS = [
  'test/unit/render/compose.test.ts',
  'test/unit/render/prometheus.test.ts',
  'test/unit/render/ci-workflow.test.ts',
  'test/unit/grants/audit-render.test.ts',
  'test/cli/generate-k8s.test.ts',
];

let tmp: string;
let clone: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbps-fresh-'));
  clone = path.join(tmp, 'dbps');
  await run('git', ['clone', '--quiet', '--no-hardlinks', repoRoot, clone]);
  await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: clone,
    timeout: 170_000,
    maxBuffer: 64 * 1024 * 1024,
  });
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('a fresh clone with nothing beside it', () => {
  it('is alone in its directory (no sibling folder or anything else to read)', () => {
    expect(readdirSync(tmp)).toStrictEqual(['dbps']);
  });

  it('passes every schema-validating test file', async () => {
    const report = path.join(clone, '.ci', 'fresh-clone-report.json');
    const r = await run(
      'npx',
      ['vitest', 'run', '--project', 'unit', '--reporter=json', `--outputFile.json=${report}`, ...SCHEMA_TESTS],
      { cwd: clone, timeout: 170_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
    ).catch((e: { stdout?: string; stderr?: string; code?: number }) => e);
    const doc = JSON.parse(readFileSync(report, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      numTotalTests: number;
      testResults: { name: string }[];
    };
    expect(doc.numFailedTests, JSON.stringify(r).slice(0, 4000)).toBe(0);
    expect(doc.numPassedTests).toBe(doc.numTotalTests);
    expect(doc.testResults.map((t) => path.relative(clone, t.name)).sort()).toStrictEqual([...SCHEMA_TESTS].sort());
    expect(doc.numPassedTests).toBeGreaterThan(SCHEMA_TESTS.length);
  });
});
