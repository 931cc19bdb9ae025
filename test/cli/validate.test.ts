// `dbps validate` through the built binary: every malformed fixture exits 2 with file:line:col and no
// stack trace, --json prints exactly one document, valid fleets exit 0 with a one-line summary, and
// hostile inputs (alias bomb, 5 MB, binary, directory, device, missing file) are plain usage errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliRun, dbps } from '../helpers/dbps-cli.js';
import { repoRoot } from '../helpers/fleets.js';
import { malformedDir, malformedExpectations, malformedFixtures } from '../helpers/malformed.js';

const expectations = malformedExpectations();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dbps-validate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const validate = (file: string, ...extra: string[]) => dbps(['-f', file, 'validate', ...extra], { cwd: repoRoot });

function expectNoStackTrace(r: CliRun): void {
  for (const stream of [r.stdout, r.stderr]) {
    expect(stream).not.toMatch(/^ {4}at /m);
    expect(stream).not.toMatch(/this is a bug in dbps/);
    expect(stream).not.toMatch(/\b(TypeError|ReferenceError|RangeError|SyntaxError):/);
  }
}

interface ValidateJson {
  version: number;
  command: string;
  valid: boolean;
  file: string;
  errors: { path: string; line: number; column: number; message: string }[];
}

describe.concurrent('dbps validate on the malformed corpus', () => {
  for (const name of malformedFixtures()) {
    const rel = path.join('fixtures', 'malformed', name);
    it(`${name}: exit 2, file:line:col message, no stack trace, one JSON document`, async () => {
      const expected = expectations[name]!;
      const [text, json] = await Promise.all([validate(rel), validate(rel, '--json')]);

      expect(text.code).toBe(2);
      expect(text.stdout).toBe('');
      expect(text.stderr).toContain(`${rel}:${expected.line}:${expected.column}: `);
      const line = text.stderr.split('\n').find((l) => l.startsWith(`${rel}:${expected.line}:${expected.column}: `))!;
      expect(line).toContain(expected.message);
      expect(text.stderr).toMatch(/\d+ problems? in /);
      expectNoStackTrace(text);

      expect(json.code).toBe(2);
      expectNoStackTrace(json);
      const doc = JSON.parse(json.stdout) as ValidateJson; // throws unless stdout is exactly one document
      expect(doc).toMatchObject({ version: 1, command: 'validate', valid: false, file: rel });
      expect(doc.errors.length).toBeGreaterThan(0);
      for (const e of doc.errors) expect(Object.keys(e).sort()).toEqual(['column', 'line', 'message', 'path']);
      expect(doc.errors).toContainEqual(
        expect.objectContaining({
          line: expected.line,
          column: expected.column,
          message: expect.stringContaining(expected.message),
        }),
      );
    });
  }
});

