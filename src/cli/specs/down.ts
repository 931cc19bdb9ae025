import type { CommandSpec } from '../spec.js';

export const downSpec: CommandSpec = {
  name: 'down',
  args: '[service...]',
  summary: 'stop local servers cleanly; --destroy --yes also deletes their data',
  description:
    'Shut down the local servers (all, or those holding the named services) with SHUTDOWN over the admin socket and wait; ' +
    'a server still running after DBPS_STOP_TIMEOUT seconds (default 60) is killed, and `down` says so. External servers ' +
    'are never stopped. --destroy also removes each server directory (datadir, logs, my.cnf); it needs --yes, or an ' +
    'answer on a terminal.',
  writes: true,
  options: [
    { flags: '--destroy', help: 'also delete the datadirs (asks, or needs --yes)' },
    { flags: '--yes', help: 'confirm --destroy without asking' },
  ],
  examples: ['dbps down', 'dbps down orders', 'dbps down --destroy --yes   # start from scratch'],
  exitCodes: {
    0: 'stopped (or nothing was running)',
    2: '--destroy without confirmation, unknown service',
    3: 'a server could not be stopped',
  },
  async run({ args, opts, io }) {
    const { run } = await import('../../commands/down.js');
    const { taskRunner } = await import('../../ui/tasks.js');
    const canAsk = process.stdin.isTTY === true && process.stderr.isTTY === true && !io.opts.json;
    const confirm = canAsk
      ? async (question: string) => {
          const { createInterface } = await import('node:readline/promises');
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          try {
            return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
          } finally {
            rl.close();
          }
        }
      : undefined;
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      services: args,
      destroy: opts.destroy === true,
      yes: opts.yes === true,
      ...(confirm ? { confirm } : {}),
      runJobs: taskRunner(io),
    });
    if (io.opts.json) {
      io.json({ version: 1, ...result });
      for (const w of result.warnings) io.warn(w);
    } else {
      const { downText } = await import('../../ui/render/fleet-runtime.js');
      const text = downText(result, io.paintErr, false);
      if (!io.opts.quiet || result.exitCode !== 0 || result.warnings.length) process.stderr.write(text);
    }
    return result.exitCode;
  },
};
