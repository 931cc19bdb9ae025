import type { CommandSpec } from '../spec.js';

export const moveSpec: CommandSpec = {
  name: 'move',
  args: '<service>',
  summary: "move a service's data to where services.yaml now puts it (another server, its own instance, a new name)",
  description:
    'services.yaml says where each service lives. After you change that (`server: shared` added or removed, another ' +
    'server, or the service renamed), `dbps plan` says "moved: run `dbps move <service>`", and this command moves the ' +
    'data there: a consistent snapshot (mariadb-dump --single-transaction, with its binlog position) loaded into the ' +
    "new server, a catch-up from the old server's binlog (that database's events only) until the lag is under a " +
    "second, then a short cut-over: the service's accounts on the old server are locked and their connections ended " +
    '(open transactions get --grace to finish), the last events are applied, and the accounts are provisioned on the ' +
    'new server with the same passwords. The write pause the service saw is reported. The old copy stays, read-only ' +
    'for those accounts, until `dbps move <service> --finish --yes` drops it. A move that fails leaves the old server ' +
    'writable and intact; run it again. For a rename, name the old service and the new one: `dbps move <old> --to ' +
    '<new>` (the database name follows the service). --to otherwise only checks that services.yaml says the same ' +
    '(`own` = its own instance). The new server must be running (`dbps up <service>`); between two servers the new one ' +
    "connects to the old one's port with a temporary replication account (REPLICATION SLAVE only, dropped afterwards).",
  writes: true,
  options: [
    {
      flags: '--to <server|own|service>',
      help: 'where services.yaml puts it (a check), or the new name after a rename',
    },
    { flags: '--finish', help: 'drop the old read-only copy after a move (needs --yes)' },
    { flags: '--yes', help: 'confirm --finish, which drops data' },
    {
      flags: '--grace <ms>',
      help: 'how long open transactions on the old server may finish at the cut-over',
      defaultValue: '1000',
    },
  ],
  examples: [
    'dbps move inventory                 # services.yaml now gives inventory its own instance',
    'dbps move inventory --to own        # the same, checking that services.yaml says so',
    'dbps move inventory --to shared     # back onto the shared server (after adding `server: shared`)',
    'dbps move search --to finder        # search was renamed finder: its data and database follow',
    'dbps move inventory --finish --yes  # drop the old read-only copy',
  ],
  exitCodes: {
    0: 'moved (or the old copy dropped)',
    2: 'unknown service, services.yaml disagrees with --to, nothing to move, --finish without --yes',
    3: 'a server unreachable, copy or catch-up failed (the old server is left writable and intact)',
  },
  async run({ args, opts, io }) {
    const [{ run }, { moveText }] = await Promise.all([
      import('../../commands/move.js'),
      import('../../ui/render/move.js'),
    ]);
    const grace = Number(opts.grace);
    if (!Number.isInteger(grace) || grace < 0 || grace > 600_000) {
      const { UsageError } = await import('../../errors.js');
      throw new UsageError(`--grace ${String(opts.grace)} is not a number of milliseconds between 0 and 600000`);
    }
    const timeout = process.env.DBPS_MOVE_TIMEOUT ? Number(process.env.DBPS_MOVE_TIMEOUT) * 1000 : undefined;
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      name: args[0]!,
      ...(typeof opts.to === 'string' ? { to: opts.to } : {}),
      finish: opts.finish === true,
      yes: opts.yes === true,
      graceMs: grace,
      ...(timeout && Number.isFinite(timeout) && timeout > 0 ? { catchUpTimeoutMs: timeout } : {}),
      onProgress: (t) => io.info(`move: ${t}`),
    });
    for (const w of result.warnings) io.warn(w);
    if (io.opts.json) io.json({ version: 1, ...result });
    else io.out(moveText(result));
    return 0;
  },
};
