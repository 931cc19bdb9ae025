import { describe, expect, it } from 'vitest';
import { atLeast, compareVersions, parseVersion, seriesOf } from '../../../src/util/version.js';

describe('parseVersion', () => {
  it.each([
    ['11.8', { major: 11, minor: 8, patch: 0 }],
    ['10.11', { major: 10, minor: 11, patch: 0 }],
    ['10.11.19', { major: 10, minor: 11, patch: 19 }],
    ['10.11.19-MariaDB-0+deb12u1', { major: 10, minor: 11, patch: 19 }],
    ['mariadbd  Ver 11.8.2-MariaDB-ubu2404 for debian-linux-gnu', { major: 11, minor: 8, patch: 2 }],
  ])('%j', (text, parts) => {
    expect(parseVersion(text)).toEqual({ ...parts, text });
  });

  it.each(['latest', '', '11', 'v-eleven'])('%j is not a version', (text) => {
    expect(() => parseVersion(text)).toThrow(/not a MariaDB version/);
  });
});

describe('comparing versions', () => {
  it('orders numerically, not as text (10.11 is after 10.6, 11.0 after 10.11)', () => {
    const v = (t: string) => parseVersion(t);
    expect(compareVersions(v('10.11'), v('10.6'))).toBe(1);
    expect(compareVersions(v('10.6'), v('10.11'))).toBe(-1);
    expect(compareVersions(v('11.0'), v('10.11.99'))).toBe(1);
    expect(compareVersions(v('10.11.0'), v('10.11'))).toBe(0);
    expect(compareVersions(v('10.11.2'), v('10.11.10'))).toBe(-1);
  });

  it('atLeast compares major.minor.patch', () => {
    const v = parseVersion('10.11.19');
    expect(atLeast(v, 10, 6)).toBe(true);
    expect(atLeast(v, 10, 11)).toBe(true);
    expect(atLeast(v, 10, 11, 19)).toBe(true);
    expect(atLeast(v, 10, 11, 20)).toBe(false);
    expect(atLeast(v, 11)).toBe(false);
  });

  it('seriesOf gives major.minor', () => {
    expect(seriesOf(parseVersion('10.11.19-MariaDB'))).toBe('10.11');
    expect(seriesOf(parseVersion('11.8'))).toBe('11.8');
  });
});
