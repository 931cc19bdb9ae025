import { describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance } from '../../../src/util/suggest.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['a', '', 1],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['profle', 'profile', 1],
    ['inventroy', 'inventory', 2],
    ['same', 'same', 0],
  ])('%j vs %j = %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('closest and didYouMean', () => {
  const serviceKeys = [
    'server',
    'database',
    'profile',
    'memory',
    'storage',
    'port',
    'serverId',
    'charset',
    'collation',
    'outbox',
    'users',
    'reads',
    'backup',
  ];

  it.each([
    ['databse', 'database'],
    ['profle', 'profile'],
    ['Memory', 'memory'],
    ['user', 'users'],
    ['read', 'reads'],
    ['charest', 'charset'],
    ['serverid', 'serverId'],
    ['outbx', 'outbox'],
  ])('a typo %j -> %j', (word, hit) => {
    expect(closest(word, serviceKeys)).toBe(hit);
    expect(didYouMean(word, serviceKeys)).toBe(`; did you mean "${hit}"?`);
  });

  it('uses a unique shared prefix when the distance is too large', () => {
    expect(closest('retain', ['schedule', 'retention'])).toBe('retention');
    expect(closest('password', ['user', 'passwordEnv', 'socket'])).toBe('passwordEnv');
  });

  it('suggests nothing for unrelated words or an ambiguous prefix', () => {
    expect(closest('notes', serviceKeys)).toBeUndefined();
    expect(closest('xyz', serviceKeys)).toBeUndefined();
    expect(closest('serv', ['server', 'service'])).toBeUndefined(); // too far for a typo, and the prefix fits both
    expect(closest('anything', [])).toBeUndefined();
    expect(didYouMean('zzzzzz', serviceKeys)).toBe('');
  });
});
