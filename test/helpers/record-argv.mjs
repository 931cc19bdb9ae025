// Loaded with `node --import` in tests: records the argv of every child process the CLI starts
// (to prove no password is ever passed on a command line) into $DBPS_ARGV_LOG.
import cp from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const log = process.env.DBPS_ARGV_LOG;
for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork']) {
  const original = cp[name];
  cp[name] = function recorded(...args) {
    if (log) appendFileSync(log, `${JSON.stringify(args.filter((a) => typeof a === 'string' || Array.isArray(a)))}\n`);
    return original.apply(this, args);
  };
}
syncBuiltinESMExports();
