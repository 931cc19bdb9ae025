import { ConfigError } from '../../errors.js';
import { count } from '../../util/count.js';
import type { CommandSpec } from '../spec.js';

export const validateSpec: CommandSpec = {
  name: 'validate',
  summary: 'check services.yaml (schema and meaning)',
  description:
    'Check services.yaml against its JSON Schema and semantic rules (names, limits, references, ports).\nEvery problem is printed as file:line:col message.',
  options: [],
  examples: ['dbps validate', 'dbps -f fleets/shop.yaml validate --json'],
  exitCodes: { 0: 'valid', 2: 'invalid (each problem printed with its place)' },
  async run({ io }) {
    const { run } = await import('../../commands/validate.js');
    try {
      const result = await run({ file: io.opts.file });
      if (io.opts.json) {
        io.json({ version: 1, ...result, errors: [] });
      } else {
        for (const w of result.warnings) io.warn(`${io.opts.file}:${w.line}:${w.column}: ${w.message}`);
        const shared = result.servers.filter((s) => s.isolation === 'schema').length;
        io.out(
          `${io.paint.ok('valid')}: ${io.opts.file}: fleet ${result.fleet}, ${count(result.services, 'service')} on ${count(result.servers.length, 'server')} (${result.servers.length - shared} isolated, ${shared} shared), ${count(result.accounts, 'account')}\n`,
        );
      }
      return 0;
    } catch (e) {
      if (e instanceof ConfigError && io.opts.json) {
        // Exactly {path, line, column, message} per error: the file is named once, at the top.
        const errors = e.issues.map(({ path, line, column, message }) => ({ path, line, column, message }));
        io.json({ version: 1, command: 'validate', file: io.opts.file, valid: false, errors });
        process.stderr.write(e.issues.map((i) => `${io.opts.file}:${i.line}:${i.column}: ${i.message}\n`).join(''));
        return 2;
      }
      throw e;
    }
  },
};
