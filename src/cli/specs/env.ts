import type { CommandSpec } from '../spec.js';

const FORMATS = ['dotenv', 'url', 'json'] as const;

export const envSpec: CommandSpec = {
  name: 'env',
  args: '<service>',
  summary: "print a service's connection: DATABASE_URL, DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD, DB_SOCKET",
  description:
    "Print the connection of one of the service's accounts (default its `app` account; --user picks another, or the " +
    "server's dbps_backup / dbps_monitor) for the application, its migration tool, docker compose or a Kubernetes " +
    'Secret. DATABASE_URL is `mariadb://user:password@host:port/db` with every part percent-encoded; DB_SOCKET is the ' +
    "local server's socket. dotenv output is `KEY='value'` lines, safe for `set -a; . FILE` and " +
    '`docker compose --env-file FILE` (single-quoted: no interpolation in either); a value neither could read exactly ' +
    "(one holding `'`, a line break or a trailing backslash, possible only in a passwordEnv password) is refused: " +
    'use --format json or url for it. ' +
    'This command prints a password on purpose: redirect it into a 0600 file, not a log.',
  options: [
    {
      flags: '--user <name>',
      help: "one of the service's accounts, dbps_backup or dbps_monitor (default: its app account)",
    },
    { flags: '--format <format>', help: 'dotenv, url or json', defaultValue: 'dotenv', choices: FORMATS },
  ],
  examples: [
    'dbps env orders > .env.orders && chmod 600 .env.orders',
    'set -a; . <(dbps env orders); set +a',
    'dbps env orders --user orders_migrator --format url',
    'docker compose --env-file <(dbps env orders) up',
    'dbps env orders --format json | jq -r \'to_entries[] | "\\(.key)=\\(.value)"\' > orders.env   # for kubectl --from-env-file',
    'dbps env orders --user dbps_monitor --format json',
  ],
  exitCodes: {
    0: 'printed',
    2: "unknown service or account, bad option, invalid services.yaml, a value dotenv cannot hold (`'`, line break)",
    3: 'server never started, no password yet (run `dbps provision`), passwordEnv unset',
  },
  async run({ args, opts, io }) {
    const { run } = await import('../../commands/env.js');
    const { renderConnection } = await import('../../render/connection-env.js');
    const format = (io.opts.json ? 'json' : (opts.format ?? 'dotenv')) as (typeof FORMATS)[number];
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      service: args[0]!,
      ...(typeof opts.user === 'string' ? { user: opts.user } : {}),
      format,
    });
    io.out(renderConnection(result.connection, format));
    return 0;
  },
};
