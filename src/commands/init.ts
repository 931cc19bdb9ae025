// dbps init: writes services.yaml from a template and keeps secrets and state out of git.
import { constants, existsSync, lstatSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleetFromText } from '../config/from-text.js';
import { renderTemplate, type TemplateName } from '../config/template.js';
import { UsageError } from '../errors.js';

export interface InitOptions {
  fileAbs: string;
  file: string;
  template: TemplateName;
  isolation: 'instance' | 'schema';
  force: boolean;
}

export interface InitResult {
  command: 'init';
  file: string;
  template: TemplateName;
  isolation: 'instance' | 'schema';
  services: string[];
  servers: string[];
  overwritten: boolean;
  gitignore: { file: string; added: string[] };
}

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const IGNORED = ['.dbps/', '.env'];

/** Writes the template, refusing to overwrite unless forced. */
export async function run(opts: InitOptions): Promise<InitResult> {
  refuseSymlink(opts.fileAbs, opts.file);
  const exists = existsSync(opts.fileAbs);
  if (exists && statSync(opts.fileAbs).isDirectory()) {
    throw new UsageError(`${opts.file} is a directory`, {
      hint: `name the file to write with -f, e.g. -f ${opts.file.replace(/\/$/, '')}/services.yaml`,
    });
  }
  if (exists && !opts.force) {
    throw new UsageError(`${opts.file} already exists`, {
      hint: 'use --force to overwrite it, or -f to write another file',
    });
  }
  const dir = path.dirname(opts.fileAbs);
  // Both checked before anything is written: a refusal leaves no half-done init.
  refuseSymlink(path.join(dir, '.gitignore'), '.gitignore');
  await mkdir(dir, { recursive: true });
  const templateText = await readFile(path.join(PACKAGE_ROOT, 'templates', `${opts.template}.yaml`), 'utf8');
  const text = renderTemplate(templateText, opts.isolation, schemaReference(dir));
  const fleet = fleetFromText(text, opts.file); // a template that does not validate is a bug, caught here
  await writeFile(opts.fileAbs, text, { encoding: 'utf8', flag: NO_FOLLOW_WRITE });
  const gitignore = await ensureGitignore(dir);
  return {
    command: 'init',
    file: opts.file,
    template: opts.template,
    isolation: opts.isolation,
    services: fleet.services.map((s) => s.name),
    servers: fleet.servers.map((s) => s.name),
    overwritten: exists,
    gitignore,
  };
}

/**
 * The `$schema` reference written into services.yaml, a file meant to be committed: when the project
 * has dbps as a dependency (node_modules/dbps beside the file or in a folder above it), the path into
 * node_modules, which is the same on every clone after `npm install`. Otherwise (a global install, a
 * checkout) the path to this dbps's own copy, relative to the file: right on this machine only.
 */
export function schemaReference(dir: string): string {
  const schema = ['schema', 'services.schema.json'];
  let target = path.join(PACKAGE_ROOT, ...schema);
  for (let d = dir; ; d = path.dirname(d)) {
    const candidate = path.join(d, 'node_modules', 'dbps', ...schema);
    if (existsSync(candidate)) {
      target = candidate;
      break;
    }
    if (path.dirname(d) === d) break;
  }
  const ref = path.relative(dir, target).split(path.sep).join('/');
  return ref.startsWith('.') ? ref : `./${ref}`;
}

/** Open flags that create or truncate a file but fail (ELOOP) when its last component is a symlink. */
const NO_FOLLOW_WRITE = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

/** A symlink at a path init writes would make it overwrite whatever the link points to: refused. */
function refuseSymlink(abs: string, shown: string): void {
  let link = false;
  try {
    link = lstatSync(abs).isSymbolicLink();
  } catch {
    return;
  }
  if (link) {
    throw new UsageError(`${shown} is a symbolic link; dbps init does not write through it`, {
      hint: `remove the link (\`rm ${shown}\`) or name a regular file with -f`,
    });
  }
}

async function ensureGitignore(dir: string): Promise<{ file: string; added: string[] }> {
  const file = path.join(dir, '.gitignore');
  refuseSymlink(file, '.gitignore');
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch {
    // no .gitignore yet
  }
  // ".dbps", "/.dbps", ".dbps/", "/.dbps/" and ".dbps/*" all keep the directory out of git.
  const normalise = (line: string) =>
    line
      .trim()
      .replace(/^\//, '')
      .replace(/\/\*?$/, '');
  const lines = new Set(text.split(/\r?\n/).map(normalise));
  const added = IGNORED.filter((entry) => !lines.has(normalise(entry)));
  if (added.length > 0) {
    // Keep the file's own line endings.
    const eol = text.includes('\r\n') ? '\r\n' : '\n';
    const prefix = text.length > 0 && !text.endsWith('\n') ? eol : '';
    await writeFile(file, `${text}${prefix}${added.join(eol)}${eol}`, { encoding: 'utf8', flag: NO_FOLLOW_WRITE });
  }
  return { file: '.gitignore', added };
}
