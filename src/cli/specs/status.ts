import type { CommandSpec } from '../spec.js';
import { parseTimeout, TIMEOUT_OPTION } from '../timeout-option.js';

export const statusSpec: CommandSpec = {
  name: 'status',
  args: '[service...]',
  summary: 'state and health of every server: running, stopped, crashed or unreachable',
  description:
    'Probe every server (local ones through their pid and socket, external ones over the network; nothing is assumed): ' +
    'driver, services, host, port, socket, pid, state, version, uptime and threads connected, then per service its ' +
    "active queries, threads connected and the server's buffer pool reads. `crashed` means a pid file without its " +
    'process, or a process that does not answer. Exits 3 when a server that should run (started by `up` and not stopped ' +
    'by `down`, or external) does not. A running local server whose settings differ from what services.yaml asks for now ' +
    '(profile or memory changed) is listed with those settings and `dbps up --restart <server>`; that is no failure (exit 0), ' +
    'and --json carries it as servers[].settingsDrift.',
  options: [
    { flags: '--wide', help: 'every column in full (threads, socket, all service names), however wide' },
    TIMEOUT_OPTION,
  ],
  examples: [
    'dbps status',
    'dbps status orders',
    'dbps status --wide',
    'dbps --json status | jq ".servers[].state"',
    'dbps status --timeout 3',
  ],
  exitCodes: {
    0: 'every server that should run is running',
    2: 'invalid services.yaml or unknown service',
    3: 'a server that should run is stopped, crashed or unreachable, or its restore was interrupted (run `dbps restore --resume` or `--rollback`)',
  },
  async run({ args, opts, io }) {
    const { run } = await import('../../commands/status.js');
    const timeoutSeconds = parseTimeout(opts.timeout);
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      services: args,
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    });
    if (io.opts.json) {
      io.json({ version: 1, ...result });
    } else {
      const { statusText } = await import('../../ui/render/fleet-runtime.js');
      const width = process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : undefined;
      io.out(statusText(result, io.paint, { wide: opts.wide === true, ...(width ? { width } : {}) }));
    }
    return result.outcome === 'ok' ? 0 : 3;
  },
};
