import type { CommandSpec } from '../spec.js';
import { parseTimeout, TIMEOUT_OPTION } from '../timeout-option.js';

export const provisionSpec: CommandSpec = {
  name: 'provision',
  args: '[service...]',
  summary: 'create databases, accounts and least-privilege grants; repair drift',
  description:
    'Converge every selected server to services.yaml: databases, accounts (passwords from passwordEnv or generated ' +
    'into <state-dir>/secrets.env), exact grants per role, outbox tables. Extra privileges on managed accounts are ' +
    'revoked, and an account with a managed user name on a host services.yaml does not declare is dropped. ' +
    'Servers are provisioned in parallel, each under the server-side lock dbps_provision. Other accounts and ' +
    'databases not in services.yaml are only reported, unless --prune --yes (a database holding tables also needs ' +
    '--force-drop-data).',
  writes: true,
  options: [
    { flags: '--dry-run', help: 'show the plan, change nothing (same as `dbps plan`)' },
    { flags: '--prune', help: 'also drop accounts and databases that are not in services.yaml (needs --yes)' },
    { flags: '--yes', help: 'confirm --prune' },
    { flags: '--force-drop-data', help: 'with --prune, drop orphan databases even when they hold tables' },
    {
      flags: '--lock-timeout <seconds>',
      help: 'wait this long for another provision on the same server',
      defaultValue: '60',
    },
    TIMEOUT_OPTION,
  ],
  examples: [
    'dbps provision',
    'dbps provision orders',
    'dbps provision --dry-run',
    'dbps provision --prune --yes',
    'dbps provision --timeout 120   # a slow link: wait up to 2 min per statement',
  ],
  exitCodes: {
    0: 'converged (or nothing to do)',
    1: 'changes pending (--dry-run)',
    2: 'invalid services.yaml, unknown service, --prune without --yes, --force-drop-data without --prune',
    3: 'a server or a change failed, or a server did not answer within --timeout (named, with what was applied; the rest of the fleet is still converged; run again to converge)',
  },
  async run({ args, opts, io }) {
    const { UsageError } = await import('../../errors.js');
    const timeoutSeconds = parseTimeout(opts.timeout);
    const lockTimeout = Number(opts.lockTimeout);
    if (!Number.isInteger(lockTimeout) || lockTimeout < 0)
      throw new UsageError(`--lock-timeout: "${String(opts.lockTimeout)}" is not a whole number of seconds`);
    if (opts.forceDropData === true && opts.prune !== true)
      throw new UsageError('--force-drop-data only acts with --prune', {
        hint: 'dbps provision --prune --force-drop-data --yes (drops orphan databases that hold tables)',
      });
    const [{ run }, render, { taskRunner }] = await Promise.all([
      import('../../commands/provision.js'),
      import('../../ui/render/provision.js'),
      import('../../ui/tasks.js'),
    ]);
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      services: args,
      dryRun: opts.dryRun === true,
      prune: opts.prune === true,
      yes: opts.yes === true,
      forceDropData: opts.forceDropData === true,
      lockTimeoutSeconds: lockTimeout,
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
      runner: taskRunner(io),
    });
    if (io.opts.json) io.json(render.provisionJson(result));
    else io.out(render.provisionText(result, io.paint, io.opts.verbose));
    return render.provisionExitCode(result);
  },
};
