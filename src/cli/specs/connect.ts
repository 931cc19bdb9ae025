import type { CommandSpec } from '../spec.js';

export const connectSpec: CommandSpec = {
  name: 'connect',
  args: '<service>',
  summary: "open the mariadb client on a service's database, as one of its accounts or as admin",
  description:
    "Run the `mariadb` client on the service's own database as its `app` account (password from its passwordEnv or " +
    '.dbps/secrets.env, written by `dbps provision`), as another of its accounts (--user), or as the admin of its ' +
    "server (--admin: works before provisioning; no default database until the service's database exists). " +
    "Credentials travel in a temporary 0600 option file, never on the command line. The client's exit code is returned. " +
    'With --json, -e is required and runs through the connector instead: one JSON document with the columns and rows ' +
    '(or affected rows) of each statement; a failed statement is a JSON error, exit 1.',
  options: [
    {
      flags: '--user <name>',
      help: "one of the service's accounts, dbps_backup or dbps_monitor (default: its app account)",
    },
    { flags: '--admin', help: "the server's admin access instead of a service account" },
    { flags: '-e, --execute <sql>', help: 'run SQL and exit instead of an interactive session' },
  ],
  examples: [
    'dbps connect orders',
    'dbps connect orders --user orders_migrator',
    "dbps connect orders --user dbps_monitor -e 'SHOW GLOBAL STATUS'",
    "dbps connect inventory --admin -e 'SHOW PROCESSLIST'",
    "dbps --json connect orders -e 'SELECT id, total FROM orders LIMIT 10'",
  ],
  exitCodes: {
    0: 'the client exited 0',
    1: 'the client failed (its own exit code passes through); with --json, a statement failed',
    2: 'unknown service or account, bad option',
    3: 'server not running or unreachable, no password yet, client missing',
  },
  async run({ args, opts, io }) {
    const { run } = await import('../../commands/connect.js');
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      service: args[0]!,
      ...(typeof opts.user === 'string' ? { user: opts.user } : {}),
      admin: opts.admin === true,
      ...(typeof opts.execute === 'string' ? { execute: opts.execute } : {}),
      json: io.opts.json,
    });
    if (io.opts.json) io.json({ version: 1, ...result });
    return result.exitCode;
  },
};
