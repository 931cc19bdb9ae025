import type { CommandSpec } from '../spec.js';

export const upSpec: CommandSpec = {
  name: 'up',
  args: '[service...]',
  summary: 'start the fleet on this machine: a mariadbd per local server (no Docker)',
  description:
    'Start a real mariadbd for every local server that is not running (all of them, or those holding the named services): ' +
    'its datadir is created on first use (mariadb-install-db), its my.cnf comes from the profile for the installed mariadbd ' +
    '(a note says so when services.yaml declares another version), it listens on 127.0.0.1 on ' +
    'its `port:` or a port allocated from defaults.basePort (kept in .dbps/state.json) and on a Unix socket, and dbps ' +
    'administers it over that socket as the OS user running `up`. External servers are only checked. Servers start in ' +
    'parallel; running ones are left alone, crashed ones are restarted (InnoDB recovers committed work). ' +
    'A running server whose settings differ from services.yaml (profile or memory changed) is named with its settings; ' +
    '--restart applies them: my.cnf is rewritten, settings MariaDB changes at run time are set with SET GLOBAL, and ' +
    'any other change takes a clean shutdown and start. ' +
    'Env: DBPS_MEMORY_SCALE (as --memory-scale), DBPS_START_TIMEOUT (seconds, default 120), DBPS_MARIADB_BINDIR.',
  writes: true,
  options: [
    {
      flags: '--memory-scale <factor>',
      help: "multiply every local server's memory, e.g. 0.25 on a laptop (min 128M per server; env DBPS_MEMORY_SCALE)",
    },
    {
      flags: '--restart',
      help: 'apply changed settings to running servers: SET GLOBAL where MariaDB allows it, else a clean restart',
    },
  ],
  examples: [
    'dbps up',
    'dbps up orders inventory',
    'dbps up --memory-scale 0.1   # laptop / CI',
    'dbps up --restart shared     # apply a new profile or memory to a running server',
    'dbps --json up',
  ],
  exitCodes: {
    0: 'every selected server runs (or external server answers); settings still to apply are named, not a failure',
    2: 'invalid services.yaml, unknown service or bad option',
    3: 'a server failed to start, a port is taken, a program is missing',
  },
  async run({ args, opts, io }) {
    const { run, parseMemoryScale } = await import('../../commands/up.js');
    const { taskRunner } = await import('../../ui/tasks.js');
    const memoryScale = parseMemoryScale(opts.memoryScale as string | undefined, process.env);
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      services: args,
      memoryScale,
      memoryScaleExplicit: opts.memoryScale !== undefined || Boolean(process.env.DBPS_MEMORY_SCALE),
      restart: opts.restart === true,
      runJobs: taskRunner(io),
    });
    if (io.opts.json) {
      io.json({ version: 1, ...result });
    } else {
      const { upText } = await import('../../ui/render/fleet-runtime.js');
      const text = upText(result, io.paintErr, false);
      // Under -q only failures are worth printing.
      if (!io.opts.quiet || result.exitCode !== 0) process.stderr.write(text);
    }
    return result.exitCode;
  },
};
