// `dbps env --format dotenv` must be read back exactly by bash (`set -a; . FILE`) and by docker compose
// (`--env-file FILE`). There is no Docker here, so the compose side is checked against compose's
// documented env-file rules (the env-file syntax page; compose-go's dotenv parser): `#` lines are
// comments, `export ` may prefix a key, single-quoted values are used literally (no interpolation),
// a single-quoted value ends at the first `'` not preceded by a backslash, and nothing but a comment may
// follow the closing quote. Unquoted and double-quoted values are interpolated, so dbps never writes one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ConnectionParts, dotenvProblem, renderConnection } from '../../../src/render/connection-env.js';

/** Compose's env-file reading of what dbps writes; throws where compose would fail or interpolate. */
function composeEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = text;
  for (;;) {
    rest = rest.replace(/^\s+/, '');
    if (!rest) return out;
    if (rest.startsWith('#')) {
      const nl = rest.indexOf('\n');
      if (nl < 0) return out;
      rest = rest.slice(nl);
      continue;
    }
    rest = rest.replace(/^export\s+/, '');
    const key = /^([A-Za-z0-9_.]+)\s*=\s*/.exec(rest);
    if (!key)
      throw new Error(`compose: unexpected character in variable name near ${JSON.stringify(rest.slice(0, 20))}`);
    rest = rest.slice(key[0].length);
    if (rest[0] !== "'")
      throw new Error(`compose would interpolate the value of ${key[1]} (not single-quoted): ${rest.slice(0, 20)}`);
    let end = -1;
    for (let i = 1; i < rest.length; i++) {
      if (rest[i] === "'" && rest[i - 1] !== '\\') {
        end = i;
        break;
      }
    }
    if (end < 0) throw new Error(`compose: unterminated quoted value of ${key[1]}`);
    out[key[1]!] = rest.slice(1, end);
    rest = rest.slice(end + 1);
    // Only blanks and a comment may follow on the line.
    const tail = /^[ \t]*(#[^\n]*)?(\n|$)/.exec(rest);
    if (!tail) throw new Error(`compose: ${JSON.stringify(rest.slice(0, 20))} after the value of ${key[1]}`);
    rest = rest.slice(tail[0].length);
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dbps-dotenv-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const KEYS = [
  'DATABASE_URL',
  'DB_HOST',
  'DB_PORT',
  'DB_NAME',
  'DB_USER',
  'DB_PASSWORD',
  'DB_SOCKET',
  'X_MONITOR_PASSWORD',
];

/** bash `set -a; . FILE`: the variables it exports (read by a child process) and anything it printed. */
function bashSource(text: string): { vars: Record<string, string>; chatter: string } {
  const file = path.join(tmp, `env-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, text, { mode: 0o600 });
  const script = `set -a; . "$1" 2>&1; set +a
exec node -e 'const o={}; for (const k of process.argv.slice(1)) if (process.env[k] !== undefined) o[k]=process.env[k]; process.stdout.write("\\n"+JSON.stringify(o))' ${KEYS.join(' ')}`;
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', script, 'bash', file], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  const nl = out.lastIndexOf('\n');
  return { chatter: out.slice(0, nl), vars: JSON.parse(out.slice(nl + 1)) };
}

function parts(password: string): ConnectionParts {
  return {
    user: 'orders_app',
    password,
    host: '127.0.0.1',
    port: 3307,
    database: 'orders',
    socket: '/srv/app/.dbps/servers/orders/mysqld.sock',
    socketOnly: false,
    extra: [['X_MONITOR_PASSWORD', password]],
  };
}

// What people put in passwords: $ (and $VAR, ${VAR}, $(cmd)), double quotes, backslashes (inside, and
// before a double quote), spaces, # (also after a space: an inline comment when unquoted), =, backticks.
const PASSWORDS = [
  'plain',
  '$HOME',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${…} is the point.
  'a$b${PATH}c$(id)d',
  '"quoted" and "more"',
  'back\\slash\\n\\t\\\\x',
  '\\"',
  'with  spaces  ',
  ' lead',
  'hash#inside # and after a space',
  '#first',
  'a=b==c',
  '`id`;&&|<>*?[]~!%^',
  'é ü 漢字',
  '$$',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${…} is the point.
  '${X:?no}',
];

describe('dbps env --format dotenv', () => {
  it.each(PASSWORDS)('bash and compose both read %j exactly', (password) => {
    const text = renderConnection(parts(password), 'dotenv');
    const expected = Object.fromEntries(
      Object.entries({
        DATABASE_URL: `mariadb://orders_app:${encodeURIComponent(password)}@127.0.0.1:3307/orders`,
        DB_HOST: '127.0.0.1',
        DB_PORT: '3307',
        DB_NAME: 'orders',
        DB_USER: 'orders_app',
        DB_PASSWORD: password,
        DB_SOCKET: '/srv/app/.dbps/servers/orders/mysqld.sock',
        X_MONITOR_PASSWORD: password,
      }),
    );
    expect(composeEnvFile(text)).toStrictEqual(expected);
    const sourced = bashSource(text);
    expect(sourced.chatter).toBe('');
    expect(sourced.vars).toStrictEqual(expected);
  });

  it.each([
    ["it's", 'a single quote'],
    ['ends\\', 'a backslash at its end'],
    ['two\nlines', 'a line break or NUL'],
    ['cr\r', 'a line break or NUL'],
  ])(
    'refuses %j (exit 2), naming the variable and the other formats, without echoing the password',
    (password, why) => {
      let err: unknown;
      try {
        renderConnection(parts(password), 'dotenv');
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ exitCode: 2 });
      const e = err as Error & { hint?: string };
      expect(e.message).toContain(why);
      expect(e.message).toMatch(/^DB_PASSWORD of account "orders_app" holds/);
      expect(e.message).not.toContain(password);
      expect(e.hint).toContain('--format json');
      // json and url still give it exactly.
      expect(JSON.parse(renderConnection(parts(password), 'json')).DB_PASSWORD).toBe(password);
      expect(decodeURIComponent(new URL(renderConnection(parts(password), 'url').trim()).password)).toBe(password);
    },
  );

  it("the reference reading is compose's: shell-style '\\'' quoting and interpolated forms fail it", () => {
    // What bash alone accepts, compose does not: the check above is not vacuous.
    expect(() => composeEnvFile("P='it'\\''s'\n")).toThrow(/after the value|variable name/);
    expect(() => composeEnvFile("P='ends\\'\n")).toThrow(/unterminated/);
    expect(() => composeEnvFile('P=$HOME\n')).toThrow(/interpolate/);
    expect(() => composeEnvFile('P="x"\n')).toThrow(/interpolate/);
    expect(composeEnvFile("# c\nexport P='$x' # note\nQ='a#b'\n")).toStrictEqual({ P: '$x', Q: 'a#b' });
    expect(dotenvProblem('fine $ " \\ # =')).toBeUndefined();
  });
});
