// Runs the built CLI (node bin/dbps.js) as a child process and captures everything it prints.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// DBPS_TEST_BIN (test-only) points the tests at another build, e.g. an old commit's bin/dbps.js, to show
// that a test fails there.
export const BIN = process.env.DBPS_TEST_BIN
  ? path.resolve(process.env.DBPS_TEST_BIN)
  : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/dbps.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `dbps ...args` in `cwd`; never rejects, the exit code is in the result. */
export function dbps(
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; nodeArgs?: string[] },
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...(opts.nodeArgs ?? []), BIN, ...args],
      { cwd: opts.cwd, env: { ...process.env, NO_COLOR: '1', ...opts.env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}
