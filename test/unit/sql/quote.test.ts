// Table tests for the one module that builds SQL text from names.
import { describe, expect, it } from 'vitest';
import { account, dbPattern, dbPatternText, ident, literal } from '../../../src/sql/quote.js';

describe('ident', () => {
  it.each([
    ['orders', '`orders`'],
    ['order`s', '`order``s`'],
    ['``', '``````'],
    ["o'rders", "`o'rders`"],
    ['o"rders', '`o"rders`'],
    ['back\\slash', '`back\\slash`'], // inside backticks a backslash is an ordinary character
    ['orders_db', '`orders_db`'], // no LIKE escaping outside grant patterns
    ['100%', '`100%`'],
    ['café_коммерция_注文', '`café_коммерция_注文`'],
    ['with space', '`with space`'],
    ['select', '`select`'],
    ['emoji🛒', '`emoji🛒`'],
  ])('%j -> %s', (name, quoted) => {
    expect(ident(name)).toBe(quoted);
  });

  it('refuses a NUL byte instead of truncating the name', () => {
    expect(() => ident('ord\u0000ers')).toThrow(/NUL/);
  });
});

describe('literal', () => {
  it.each([
    ['orders_app', "'orders_app'"],
    ["o'brien", "'o''brien'"],
    ["''", "''''''"],
    ['back\\slash', "'back\\\\slash'"],
    ["\\'", "'\\\\'''"], // a backslash before a quote cannot escape the closing quote
    ['%', "'%'"],
    ['10.0.%', "'10.0.%'"],
    ['under_score', "'under_score'"],
    ['`tick`', "'`tick`'"],
    ['ünïcødé', "'ünïcødé'"],
    ['new\nline', "'new\nline'"],
  ])('%j -> %s', (value, quoted) => {
    expect(literal(value)).toBe(quoted);
  });

  it('refuses a NUL byte', () => {
    expect(() => literal('a\u0000b')).toThrow(/NUL/);
  });
});

describe('account', () => {
  it.each([
    ['orders_app', '%', "'orders_app'@'%'"],
    ['orders_app', 'localhost', "'orders_app'@'localhost'"],
    ["o'app", '10.0.%', "'o''app'@'10.0.%'"],
    ['a\\b', 'h', "'a\\\\b'@'h'"],
  ])('%j @ %j -> %s', (user, host, quoted) => {
    expect(account(user, host)).toBe(quoted);
  });

  it('refuses a NUL byte in the user or the host', () => {
    expect(() => account('a\u0000', '%')).toThrow(/NUL/);
    expect(() => account('a', '%\u0000')).toThrow(/NUL/);
  });
});

describe('dbPattern: database names in database-level GRANT are LIKE patterns', () => {
  it.each([
    ['orders', 'orders', '`orders`'],
    ['orders_db', 'orders\\_db', '`orders\\_db`'],
    ['a_b_c', 'a\\_b\\_c', '`a\\_b\\_c`'],
    ['100%', '100\\%', '`100\\%`'],
    ['back\\slash', 'back\\\\slash', '`back\\\\slash`'],
    ['mixed\\_%', 'mixed\\\\\\_\\%', '`mixed\\\\\\_\\%`'],
    ['tick`_', 'tick`\\_', '`tick``\\_`'],
    ['café_db', 'café\\_db', '`café\\_db`'],
  ])('%j -> %s -> %s', (name, pattern, quoted) => {
    expect(dbPatternText(name)).toBe(pattern);
    expect(dbPattern(name)).toBe(quoted);
  });

  it('leaves no unescaped wildcard: every _ and % is preceded by an odd number of backslashes', () => {
    for (const name of ['a_b', '%', '_%_', 'x\\_y', 'x\\\\%', '__']) {
      const pattern = dbPatternText(name);
      for (let i = 0; i < pattern.length; i++) {
        if (pattern[i] !== '_' && pattern[i] !== '%') continue;
        let slashes = 0;
        for (let j = i - 1; j >= 0 && pattern[j] === '\\'; j--) slashes++;
        expect(slashes % 2, `${name} -> ${pattern} at ${i}`).toBe(1);
      }
    }
  });

  it('refuses a NUL byte', () => {
    expect(() => dbPattern('a\u0000')).toThrow(/NUL/);
  });
});
