// `dbps init` through the built binary, in temp directories: every template x isolation mode writes
// a file that validates, .gitignore gains .dbps/ and .env exactly once, and nothing is overwritten
// without --force.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { dbps } from '../helpers/dbps-cli.js';
import { manifestErrors } from '../helpers/k8s-schemas.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'dbps-init-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => {
  const dir = path.join(root, `case-${dirs++}`);
  return dir;
};
const run = (cwd: string, ...args: string[]) => dbps(args, { cwd });
const occurrences = (text: string, line: string) => text.split(/\r?\n/).filter((l) => l === line).length;

describe.concurrent('dbps init writes a services.yaml that validates', () => {
  for (const template of ['ecommerce', 'minimal']) {
    for (const isolation of ['instance', 'schema']) {
      it(`--template ${template} --isolation ${isolation}`, async () => {
        const dir = freshDir();
        const init = await run(
          root,
          '-f',
          path.join(dir, 'services.yaml'),
          'init',
          '--template',
          template,
          '--isolation',
          isolation,
        );
        expect(init.code).toBe(0);
        expect(init.stdout).toContain(`(${template}, ${isolation} isolation)`);
        const file = path.join(dir, 'services.yaml');
        const text = readFileSync(file, 'utf8');

        // The first line names the JSON Schema for editors; the path is relative to the file and exists.
        const first = text.split('\n')[0]!;
        expect(first).toMatch(/^# yaml-language-server: \$schema=\S+$/);
        const ref = first.slice(first.indexOf('=') + 1);
        const schema = path.resolve(dir, ref);
        expect(existsSync(schema), schema).toBe(true);
        expect(JSON.parse(readFileSync(schema, 'utf8'))).toMatchObject({ title: 'dbps services.yaml' });

        const validate = await run(dir, 'validate', '--json');
        expect(validate.code).toBe(0);
        const doc = JSON.parse(validate.stdout) as {
          valid: boolean;
          services: number;
          servers: { isolation: string }[];
        };
        expect(doc.valid).toBe(true);
        expect(doc.services).toBe(template === 'ecommerce' ? 6 : 2);
        if (isolation === 'schema') {
          expect(doc.servers.map((s) => s.isolation)).toEqual(['schema']);
        } else {
          expect(doc.servers.every((s) => s.isolation === 'instance')).toBe(true);
          expect(doc.servers).toHaveLength(doc.services);
        }

        const ignore = readFileSync(path.join(dir, '.gitignore'), 'utf8');
        expect(occurrences(ignore, '.dbps/')).toBe(1);
        expect(occurrences(ignore, '.env')).toBe(1);
      });
    }
  }

  it('the ecommerce template is the shop: orders, customers, inventory, payments, analytics, sessions', async () => {
    const dir = freshDir();
    expect((await run(root, '-f', path.join(dir, 'services.yaml'), 'init', '--json')).code).toBe(0);
    const doc = JSON.parse((await run(dir, 'validate', '--json')).stdout) as { servers: { name: string }[] };
    expect(doc.servers.map((s) => s.name)).toEqual([
      'orders',
      'customers',
      'inventory',
      'payments',
      'analytics',
      'sessions',
    ]);
  });
});

describe.concurrent('the default template backs the shop up', () => {
  const backupsOf = async (dir: string) => {
    const gen = await run(dir, 'generate', '--only', 'k8s', '--out', 'gen');
    expect(gen.code, gen.stderr).toBe(0);
    const files = readdirSync(path.join(dir, 'gen', 'k8s')).filter((f) => f.endsWith('.yaml'));
    const docs = files.flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(dir, 'gen', 'k8s', f), 'utf8')).map(
        (d) => d.toJS() as { kind?: string; spec?: { mariaDbRef: { name: string }; schedule: { cron: string } } },
      ),
    );
    const backups = docs.filter((d) => d?.kind === 'Backup');
    // Each one is what the operator's CRD accepts (strict: unknown fields are errors).
    for (const b of backups) expect(manifestErrors(b)).toBe('');
    return backups;
  };

  it('instance isolation: a scheduled Backup for every server but sessions, at the times services.yaml gives', async () => {
    const dir = freshDir();
    expect((await run(root, '-f', path.join(dir, 'services.yaml'), 'init')).code).toBe(0);
    const backups = await backupsOf(dir);
    expect(Object.fromEntries(backups.map((b) => [b.spec!.mariaDbRef.name, b.spec!.schedule.cron]))).toStrictEqual({
      orders: '0 */6 * * *',
      customers: '30 1 * * *',
      inventory: '45 1 * * *',
      payments: '15 */6 * * *',
      analytics: '0 3 * * 0',
    });
  });

  it('schema isolation: the shared server gets Backups too', async () => {
    const dir = freshDir();
    expect((await run(root, '-f', path.join(dir, 'services.yaml'), 'init', '--isolation', 'schema')).code).toBe(0);
    const backups = await backupsOf(dir);
    expect(backups.length).toBeGreaterThan(0);
    expect(new Set(backups.map((b) => b.spec!.mariaDbRef.name))).toStrictEqual(new Set(['shared']));
  });
});

