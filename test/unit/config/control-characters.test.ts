// No name or value of services.yaml may hold a control character (a line break in host: would inject
// keys into docker-compose.yml), and messages echo names with such characters escaped.
import { describe, expect, it } from 'vitest';
import { parseServices } from '../../../src/config/parse.js';
import { ConfigError, UsageError } from '../../../src/errors.js';
import { describeError } from '../../../src/ui/error-text.js';
import { printable, quoted } from '../../../src/util/printable.js';

const base = (servers: string, services = '  svc: { server: legacy }') =>
  `version: 1\nfleet: f\nservers:\n${servers}\nservices:\n${services}\n`;

function issuesOf(text: string) {
  const r = parseServices(text);
  if (r.ok) throw new Error('expected the file to be refused');
  return r.issues;
}

describe('control characters in services.yaml', () => {
  it('refuses a line break in host: with its line and column', () => {
    const issues = issuesOf(
      base('  legacy: { driver: external, host: "db\\n    image: evil", port: 3306, admin: { user: root } }'),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'servers.legacy.host', line: 4, column: 37 });
    expect(issues[0]!.message).toContain('control character \\n');
  });

  for (const [what, text] of [
    [
      'an escape in a service name',
      base('  legacy: { driver: external, host: db, admin: { user: root } }', '  "s\\e[2Jvc": { server: legacy }'),
    ],
    ['a tab in a user name', base('  legacy: { driver: external, host: db, admin: { user: "ro\\tot" } }')],
    ['a C1 control in the fleet name', 'version: 1\nfleet: "f\\x9bx"\nservices:\n  svc: {}\n'],
    ['a bidi override in a value', base('  legacy: { driver: external, host: "db\\u202e", admin: { user: root } }')],
    ['a block scalar with a line break', 'version: 1\nfleet: |\n  two\n  lines\nservices:\n  svc: {}\n'],
  ] as const) {
    it(`refuses ${what}`, () => {
      const issues = issuesOf(text);
      expect(issues.length).toBeGreaterThan(0);
      expect(issues[0]!.message).toMatch(/control character/);
      // The message itself holds no control character.
      expect(printable(issues[0]!.message)).toBe(issues[0]!.message);
    });
  }

  it('accepts ordinary names and values', () => {
    expect(parseServices(base('  legacy: { driver: external, host: db.example, admin: { user: root } }')).ok).toBe(
      true,
    );
  });
});

describe('messages echo names escaped', () => {
  it('quotes and escapes a name', () => {
    expect(quoted('a\u001b[31mb\nc')).toBe('"a\\x1b[31mb\\nc"');
  });

  it('every printed error keeps control characters out, config issues on one line each', () => {
    const usage = describeError(new UsageError('no such thing "\u001b]0;pwned\u0007"'), false);
    expect(usage.text).not.toContain('\u001b');
    expect(usage.text).not.toContain('\u0007');
    expect(usage.text).toContain('\\x1b]0;pwned\\x07');
    const cfg = describeError(
      new ConfigError('services.yaml', [{ path: '', line: 1, column: 1, message: 'key "a\nerror: forged" is wrong' }]),
      false,
    );
    expect(cfg.text.split('\n').filter(Boolean)).toHaveLength(2);
  });
});
