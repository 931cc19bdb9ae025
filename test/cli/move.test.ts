// `dbps move` input errors: exit 2 with one sentence, and `--json` prints one document even then.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbps } from '../helpers/dbps-cli.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-move-cli-'));
  await writeFile(
    path.join(dir, 'services.yaml'),
    'version: 1\nfleet: t\nservers:\n  shared: { memory: 1G }\nservices:\n  inventory: { server: shared }\n  orders: {}\n',
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dbps move input', () => {
  it('refuses a --grace that is not a number of milliseconds', async () => {
    const r = await dbps(['move', 'inventory', '--grace', 'soon'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--grace soon is not a number of milliseconds/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('says that services.yaml decides where a service lives when --to disagrees', async () => {
    const r = await dbps(['--json', 'move', 'inventory', '--to', 'own'], { cwd: dir });
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { error: { message: string; hint?: string } };
    expect(doc.error.message).toBe('services.yaml puts "inventory" on server "shared", not its own instance');
    expect(doc.error.hint).toMatch(/edit it \(remove `server:`\), then run `dbps move inventory`/);
  });

  it('a rename needs the new name, and --finish needs a finished move', async () => {
    const rename = await dbps(['move', 'search'], { cwd: dir });
    expect(rename.code).toBe(2);
    expect(rename.stderr).toMatch(/after a rename, name the new service: `dbps move search --to <new name>`/);
    const finish = await dbps(['move', 'orders', '--finish', '--yes'], { cwd: dir });
    expect(finish.code).toBe(2);
    expect(finish.stderr).toMatch(/"orders" has no move to finish/);
  });
});
