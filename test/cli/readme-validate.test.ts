// The README's `dbps validate` examples are what the command prints for the README's own example
// services.yaml (and for it with the two typos the README names): text, exit codes and --json places.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dbps } from '../helpers/dbps-cli.js';
import { repoRoot } from '../helpers/fleets.js';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dbps-readme-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The fenced blocks (```lang … ```) of the README section whose heading line is `heading`. */
function blocks(heading: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no "${heading}"`);
  const rest = readme.slice(start + heading.length + 2);
  const end = rest.search(/\n#{1,3} /);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

const exampleFile = blocks('## services.yaml')[0]!;
const [validBlock, invalidBlock, jsonBlock] = blocks('### `dbps validate` output');

/** A README transcript `$ dbps validate\n<output>` split into the command and what it prints. */
function transcript(block: string): { command: string; output: string } {
  const [first, ...lines] = block.split('\n');
  return { command: first!.replace(/^\$ /, ''), output: lines.join('\n') };
}

function writeExample(name: string, text: string): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'services.yaml'), text);
  return dir;
}

describe('README: dbps validate output', () => {
  it('the example services.yaml prints exactly the README line, exit 0', async () => {
    const { command, output } = transcript(validBlock!);
    expect(command).toBe('dbps validate');
    const r = await dbps(['validate'], { cwd: writeExample('valid', exampleFile) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(output);
    expect(r.stderr).toBe('');
  });

  it('with the two typos the README names, it prints exactly the README lines on stderr, exit 2', async () => {
    const broken = exampleFile
      .replace('inventory: { server: shared }', 'inventory: { server: shraed }')
      .replace('reads: [ { service: inventory,', 'reads: [ { service: inventroy,');
    expect(broken).not.toBe(exampleFile);
    expect(readme).toContain('`{ server: shraed }` for inventory');
    expect(readme).toContain('`{ service: inventroy, … }` in catalog');
    const dir = writeExample('invalid', broken);
    const { command, output } = transcript(invalidBlock!);
    expect(command).toBe('dbps validate');
    const r = await dbps(['validate'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(output);

    // The --json example's first error: the same path, line and column.
    const shown = /"errors": \[\n\s*(\{.*\})/.exec(jsonBlock!)![1]!;
    const place = JSON.parse(shown.replace(/"message": "(?:[^"\\]|\\.)*"/, '"message": ""')) as Record<string, unknown>;
    const json = await dbps(['validate', '--json'], { cwd: dir });
    const doc = JSON.parse(json.stdout) as { errors: Record<string, unknown>[] };
    expect(doc.errors[0]).toMatchObject({ path: place.path, line: place.line, column: place.column });
  });
});
