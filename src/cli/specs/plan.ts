import type { CommandSpec } from '../spec.js';
import { parseTimeout, TIMEOUT_OPTION } from '../timeout-option.js';

export const planSpec: CommandSpec = {
  name: 'plan',
  args: '[service...]',
  summary: 'show the databases, accounts and grants provision would change',
  description:
    'Compare services.yaml with each server (databases, accounts, exact grants) and list the changes that ' +
    '`dbps provision` would make, with the SQL each runs (passwords masked). Extra privileges on managed accounts ' +
    'show as revokes and an account with a managed user name on a host services.yaml does not declare as a drop ' +
    '(both drift). Other accounts and databases not in services.yaml are reported as orphans. A running local server ' +
    'whose settings differ from the my.cnf services.yaml asks for now (profile or memory changed) is drift too: ' +
    '`dbps up --restart` applies it (--json: settings[]).',
  options: [TIMEOUT_OPTION],
  examples: [
    'dbps plan',
    'dbps plan orders inventory',
    'dbps plan --json   # CI drift check',
    'dbps plan --timeout 5   # give up on a server silent for 5 s',
  ],
  exitCodes: {
    0: 'in sync',
    1: 'changes pending (drift), or settings to apply with `dbps up --restart`',
    2: 'invalid services.yaml or unknown service',
    3: 'a server could not be read or did not answer within --timeout (named; the others are still planned)',
  },
  async run({ args, opts, io }) {
    const timeoutSeconds = parseTimeout(opts.timeout);
    const [{ run }, render, { taskRunner }] = await Promise.all([
      import('../../commands/plan.js'),
      import('../../ui/render/provision.js'),
      import('../../ui/tasks.js'),
    ]);
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      services: args,
      prune: false,
      forceDropData: false,
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
      runner: taskRunner(io, 'silent'),
    });
    if (io.opts.json) io.json(render.provisionJson(result));
    else io.out(render.provisionText(result, io.paint, io.opts.verbose));
    return render.provisionExitCode(result);
  },
};
