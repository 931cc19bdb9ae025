// dbps generate through the built binary: byte-identical output, --check, --only, no secrets in files.
import { copyFile, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/fleets.js';

const bin = path.join(repoRoot, 'bin', 'dbps.js');
let dir: string;
const SECRET = 'NotInAnyFile-7f3a9c';
/** How many files a full generate wrote (set by the first test). */
let written = 0;

function dbps(...args: string[]) {
  return execa('node', [bin, '-f', path.join(dir, 'services.yaml'), ...args], {
    cwd: dir,
    reject: false,
    // Passwords set in the environment must never reach a generated file.
    env: {
      NO_COLOR: '1',
      SHOP_ORDERS_ROOT_PASSWORD: SECRET,
      SHOP_ORDERS_MONITOR_PASSWORD: SECRET,
      LEGACY_ROOT_PWD: SECRET,
    },
  });
}

async function tree(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out.set(path.relative(root, full).split(path.sep).join('/'), await readFile(full));
  }
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-generate-'));
  await copyFile(path.join(repoRoot, 'fixtures', 'fleets', 'generate-mixed.yaml'), path.join(dir, 'services.yaml'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// The outputs of the mycnf, compose, prometheus and graph kinds; other kinds add files beside them.
const EXPECTED = [
  '.github/workflows/dbps.yml',
  'docker-compose.yml',
  'fleet.md',
  'k8s/analytics.yaml',
  'k8s/archive.yaml',
  'k8s/customers.yaml',
  'k8s/kustomization.yaml',
  'k8s/orders.yaml',
  'k8s/sessions.yaml',
  'k8s/shared.yaml',
  'mycnf/analytics.cnf',
  'mycnf/archive.cnf',
  'mycnf/customers.cnf',
  'mycnf/orders.cnf',
  'mycnf/sessions.cnf',
  'mycnf/shared.cnf',
  'prometheus/prometheus.yml',
];

describe('dbps generate', () => {
  it('writes every output, and generating again from scratch gives identical bytes', async () => {
    const first = await dbps('generate', '--out', 'a');
    expect(first.exitCode, first.stderr).toBe(0);
    const a = await tree(path.join(dir, 'a'));
    // Same command, same output directory (some outputs name it), nothing left from the first run.
    await rm(path.join(dir, 'a'), { recursive: true });
    const second = await dbps('generate', '--out', 'a');
    expect(second.exitCode, second.stderr).toBe(0);
    const b = await tree(path.join(dir, 'a'));
    expect([...a.keys()]).toEqual(expect.arrayContaining(EXPECTED));
    expect([...b.keys()].sort()).toStrictEqual([...a.keys()].sort());
    for (const [file, bytes] of a) expect(b.get(file)?.equals(bytes), file).toBe(true);
    for (const [file, bytes] of a) expect(bytes.toString('utf8'), file).not.toContain(SECRET);
    written = a.size;
  });

  it('rewrites nothing when run again in place', async () => {
    const r = await dbps('--json', 'generate', '--out', 'a');
    expect(r.exitCode).toBe(0);
    const result = JSON.parse(r.stdout) as { files: { path: string; status: string }[] };
    expect(result.files).toHaveLength(written);
    expect(result.files.filter((f) => f.status !== 'unchanged')).toStrictEqual([]);
  });

  it('--check exits 0 when the files on disk are fresh', async () => {
    const r = await dbps('generate', '--out', 'a', '--check');
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`all ${written} generated files are up to date`);
  });

  it('--check exits 1 and names each stale and each missing file, writing nothing', async () => {
    const compose = path.join(dir, 'a', 'docker-compose.yml');
    await writeFile(compose, `${await readFile(compose, 'utf8')}# hand edit\n`);
    await unlink(path.join(dir, 'a', 'mycnf', 'orders.cnf'));
    const r = await dbps('generate', '--out', 'a', '--check');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/stale\s+a\/docker-compose\.yml/);
    expect(r.stdout).toMatch(/missing\s+a\/mycnf\/orders\.cnf/);
    expect(r.stdout).toContain('2 generated files are stale');
    expect(r.stdout).not.toMatch(/stale\s+a\/fleet\.md/);
    const json = await dbps('--json', 'generate', '--out', 'a', '--check');
    expect(json.exitCode).toBe(1);
    const result = JSON.parse(json.stdout) as { outcome: string; files: { path: string; status: string }[] };
    expect(result.outcome).toBe('findings');
    expect(result.files.filter((f) => f.status !== 'unchanged')).toStrictEqual([
      { path: 'mycnf/orders.cnf', kind: 'mycnf', status: 'missing' },
      { path: 'docker-compose.yml', kind: 'compose', status: 'stale' },
    ]);
    // --check changed nothing on disk.
    expect(await readFile(compose, 'utf8')).toMatch(/# hand edit\n$/);
  });

  it('--check goes back to 0 once generate has repaired the files', async () => {
    expect((await dbps('generate', '--out', 'a')).exitCode).toBe(0);
    expect((await dbps('generate', '--out', 'a', '--check')).exitCode).toBe(0);
  });

  it('--only writes just the kinds asked for; an unknown kind is a usage error', async () => {
    const r = await dbps('generate', '--out', 'only', '--only', 'compose,graph');
    expect(r.exitCode).toBe(0);
    expect([...(await tree(path.join(dir, 'only'))).keys()].sort()).toStrictEqual(['docker-compose.yml', 'fleet.md']);
    const bad = await dbps('generate', '--only', 'compose,helm');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('helm');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('dbps generate: files it no longer generates', () => {
  it('removes the files of a server that left services.yaml, --check reports them, and a file of your own stays', async () => {
    const fleetFile = path.join(dir, 'services.yaml');
    const original = await readFile(fleetFile, 'utf8');
    try {
      expect((await dbps('generate', '--out', 'gone')).exitCode).toBe(0);
      // A file of the user's own in dbps's folders: never touched.
      await writeFile(path.join(dir, 'gone', 'mycnf', 'mine.cnf'), '[mysqld]\nport = 1\n');
      await writeFile(path.join(dir, 'gone', 'k8s', 'extra.yaml'), 'kind: ConfigMap\n');
      await writeFile(fleetFile, original.replace(/^ {2}archive: .*\n/m, ''));
      const check = await dbps('--json', 'generate', '--out', 'gone', '--check');
      expect(check.exitCode, check.stderr).toBe(1);
      const result = JSON.parse(check.stdout) as { files: { path: string; status: string }[] };
      expect(result.files.filter((f) => f.status === 'obsolete').map((f) => f.path)).toStrictEqual([
        'mycnf/archive.cnf',
        'k8s/archive.yaml',
      ]);
      const text = await dbps('generate', '--out', 'gone', '--check');
      expect(text.stdout).toMatch(/obsolete\s+gone\/mycnf\/archive\.cnf/);
      // --only limits the check to the kinds it names.
      expect((await dbps('generate', '--out', 'gone', '--check', '--only', 'compose')).exitCode).toBe(1);
      const regen = await dbps('generate', '--out', 'gone');
      expect(regen.exitCode, regen.stderr).toBe(0);
      expect(regen.stdout).toMatch(/removed\s+gone\/mycnf\/archive\.cnf/);
      expect(regen.stdout).toMatch(/, 2 removed in gone\//);
      const files = [...(await tree(path.join(dir, 'gone'))).keys()];
      expect(files).not.toContain('mycnf/archive.cnf');
      expect(files).not.toContain('k8s/archive.yaml');
      expect(files).toEqual(expect.arrayContaining(['mycnf/mine.cnf', 'k8s/extra.yaml']));
      expect((await dbps('generate', '--out', 'gone', '--check')).exitCode).toBe(0);
    } finally {
      await writeFile(fleetFile, original);
    }
  });
});

describe('dbps generate: bad --out, --only and flags', () => {
  it('an --out that is a file, or cannot be created, is a usage error naming the path (never "a bug")', async () => {
    await writeFile(path.join(dir, 'afile'), 'x');
    for (const args of [
      ['generate', '--out', 'afile'],
      ['generate', '--out', 'afile', '--check'],
      ['generate', '--out', 'afile/sub'],
    ]) {
      const r = await dbps(...args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(path.join(dir, 'afile'));
      expect(r.stderr).toContain('not a directory');
      expect(r.stderr).not.toContain('bug');
    }
    // /sys refuses new folders (EPERM); under /proc, Node's recursive mkdir would loop forever.
    for (const out of ['/sys/dbps-cannot-exist', '/proc/dbps-cannot-exist/x']) {
      const r = await dbps('generate', '--out', out, '--only', 'graph');
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain(out);
      expect(r.stderr).not.toContain('bug');
    }
  });

  it('a file in the way inside --out is named, and a write failure is exit 3', async () => {
    await rm(path.join(dir, 'inway'), { recursive: true, force: true });
    const { mkdir, chmod } = await import('node:fs/promises');
    await mkdir(path.join(dir, 'inway'), { recursive: true });
    await writeFile(path.join(dir, 'inway', 'mycnf'), 'a file where a folder belongs');
    const r = await dbps('generate', '--out', 'inway', '--only', 'mycnf');
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(path.join(dir, 'inway', 'mycnf'));
    expect(r.stderr).not.toContain('bug');
    if (process.getuid?.() !== 0) {
      // Root ignores permissions, so this half runs only as another user.
      await mkdir(path.join(dir, 'ro'), { recursive: true });
      await chmod(path.join(dir, 'ro'), 0o500);
      const denied = await dbps('generate', '--out', 'ro', '--only', 'graph');
      await chmod(path.join(dir, 'ro'), 0o700);
      expect(denied.exitCode, denied.stderr).toBe(3);
      expect(denied.stderr).toContain(path.join(dir, 'ro', 'fleet.md'));
    }
  });

  it('--only with no kind, and k8s or ci flags without that output, are usage errors', async () => {
    for (const args of [
      ['--only', ','],
      ['--only', ''],
      ['--only', 'mycnf', '--namespace', 'shop'],
      ['--only', 'compose', '--physical-backups'],
      ['--only', 'k8s', '--ci-install', 'repo'],
    ]) {
      const r = await dbps('generate', '--out', 'usage', ...args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/--only|shapes/);
    }
  });
});
