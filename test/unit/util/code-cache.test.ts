import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { GLOBAL_OPTIONS } from '../../../src/cli/options.js';
import { cacheName, GLOBAL_VALUE_FLAGS } from '../../../src/util/code-cache.js';

describe('code cache name', () => {
  it('knows every global option that takes a value', () => {
    const withValue = GLOBAL_OPTIONS.filter((o) => o.flags.includes('<')).flatMap((o) =>
      o.flags.split(/[ ,]+/).filter((f) => f.startsWith('-')),
    );
    expect([...GLOBAL_VALUE_FLAGS].sort()).toEqual(withValue.sort());
  });

  it('is the command, past global options and their values', () => {
    expect(cacheName(['node', 'dbps', 'audit-grants', '--json'])).toBe('audit-grants');
    expect(cacheName(['node', 'dbps', '-q', '-f', 'services.yaml', 'provision'])).toBe('provision');
    expect(cacheName(['node', 'dbps', '--state-dir', 'x', '--json', 'status'])).toBe('status');
    expect(cacheName(['node', 'dbps', '--version'])).toBe('cli');
    // Never a path or anything else from the command line in a file name.
    expect(cacheName(['node', 'dbps', '../../etc/x'])).toBe('cli');
  });
});

// runBundle from the build (test/cli and the integration tests run the build too), on a tiny bundle.
describe('code cache of a bundle', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbps-code-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = path.join(dir, 'cli.cjs');
  writeFileSync(
    bundle,
    `exports.main = (argv) => { const f = (n) => n * 2; console.log('ran ' + argv[2] + ' ' + f(21)); process.exitCode = Number(argv[3] ?? 0); };\n`,
  );
  const runner = pathToFileURL(path.resolve('dist/util/code-cache.js')).href;
  const run = (...args: string[]) =>
    spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { runBundle } from ${JSON.stringify(runner)}; runBundle(new URL(${JSON.stringify(pathToFileURL(bundle).href)}), process.argv);`,
        'x',
        ...args,
      ],
      { encoding: 'utf8' },
    );
  const cache = path.join(dir, 'cli.status.cache');

  it('writes the command cache after a normal run and uses it after', () => {
    expect(run('status', '2').stdout).toBe('ran status 42\n');
    expect(existsSync(cache)).toBe(false); // exit 2: not a run worth caching
    expect(run('status').stdout).toBe('ran status 42\n');
    expect(existsSync(cache)).toBe(true);
    const written = statSync(cache).mtimeMs;
    expect(run('status').stdout).toBe('ran status 42\n');
    // Accepted, so not written again.
    expect(statSync(cache).mtimeMs).toBe(written);
  });

  it('never reads a cache that others may write, and replaces it', () => {
    writeFileSync(cache, 'not a code cache');
    chmodSync(cache, 0o666);
    const r = run('status');
    expect(r.stdout).toBe('ran status 42\n');
    expect(r.stderr).toBe('');
    expect(statSync(cache).mode & 0o022).toBe(0);
    expect(readFileSync(cache).toString()).not.toBe('not a code cache');
  });

  it('runs from source when the cache does not match (V8 rejects it)', () => {
    writeFileSync(cache, Buffer.alloc(4096, 7));
    chmodSync(cache, 0o644);
    expect(run('status').stdout).toBe('ran status 42\n');
  });
});
