// Loaded with `node --import` in tests: records the argv of every child process the CLI starts
// (to prove no password is ever passed on a command line) into $DBPS_ARGV_LOG.
import cp from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { promisify } from 'node:util';

const log = process.env.DBPS_ARGV_LOG;
const record = (args) => {
  if (log) appendFileSync(log, `${JSON.stringify(args.filter((a) => typeof a === 'string' || Array.isArray(a)))}\n`);
};
for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork']) {
  const original = cp[name];
  const recorded = function recorded(...args) {
    record(args);
    return original.apply(this, args);
  };
  // promisify(execFile) resolves { stdout, stderr } only through the original's custom form; keep it.
  const custom = original[promisify.custom];
  if (custom) {
    recorded[promisify.custom] = function recordedPromise(...args) {
      record(args);
      return custom.apply(this, args);
    };
  }
  cp[name] = recorded;
}
syncBuiltinESMExports();