describe.concurrent('dbps validate on valid fleets', () => {
  const fleets = ['ecommerce', 'minimal', 'mixed-isolation', 'external', 'fifty-services'];
  for (const name of fleets) {
    it(`${name}.yaml: exit 0 and a one-line summary`, async () => {
      const rel = path.join('fixtures', 'fleets', `${name}.yaml`);
      const r = await validate(rel);
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^valid: ${rel.replace(/[.]/g, '\\.')}: fleet [a-z-]+, \\d+ services on \\d+ servers .*, \\d+ accounts$`,
        ),
      );
      // Warnings (a read that cannot be granted) go to stderr with their place, never to stdout.
      for (const w of r.stderr.split('\n').filter(Boolean))
        expect(w).toMatch(new RegExp(`^warning: ${rel.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
    });
  }

  it('counts the fifty-service fleet right, and --json gives the same summary as one document', async () => {
    const rel = path.join('fixtures', 'fleets', 'fifty-services.yaml');
    const [text, json] = await Promise.all([validate(rel), validate(rel, '--json')]);
    expect(text.stdout).toContain('50 services on 42 servers (40 isolated, 2 shared)');
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as ValidateJson & { services: number; servers: unknown[]; warnings: unknown[] };
    expect(doc).toMatchObject({ version: 1, command: 'validate', valid: true, services: 50, errors: [] });
    expect(doc.servers).toHaveLength(42);
  });

  it('puts a cross-server read in the JSON warnings and on stderr in text mode', async () => {
    const rel = path.join('fixtures', 'fleets', 'ecommerce.yaml');
    const [text, json] = await Promise.all([validate(rel), validate(rel, '--json')]);
    expect(text.stderr).toMatch(
      /warning: .*ecommerce\.yaml:\d+:\d+: service "analytics" reads from "inventory" on another server/,
    );
    const doc = JSON.parse(json.stdout) as { warnings: { path: string; line: number }[] };
    expect(doc.warnings).toEqual([expect.objectContaining({ path: 'services.analytics.reads[0].service' })]);
  });
});

describe.concurrent('dbps validate on hostile or odd input', () => {
  const write = (name: string, content: string | Buffer) => {
    const file = path.join(tmp, name);
    writeFileSync(file, content);
    return file;
  };

  it('an alias bomb (billion laughs) is one issue, not a hang or a crash', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const file = write('bomb.yaml', `${levels.join('\n')}\n`);
    const r = await validate(file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bomb\.yaml:2:\d+: the file expands YAML aliases \(\*name\) too many times/);
    expectNoStackTrace(r);
  });

  it('a 5 MB file reports every problem with its place, quickly enough to be usable', async () => {
    const notes = 'x'.repeat(1000);
    const lines = ['version: 1', 'fleet: big', 'services:'];
    for (let i = 0; i < 5000; i++) lines.push(`  svc${i}:`, `    notes: "${notes}"`, '    server: nowhere');
    const text = `${lines.join('\n')}\n`;
    expect(text.length).toBeGreaterThan(5_000_000);
    const r = await validate(write('big.yaml', text), '--json');
    expect(r.code).toBe(2);
    expectNoStackTrace(r);
    const doc = JSON.parse(r.stdout) as ValidateJson;
    // Each entry has two problems (an unknown key, an undeclared server): both are reported in one run.
    expect(doc.errors).toHaveLength(10000);
    expect(doc.errors[0]).toMatchObject({ path: 'services.svc0.notes', line: 5, column: 5 });
    expect(doc.errors[9998]).toMatchObject({ path: 'services.svc4999.notes', line: 15002, column: 5 });
    expect(doc.errors[9999]).toMatchObject({ path: 'services.svc4999.server', line: 15003, column: 13 });
  });

  it('nesting deep enough to overflow a recursive parser is one issue, not a crash', async () => {
    const file = write('deep.yaml', `version: 1\nfleet: t\nservices:\n  a: ${'['.repeat(20000)}${']'.repeat(20000)}\n`);
    const r = await validate(file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/deep\.yaml:4:\d+: the file nests lists or mappings too deeply to read/);
    expectNoStackTrace(r);
  });

  it('binary garbage is named as binary, not parsed as YAML', async () => {
    const bytes = Buffer.alloc(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 256;
    const r = await validate(write('garbage.yaml', bytes));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/garbage\.yaml:\d+:\d+: the file holds binary data/);
    expectNoStackTrace(r);
  });

  it('a directory given as -f is a usage error naming the fix', async () => {
    const r = await validate(tmp);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: ${tmp} is a directory, not a services.yaml file`);
    expectNoStackTrace(r);
  });

  it('a device that never ends (/dev/zero) is refused instead of read', async () => {
    const r = await validate('/dev/zero');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/dev/zero is not a regular file');
    expectNoStackTrace(r);
  });

  it('a missing file exits 2 and says to run dbps init, in text and in JSON', async () => {
    const missing = path.join(tmp, 'nope', 'services.yaml');
    const [text, json] = await Promise.all([validate(missing), validate(missing, '--json')]);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain(`${missing} does not exist`);
    expect(text.stderr).toContain('run `dbps init`');
    expectNoStackTrace(text);
    expect(json.code).toBe(2);
    const doc = JSON.parse(json.stdout) as { error: { message: string; hint: string; exitCode: number } };
    expect(doc.error).toMatchObject({ exitCode: 2, hint: expect.stringContaining('dbps init') });
  });

  it('DBPS_FILE names the file when -f is absent', async () => {
    const r = await dbps(['validate'], {
      cwd: tmp,
      env: { DBPS_FILE: path.join(repoRoot, 'fixtures', 'fleets', 'minimal.yaml') },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^valid: .*minimal\.yaml: fleet demo, 2 services/);
  });

  it('shows the stack only under -v, and only for a bug', async () => {
    const r = await validate(path.join(malformedDir, 'version-2.yaml'), '-v');
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/^ {4}at /m);
  });
});
