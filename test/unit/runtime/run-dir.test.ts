// The run dir under the state dir: what a dbps killed with SIGKILL left there (children still
// running, scratch directories) is ended and removed by the next start; live processes keep theirs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processStartTime } from '../../../src/runtime/process-start.js';
import { privateDir, useRunDir } from '../../../src/runtime/run-dir.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'dbps-rundir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

describe('run dir sweep', () => {
  it('kills the children and removes the scratch dirs of a dead dbps, and keeps a live one', async () => {
    const state = path.join(root, 'state');
    const run = path.join(state, 'run');
    const deadPid = spawnSync('true').pid!;
    const orphan = spawn('sleep', ['300'], { stdio: 'ignore' });
    await new Promise((r) => orphan.once('spawn', r));
    const dead = path.join(run, `${deadPid}-1`);
    mkdirSync(dead, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dead, 'client-1.cnf'), '[client]\npassword="x"\n', { mode: 0o600 });
    writeFileSync(
      path.join(dead, `child-${orphan.pid}`),
      JSON.stringify({ pid: orphan.pid, start: processStartTime(orphan.pid!) }),
    );
    const scratch = path.join(root, 'verify-copy');
    mkdirSync(scratch);
    writeFileSync(path.join(dead, `dir-${Buffer.from(scratch).toString('base64url')}`), scratch);
    const live = path.join(run, `${process.ppid}-${processStartTime(process.ppid)}`);
    mkdirSync(live, { mode: 0o700 });

    const exited = new Promise((r) => orphan.once('exit', r));
    useRunDir(state);
    await exited;
    expect(alive(orphan.pid!)).toBe(false);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(scratch)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('does not kill a reused pid (a record whose start time differs)', async () => {
    const state = path.join(root, 'state2');
    const deadPid = spawnSync('true').pid!;
    const other = spawn('sleep', ['300'], { stdio: 'ignore' });
    await new Promise((r) => other.once('spawn', r));
    const dead = path.join(state, 'run', `${deadPid}-1`);
    mkdirSync(dead, { recursive: true });
    writeFileSync(path.join(dead, `child-${other.pid}`), JSON.stringify({ pid: other.pid, start: '1' }));
    useRunDir(state);
    expect(alive(other.pid!)).toBe(true);
    other.kill('SIGKILL');
  });

  it('refuses a symlinked or shared directory', () => {
    const target = mkdtempSync(path.join(root, 'elsewhere-'));
    const link = path.join(root, 'link');
    symlinkSync(target, link);
    expect(() => privateDir(link)).toThrow(/symlink/);
    const open = path.join(root, 'open');
    mkdirSync(open, { mode: 0o777 });
    spawnSync('chmod', ['777', open]);
    expect(() => privateDir(open)).toThrow(/mode 777/);
  });
});
