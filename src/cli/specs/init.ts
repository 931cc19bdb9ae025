import { TEMPLATES } from '../../config/template-names.js';
import { count } from '../../util/count.js';
import type { CommandSpec } from '../spec.js';

export const initSpec: CommandSpec = {
  name: 'init',
  summary: 'write a services.yaml from a template',
  description:
    'Write a services.yaml describing a database-per-service fleet, and add .dbps/ and .env to .gitignore.\nRefuses to overwrite an existing file unless --force.',
  options: [
    { flags: '--template <name>', help: 'starting point', defaultValue: 'ecommerce', choices: TEMPLATES },
    {
      flags: '--isolation <mode>',
      help: 'instance: a server per service; schema: all services on one shared server',
      defaultValue: 'instance',
      choices: ['instance', 'schema'],
    },
    { flags: '--force', help: 'overwrite an existing file' },
  ],
  examples: ['dbps init', 'dbps init --template minimal --isolation schema', 'dbps -f fleets/shop.yaml init --force'],
  exitCodes: { 0: 'file written', 2: 'file exists (without --force) or bad option' },
  async run({ opts, io }) {
    const { run } = await import('../../commands/init.js');
    const result = await run({
      file: io.opts.file,
      fileAbs: io.opts.fileAbs,
      template: opts.template as (typeof TEMPLATES)[number],
      isolation: opts.isolation as 'instance' | 'schema',
      force: opts.force === true,
    });
    if (io.opts.json) {
      io.json({ version: 1, ...result });
    } else {
      const p = io.paint;
      io.out(
        `${p.ok('wrote')} ${result.file} (${result.template}, ${result.isolation} isolation): ${count(result.services.length, 'service')} on ${count(result.servers.length, 'server')}\n` +
          (result.gitignore.added.length
            ? `added ${result.gitignore.added.join(', ')} to ${result.gitignore.file}\n`
            : '') +
          'next: dbps validate && dbps generate\n',
      );
    }
    return 0;
  },
};
