// backup / backups / restore through the built binary, without servers: usage errors (exit 2),
// an empty backup root, --json purity, and a damaged set that is listed but never restorable.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbps } from '../helpers/dbps-cli.js';

let dir: string;
const run = (...args: string[]) => dbps(args, { cwd: dir });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-cli-backup-'));
  await writeFile(path.join(dir, 'services.yaml'), 'version: 1\nfleet: t\nservices:\n  orders: {}\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dbps backups / restore usage', () => {
  it('lists nothing in an empty backup root, with one JSON document under --json', async () => {
    const text = await run('backups');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^no backup sets in /);
    const json = await run('--json', 'backups', 'list');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ version: 1, command: 'backups', action: 'list', sets: [] });
  });

  it('lists a set without a valid manifest as damaged and refuses to show or restore it', async () => {
    await mkdir(path.join(dir, '.dbps', 'backups', '20260101T000000Z'), { recursive: true });
    await writeFile(path.join(dir, '.dbps', 'backups', '20260101T000000Z', 'manifest.json'), '{"version": 1');
    // An in-progress set is never listed.
    await mkdir(path.join(dir, '.dbps', 'backups', '.tmp-20260102T000000Z'), { recursive: true });
    const list = JSON.parse((await run('--json', 'backups')).stdout) as { sets: { id: string; status: string }[] };
    expect(list.sets.map((s) => [s.id, s.status])).toStrictEqual([['20260101T000000Z', 'damaged']]);
    const show = await run('backups', 'show', '20260101T000000Z');
    expect(show.code).toBe(2);
    expect(show.stderr).toMatch(/not usable: damaged manifest/);
    const restore = await run('restore', '20260101T000000Z', '--yes');
    expect(restore.code).toBe(2);
    expect(restore.stderr).toMatch(/no usable backup set/);
  });

  it('rejects bad input with exit 2 before touching anything', async () => {
    const action = await run('backups', 'destroy');
    expect(action.code).toBe(2);
    expect(action.stderr).toMatch(/unknown backups action "destroy"/);
    const keep = await run('backups', 'prune');
    expect(keep.code).toBe(2);
    expect(keep.stderr).toMatch(/--keep N/);
    const zone = await run('restore', 'latest', '--to-time', '2026-11-25T10:00:00', '--yes');
    expect(zone.code).toBe(2);
    expect(zone.stderr).toMatch(/has no time zone/);
    const compress = await run('backup', '--compress', 'gzip');
    expect(compress.code).toBe(2);
    const parallel = await run('backup', '--parallel', '0');
    expect(parallel.code).toBe(2);
    const unknown = await run('backup', 'nosuch');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/"nosuch" is not a service/);
  });

  it('refuses a restore into a server never started, and one not confirmed (no terminal, no --yes)', async () => {
    const root = path.join(dir, '.dbps', 'backups', '20260103T000000Z');
    await mkdir(root, { recursive: true });
    await writeFile(
      path.join(root, 'manifest.json'),
      JSON.stringify({
        version: 1,
        id: '20260103T000000Z',
        fleet: 't',
        status: 'complete',
        startedAt: 'x',
        endedAt: 'y',
        compress: 'none',
        servers: [],
      }),
    );
    await writeFile(path.join(dir, '.dbps', 'state.json'), JSON.stringify({ version: 1, servers: {} }));
    const r = await run('restore', '20260103T000000Z', 'orders');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/never been started/);
    const serverDir = path.join(dir, '.dbps', 'servers', 'orders');
    await mkdir(path.join(serverDir, 'data'), { recursive: true });
    const entry = {
      port: 1,
      dir: serverDir,
      datadir: path.join(serverDir, 'data'),
      socket: path.join(serverDir, 'mysqld.sock'),
      pidFile: path.join(serverDir, 'mysqld.pid'),
      logError: path.join(serverDir, 'error.log'),
      cnf: path.join(serverDir, 'my.cnf'),
      adminUser: 'root',
    };
    await writeFile(path.join(dir, '.dbps', 'state.json'), JSON.stringify({ version: 1, servers: { orders: entry } }));
    const unconfirmed = await run('restore', '20260103T000000Z', 'orders');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/restore not confirmed.*\n.*--yes/s);
    expect(existsSync(path.join(serverDir, 'data'))).toBe(true);
  });
});
