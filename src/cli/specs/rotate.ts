import type { CommandSpec } from '../spec.js';
import { parseTimeout, TIMEOUT_OPTION } from '../timeout-option.js';

export const rotateSpec: CommandSpec = {
  name: 'rotate',
  args: '<service>',
  summary: "change a service's password without downtime: add a new one, redeploy, then --finish",
  description:
    "Rotate the passwords of a service's accounts (or --user's) in two steps. The first adds a new password beside " +
    'the old one: both log in, secrets.env and `dbps env` give the new one (a passwordEnv account takes the ' +
    "variable's new value). Redeploy the service's instances at their pace, then `--finish` drops the old password. " +
    'The server does not record which password a session used, so --finish counts the sessions of the account opened ' +
    'before the first step (instances not redeployed) and refuses while any remain, unless --force; open sessions go ' +
    'on either way. `provision` leaves an account mid-rotation alone; audit-grants reports a rotation unfinished after ' +
    'defaults.rotationMaxAge days (default 7). No password is printed or passed to another program.',
  writes: true,
  options: [
    { flags: '--user <name>', help: "only this account of the service (default: all of the service's accounts)" },
    { flags: '--finish', help: 'drop the old password (refused while sessions opened before the first step remain)' },
    { flags: '--force', help: 'with --finish: drop it even while such sessions remain (they stay open)' },
    TIMEOUT_OPTION,
  ],
  examples: [
    'dbps rotate orders                      # both passwords log in now',
    'dbps env orders > .env.orders           # the new password, for the redeploy',
    'dbps rotate orders --finish             # after every instance was redeployed',
    'dbps rotate orders --user orders_migrator',
    'export ORDERS_PWD=new-value && dbps rotate orders   # a passwordEnv account',
  ],
  exitCodes: {
    0: 'step done (or nothing to do)',
    2: 'unknown service or account, --force without --finish, passwordEnv unset or unchanged, invalid services.yaml',
    3: 'the server failed or did not answer in time, or --finish found sessions opened before the rotation (named)',
  },
  async run({ args, opts, io }) {
    const { UsageError } = await import('../../errors.js');
    if (opts.force === true && opts.finish !== true)
      throw new UsageError('--force only acts with --finish', {
        hint: `dbps rotate ${args[0] ?? '<service>'} --finish --force`,
      });
    const timeoutSeconds = parseTimeout(opts.timeout);
    const [{ run, rotateExitCode }, { rotateText }] = await Promise.all([
      import('../../commands/rotate.js'),
      import('../../ui/render/rotate.js'),
    ]);
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      service: args[0]!,
      ...(typeof opts.user === 'string' ? { user: opts.user } : {}),
      finish: opts.finish === true,
      force: opts.force === true,
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    });
    if (io.opts.json) io.json({ version: 1, ...result });
    else io.out(rotateText(result, io.paint));
    return rotateExitCode(result);
  },
};
