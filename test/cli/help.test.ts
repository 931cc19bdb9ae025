// `dbps --help`, every command's --help and `dbps --version`, through the built binary.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/registry.js';
import { repoRoot } from '../helpers/fleets.js';

const bin = path.join(repoRoot, 'bin', 'dbps.js');
const dbps = (...args: string[]) => execa('node', [bin, ...args], { reject: false, env: { NO_COLOR: '1' } });

describe('help and version', () => {
  it('dbps --help lists every command, shows examples and the exit codes', async () => {
    const r = await dbps('--help');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/\nExamples:\n {2}\$ dbps /);
    expect(r.stdout).toMatch(/Exit codes:\n {2}0 /);
    for (const spec of COMMANDS) expect(r.stdout).toMatch(new RegExp(`\\n {2}${spec.name}\\b`));
  });

  it('registers commands at all (the per-command checks below are not vacuous)', () => {
    expect(COMMANDS.map((c) => c.name)).toEqual(expect.arrayContaining(['init', 'validate', 'generate']));
  });

  for (const spec of COMMANDS) {
    it(`dbps ${spec.name} --help shows its examples and exit codes`, async () => {
      expect(spec.examples.length).toBeGreaterThan(0);
      const r = await dbps(spec.name, '--help');
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('\nExamples:\n');
      for (const example of spec.examples) expect(r.stdout).toContain(`  $ ${example}`);
      expect(r.stdout).toContain('\nExit codes:\n');
      for (const code of Object.keys(spec.exitCodes)) expect(r.stdout).toMatch(new RegExp(`\\n {2}${code} {2}\\S`));
    });
  }

  it('dbps --version prints the package version and nothing else', async () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await dbps(flag);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(pkg.version);
      expect(r.stderr).toBe('');
    }
  });
});
