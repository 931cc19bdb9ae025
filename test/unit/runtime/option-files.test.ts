// The 0600 option files that carry passwords to child processes never outlive dbps: not after a normal
// exit without cleanup, not after SIGTERM/SIGHUP/SIGINT. Runs the built module in a child process.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/fleets.js';

const mod = pathToFileURL(path.join(repoRoot, 'dist/runtime/client-defaults.js')).href;
const runDir = pathToFileURL(path.join(repoRoot, 'dist/runtime/run-dir.js')).href;
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'dbps-optfiles-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));
const prelude = `
    const { writeOptionFile, removeOptionFilesOnSignals } = await import(${JSON.stringify(mod)});
    (await import(${JSON.stringify(runDir)})).useRunDir(${JSON.stringify(stateDir)});
    removeOptionFilesOnSignals();
    const f = await writeOptionFile('[client]\\npassword="s3cret"\\n');
    process.stdout.write(f.path + '\\n');
`;

function child(ending: string): Promise<{ file: string; code: number | null; signal: NodeJS.Signals | null }> {
  const script = `${prelude}
    ${ending}
  `;
  const p = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((resolve, reject) => {
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => resolve({ file: out.trim(), code, signal }));
  });
}

describe('temporary option files', () => {
  it('are removed when the process exits without cleaning up', async () => {
    const r = await child('process.exit(0);');
    expect(r.file).toMatch(/client-\d+\.cnf$/);
    // Under the state dir's private run dir, never in a shared temp directory.
    expect(r.file.startsWith(path.join(stateDir, 'run') + path.sep)).toBe(true);
    expect(existsSync(r.file)).toBe(false);
    expect(existsSync(path.dirname(r.file))).toBe(false);
  });

  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
    ['SIGINT', 130],
  ] as const) {
    it(`are removed when ${sig} ends the process, which exits ${code}`, async () => {
      const script = `${prelude}
        setInterval(() => {}, 1000);
      `;
      const p = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const file = await new Promise<string>((resolve) => {
        let out = '';
        p.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.trim());
        });
      });
      expect(existsSync(file)).toBe(true);
      const exited = new Promise<number | null>((resolve) => p.on('exit', (c) => resolve(c)));
      p.kill(sig);
      expect(await exited).toBe(code);
      expect(existsSync(path.dirname(file))).toBe(false);
    });
  }
});
