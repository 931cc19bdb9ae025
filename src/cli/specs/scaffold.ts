import type { CommandSpec } from '../spec.js';

export const scaffoldSpec: CommandSpec = {
  name: 'scaffold',
  args: '[pattern] [service]',
  summary: 'write a consistency pattern (outbox, saga reservation, projection, …) as tested migrations',
  description:
    "Write numbered, re-runnable SQL migrations for a service's own database into migrations/<service>/ (or --out): " +
    'outbox, reservation, projection, change-capture or read-model (dbps scaffold --list). Each file is plain .sql ' +
    'for the mariadb client and common migration tools; statements with BEGIN … END bodies sit between DELIMITER $$ ' +
    'and DELIMITER ;. An existing file that differs is never overwritten without --force. --apply runs the files as ' +
    "the service's migrator account (credentials in a temporary 0600 option file, never on the command line). The " +
    "patterns grant nothing: they live in the service's database and run with its own accounts.",
  options: [
    { flags: '--list', help: 'list the patterns, one line each (and why there is no XA pattern)' },
    { flags: '--name <name>', help: "prefix for the pattern's tables and routines (e.g. eu -> eu_orders)" },
    { flags: '--out <dir>', help: 'folder for the files', defaultValue: 'migrations/<service>' },
    { flags: '--apply', help: "run the files on the service's database as its migrator account" },
    { flags: '--force', help: 'overwrite files that differ from what dbps writes' },
  ],
  examples: [
    'dbps scaffold --list',
    'dbps scaffold outbox orders',
    'dbps scaffold reservation inventory --apply',
    'dbps scaffold projection orders --name crm --out db/migrations',
  ],
  exitCodes: {
    0: 'files written (or already up to date), and applied with --apply',
    2: 'unknown pattern or service, bad --name, a differing file without --force, no migrator account',
    3: 'server not running or unreachable, no password yet, a migration failed (named)',
  },
  async run({ args, opts, io }) {
    const [{ run }, render] = await Promise.all([
      import('../../commands/scaffold.js'),
      import('../../ui/render/scaffold.js'),
    ]);
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      list: opts.list === true,
      ...(args[0] !== undefined ? { pattern: args[0] } : {}),
      ...(args[1] !== undefined ? { service: args[1] } : {}),
      ...(typeof opts.name === 'string' ? { name: opts.name } : {}),
      ...(typeof opts.out === 'string' && opts.out !== 'migrations/<service>' ? { out: opts.out } : {}),
      apply: opts.apply === true,
      force: opts.force === true,
    });
    if (io.opts.json) io.json(render.scaffoldJson(result));
    else io.out(render.scaffoldText(result, io.paint, process.cwd()));
    return 0;
  },
};