describe.concurrent('dbps init and existing files', () => {
  it('keeps existing .gitignore content and adds each entry once, however often it runs', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'services.yaml');
    expect((await run(root, '-f', file, 'init', '--template', 'minimal')).code).toBe(0);
    writeFileSync(path.join(dir, '.gitignore'), 'node_modules/\n# local\n.dbps/\ndist');
    for (let i = 0; i < 2; i++) {
      const r = await run(root, '-f', file, 'init', '--template', 'minimal', '--force');
      expect(r.code).toBe(0);
    }
    const ignore = readFileSync(path.join(dir, '.gitignore'), 'utf8');
    expect(ignore).toBe('node_modules/\n# local\n.dbps/\ndist\n.env\n');
  });

  it('recognises /.dbps, .dbps/* and CRLF files, and does not add those entries again', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'services.yaml');
    expect((await run(root, '-f', file, 'init')).code).toBe(0);
    for (const [before, after] of [
      ['/.dbps\r\n.env\r\n', '/.dbps\r\n.env\r\n'],
      ['.dbps/*\n/.env\n', '.dbps/*\n/.env\n'],
      ['/.dbps\r\n', '/.dbps\r\n.env\r\n'], // appended with the file's own line ending
      ['!.env\n', '!.env\n.dbps/\n.env\n'], // a negation does not ignore it
    ]) {
      writeFileSync(path.join(dir, '.gitignore'), before!);
      const r = await run(root, '-f', file, 'init', '--force');
      expect(r.code).toBe(0);
      expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe(after);
    }
  });

  it('refuses to overwrite without --force: exit 2, the file unchanged, the fix named', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'services.yaml');
    expect((await run(root, '-f', file, 'init', '--template', 'minimal')).code).toBe(0);
    writeFileSync(file, '# my edits\nversion: 1\n');
    for (const args of [[], ['--template', 'ecommerce'], ['--json']]) {
      const r = await run(root, '-f', file, 'init', ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('already exists');
      expect(r.stderr + r.stdout).toContain('--force');
      expect(r.stderr).not.toMatch(/^ {4}at /m);
      expect(readFileSync(file, 'utf8')).toBe('# my edits\nversion: 1\n');
    }
    const forced = await run(root, '-f', file, 'init', '--template', 'minimal', '--force');
    expect(forced.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('fleet: demo');
  });

  it('writes services.yaml in the current directory by default', async () => {
    const dir = freshDir();
    // mkdir through init itself would not cover cwd; create the directory first.
    await run(root, '-f', path.join(dir, 'x.yaml'), 'init', '--template', 'minimal');
    const r = await run(dir, 'init', '--template', 'minimal');
    expect(r.code).toBe(0);
    expect(existsSync(path.join(dir, 'services.yaml'))).toBe(true);
  });

  it('rejects an unknown template or isolation mode with exit 2 and writes nothing', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'services.yaml');
    for (const args of [
      ['--template', 'shop'],
      ['--isolation', 'shared'],
    ]) {
      const r = await run(root, '-f', file, 'init', ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/argument '.*' is invalid|Allowed choices/);
      expect(existsSync(file)).toBe(false);
    }
  });

  it('refuses a directory as the file to write', async () => {
    const r = await run(root, '-f', root, 'init', '--force');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a directory');
  });
});

describe('the $schema reference of a file meant to be committed', () => {
  it('points into node_modules/dbps when the project has dbps as a dependency, beside the file or above it', async () => {
    const project = freshDir();
    const schema = path.join(project, 'node_modules', 'dbps', 'schema');
    mkdirSync(schema, { recursive: true });
    writeFileSync(path.join(schema, 'services.schema.json'), '{ "title": "dbps services.yaml" }\n');
    mkdirSync(path.join(project, 'deploy'));
    for (const [file, ref] of [
      ['services.yaml', './node_modules/dbps/schema/services.schema.json'],
      ['deploy/services.yaml', '../node_modules/dbps/schema/services.schema.json'],
    ] as const) {
      const init = await run(project, '-f', file, 'init', '--template', 'minimal');
      expect(init.code, init.stderr).toBe(0);
      expect(readFileSync(path.join(project, file), 'utf8').split('\n')[0]).toBe(
        `# yaml-language-server: $schema=${ref}`,
      );
    }
  });

  it('without such a dependency, names the running dbps copy relative to the file', async () => {
    const dir = freshDir();
    const init = await run(root, '-f', path.join(dir, 'services.yaml'), 'init');
    expect(init.code).toBe(0);
    const first = readFileSync(path.join(dir, 'services.yaml'), 'utf8').split('\n')[0]!;
    expect(first).not.toContain('node_modules/dbps');
    expect(existsSync(path.resolve(dir, first.slice(first.indexOf('=') + 1)))).toBe(true);
  });
});
