// The README's Install: `npm pack` + `npm install --global` of the tarball puts a working `dbps` on
// PATH. Packed from this checkout (already built), installed into a temporary prefix (dependencies
// from the npm cache where it has them), then run from a directory that is not the clone.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/fleets.js';

const run = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

let tmp: string;
let prefix: string;
let work: string;
let tarball: string;
// PATH with the prefix's bin first and no node_modules/.bin of the clone: `dbps` must come from the install.
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbps-install-'));
  prefix = path.join(tmp, 'prefix');
  work = path.join(tmp, 'elsewhere', 'shop');
  await mkdir(work, { recursive: true });
  // --ignore-scripts: the checkout is already built (pretest); `prepare` would build it again.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
    cwd: repoRoot,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [info] = JSON.parse(packed.stdout) as { filename: string }[];
  tarball = path.join(tmp, info!.filename);
  await run(
    'npm',
    ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
    { cwd: tmp, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const pathDirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => !d.includes('node_modules'));
  env = { ...process.env, PATH: [path.join(prefix, 'bin'), ...pathDirs].join(path.delimiter), NO_COLOR: '1' };
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('installed from the packed tarball', () => {
  it('the tarball is dbps-<version>.tgz and the install puts bin/dbps in the prefix', () => {
    expect(path.basename(tarball)).toBe(`dbps-${VERSION}.tgz`);
    expect(existsSync(path.join(prefix, 'bin', 'dbps'))).toBe(true);
  });

  it('`dbps --version` on PATH prints the package version, from a directory outside the clone', async () => {
    const r = await run('dbps', ['--version'], { cwd: work, env });
    expect(r.stdout.trim()).toContain(VERSION);
    // The command is a shell launcher linked into the prefix's bin: it finds bin/dbps.js through the
    // link, passes every argument as it is, and moves NODE_EXTRA_CA_CERTS past node's start.
    const extra = await run('dbps', ['-f', path.join(work, 'no such dir', 'services.yaml'), 'validate'], {
      cwd: work,
      env: { ...env, NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' },
    }).then(
      (ok) => ({ code: 0, stderr: ok.stderr }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('no such dir');
  });

  it('`dbps init` writes a services.yaml whose $schema resolves to the installed schema file', async () => {
    await run('dbps', ['init'], { cwd: work, env });
    const text = readFileSync(path.join(work, 'services.yaml'), 'utf8');
    const ref = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text)?.[1];
    expect(ref).toBeDefined();
    const target = path.resolve(work, ref!);
    expect(existsSync(target), `${ref} → ${target}`).toBe(true);
    // The installed copy, not the clone's.
    expect(target.startsWith(prefix)).toBe(true);
    expect(JSON.parse(readFileSync(target, 'utf8'))).toMatchObject({ title: expect.any(String) });
    const valid = await run('dbps', ['validate'], { cwd: work, env });
    expect(valid.stdout).toMatch(/^valid: /);
  });
});
