// dbps generate --only k8s,ci through the built binary: --generate-secrets keeps every password out of
// the generated files, --check catches stale k8s and ci output, and validate rejects name collisions.
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../helpers/fleets.js';
import { fiftyServicesText } from '../helpers/k8s-fleets.js';

let dir: string;
const bin = path.join(repoRoot, 'bin', 'dbps.js');
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa('node', [bin, ...args], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
  return { code: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
}

async function filesUnder(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out.set(path.relative(root, full).split(path.sep).join('/'), await readFile(full, 'utf8'));
  }
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-k8s-'));
  await copyFile(path.join(repoRoot, 'templates', 'ecommerce.yaml'), path.join(dir, 'services.yaml'));
  await writeFile(path.join(dir, 'big.yaml'), fiftyServicesText());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dbps generate --only k8s,ci', () => {
  it('--generate-secrets writes random passwords to a 0600 file and none of them into any generated file', async () => {
    for (const [file, out, secrets] of [
      ['services.yaml', 'out', 'secrets.yaml'],
      ['big.yaml', 'big-out', 'big-secrets.yaml'],
    ] as const) {
      const r = await run(
        '-f',
        file,
        'generate',
        '--only',
        'k8s,ci',
        '--out',
        out,
        '--namespace',
        'shop',
        '--generate-secrets',
        secrets,
      );
      expect(r.code, r.stderr).toBe(0);
      expect((await stat(path.join(dir, secrets))).mode & 0o777).toBe(0o600);
      const docs = parseAllDocuments(await readFile(path.join(dir, secrets), 'utf8')).map(
        (d) => d.toJS() as { metadata: { name: string }; stringData: { password: string } },
      );
      const passwords = docs.map((d) => d.stringData.password);
      expect(passwords.length).toBeGreaterThan(file === 'big.yaml' ? 150 : 15);
      expect(new Set(passwords).size).toBe(passwords.length);
      for (const p of passwords) expect(p).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const generated = await filesUnder(path.join(dir, out));
      expect([...generated.keys()]).toContain('.github/workflows/dbps.yml');
      // Every Secret of the manifests has its password in the file, and no manifest holds one.
      const manifestSecrets = [...generated.values()].flatMap((text) =>
        parseAllDocuments(text)
          .map((d) => d.toJS() as { kind?: string; metadata?: { name: string } } | null)
          .filter((d) => d?.kind === 'Secret')
          .map((d) => d!.metadata!.name),
      );
      expect(new Set(docs.map((d) => d.metadata.name))).toStrictEqual(
        new Set(manifestSecrets.filter((n) => !n.endsWith('-root'))),
      );
      for (const [name, text] of generated)
        for (const p of passwords) expect(text.includes(p), `${name} holds a password`).toBe(false);
      for (const p of passwords) expect(r.stdout + r.stderr).not.toContain(p);
    }
  });

  it('refuses to overwrite an existing secrets file (it may hold the passwords in use)', async () => {
    const r = await run(
      'generate',
      '--only',
      'k8s',
      '--out',
      'out',
      '--namespace',
      'shop',
      '--generate-secrets',
      'secrets.yaml',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('already exists');
  });

  it('--check exits 0 when fresh, 1 when a k8s or ci file is stale or missing or the flags differ', async () => {
    const fresh = await run('generate', '--only', 'k8s,ci', '--out', 'out', '--namespace', 'shop', '--check');
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);

    const orders = path.join(dir, 'out', 'k8s', 'orders.yaml');
    await writeFile(orders, (await readFile(orders, 'utf8')).replace('cleanupPolicy: Skip', 'cleanupPolicy: Delete'));
    await unlink(path.join(dir, 'out', '.github', 'workflows', 'dbps.yml'));
    const stale = await run('--json', 'generate', '--only', 'k8s,ci', '--out', 'out', '--namespace', 'shop', '--check');
    expect(stale.code).toBe(1);
    const result = JSON.parse(stale.stdout) as { files: { path: string; kind: string; status: string }[] };
    expect(result.files.filter((f) => f.status !== 'unchanged')).toStrictEqual([
      { path: 'k8s/orders.yaml', kind: 'k8s', status: 'stale' },
      { path: '.github/workflows/dbps.yml', kind: 'ci', status: 'missing' },
    ]);

    expect((await run('generate', '--only', 'k8s,ci', '--out', 'out', '--namespace', 'shop')).code).toBe(0);
    expect((await run('generate', '--only', 'k8s,ci', '--out', 'out', '--namespace', 'shop', '--check')).code).toBe(0);
    // Other flags produce other manifests, so the check is stale (the workflow records the flags).
    const otherFlags = await run(
      'generate',
      '--only',
      'k8s',
      '--out',
      'out',
      '--namespace',
      'shop',
      '--physical-backups',
      '--check',
    );
    expect(otherFlags.code).toBe(1); // the template schedules backups: PhysicalBackup instead of Backup
    const otherNs = await run('generate', '--only', 'k8s', '--out', 'out', '--namespace', 'other', '--check');
    expect(otherNs.code).toBe(1);
  });

  it('a bad --namespace, or --generate-secrets without k8s, is a usage error', async () => {
    expect((await run('generate', '--only', 'k8s', '--namespace', 'Bad_NS', '--check')).code).toBe(2);
    const noK8s = await run('generate', '--only', 'ci', '--generate-secrets', 'x.yaml');
    expect(noK8s.code).toBe(2);
    expect(noK8s.stderr).toContain('--only');
  });

  it('validate reports a Kubernetes name collision with file:line:col and exit 2', async () => {
    await writeFile(
      path.join(dir, 'clash.yaml'),
      'version: 1\nfleet: t\nservices:\n  order_svc: {}\n  order-svc: { users: [ { name: other_app, role: app } ] }\n',
    );
    const r = await run('-f', 'clash.yaml', 'validate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/clash\.yaml:5:3: .*Kubernetes .* name "order-svc"/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("the workflow's own `generate --check` line, run as written, finds the generated files up to date", async () => {
    const cases: { name: string; args: string[]; pkg?: boolean; files: number }[] = [
      { name: 'only-k8s-ci', args: ['--only', 'k8s,ci', '--out', '.', '--namespace', 'shop'], files: 9 },
      { name: 'all', args: ['--out', 'generated', '--physical-backups', '--operator-metrics'], files: 0 },
      { name: 'repo-install', args: ['--only', 'ci,mycnf', '--out', 'deploy'], pkg: true, files: 7 },
    ];
    for (const c of cases) {
      const root = path.join(dir, 'wf', c.name);
      await mkdir(root, { recursive: true });
      await copyFile(path.join(repoRoot, 'templates', 'ecommerce.yaml'), path.join(root, 'services.yaml'));
      if (c.pkg) {
        await writeFile(path.join(root, 'package.json'), '{ "devDependencies": { "dbps": "^0.1.0" } }\n');
        await writeFile(path.join(root, 'package-lock.json'), '{}\n');
      }
      const gen = await execa('node', [bin, 'generate', ...c.args], {
        cwd: root,
        reject: false,
        env: { NO_COLOR: '1' },
      });
      expect(gen.exitCode, gen.stderr).toBe(0);
      const out = c.args[c.args.indexOf('--out') + 1]!;
      const workflow = parse(await readFile(path.join(root, out, '.github', 'workflows', 'dbps.yml'), 'utf8')) as {
        jobs: { dbps: { steps: { name?: string; run?: string }[] } };
      };
      const steps = workflow.jobs.dbps.steps;
      const check = steps.find((s) => s.run?.startsWith('dbps generate'))!.run!;
      const words = shellWords(check);
      expect(words.slice(0, 2)).toStrictEqual(['dbps', 'generate']);
      const r = await execa('node', [bin, ...words.slice(1)], { cwd: root, reject: false, env: { NO_COLOR: '1' } });
      expect(r.exitCode, `${c.name}: ${check}\n${r.stdout}${r.stderr}`).toBe(0);
      if (c.files) expect(r.stdout).toContain(`all ${c.files} generated files are up to date`);
      const install = steps.find((s) => s.name?.startsWith('Install dbps'))!.run!;
      if (c.pkg) {
        expect(install).toContain('npm ci');
        expect(check).toContain('--ci-install repo');
      } else {
        // No --ci-install and no package.json listing dbps: the step fails with the fix (dbps is on no registry).
        expect(install).toMatch(/^echo "::error::.*--ci-install.*\nexit 1\n$/);
        expect(check).not.toContain('--ci-install');
        expect(gen.stderr).toContain('note: the CI workflow does not say where dbps comes from');
      }
    }
  });

  it('--generate-secrets refuses a file inside --out or inside a git work tree unless git ignores it', async () => {
    const root = path.join(dir, 'repo');
    await mkdir(root, { recursive: true });
    await copyFile(path.join(repoRoot, 'templates', 'ecommerce.yaml'), path.join(root, 'services.yaml'));
    const gen = (...args: string[]) =>
      execa('node', [bin, 'generate', '--only', 'k8s', '--out', 'gen', ...args], {
        cwd: root,
        reject: false,
        env: { NO_COLOR: '1' },
      });
    const inOut = await gen('--generate-secrets', 'gen/secrets.yaml');
    expect(inOut.exitCode, inOut.stderr).toBe(2);
    expect(inOut.stderr).toContain('inside the output directory');
    await expect(stat(path.join(root, 'gen', 'secrets.yaml'))).rejects.toThrow();
    const git = await execa('git', ['init', '-q', '.'], { cwd: root, reject: false });
    if (git.exitCode !== 0) return; // no git here: only the --out rule applies
    await mkdir(path.join(root, 'secrets'));
    const tracked = await gen('--generate-secrets', 'secrets/shop.yaml');
    expect(tracked.exitCode, tracked.stderr).toBe(2);
    expect(tracked.stderr).toMatch(/inside the git work tree .* not ignored by git/);
    await writeFile(path.join(root, '.gitignore'), 'secrets/\n');
    const noFolder = await gen('--generate-secrets', 'nowhere/shop.yaml');
    expect(noFolder.exitCode, noFolder.stderr).toBe(2);
    expect(noFolder.stderr).toContain('does not exist');
    const ok = await gen('--generate-secrets', 'secrets/shop.yaml');
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect((await stat(path.join(root, 'secrets', 'shop.yaml'))).mode & 0o777).toBe(0o600);
  });
});

/** Splits a command line the way bash would for the words the workflow writes (plain and '...' quoted). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g))
    words.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!);
  return words;
}
