// `--json` prints exactly one JSON document on stdout, also when the command line itself is wrong.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbps } from '../helpers/dbps-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-json-err-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('--json errors', () => {
  it.each([
    [['--json', 'status', '--bogus'], /unknown option '--bogus'/],
    [['--json', 'audit-grants', '--format', 'xml'], /xml/],
    [['--json', 'no-such-command'], /unknown command/],
  ])('%j prints one JSON error document and exits 2', async (args, message) => {
    const r = await dbps(args, { cwd: dir });
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { version: number; error: { message: string; exitCode: number } };
    expect(doc.version).toBe(1);
    expect(doc.error.exitCode).toBe(2);
    expect(doc.error.message).toMatch(message);
  });

  it('a missing services.yaml under --json is one document too', async () => {
    const r = await dbps(['--json', 'validate'], { cwd: dir });
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { version: number; error: { exitCode: number } };
    expect(doc).toMatchObject({ version: 1, error: { exitCode: 2 } });
  });
});
