import { describe, expect, it } from 'vitest';
import { formatSize, parseSize, roundDown } from '../../../src/util/size.js';

const K = 1024;
const M = K * K;
const G = M * K;

describe('parseSize', () => {
  it.each([
    ['512M', 512 * M],
    ['2G', 2 * G],
    ['1.5G', 1.5 * G],
    ['64K', 64 * K],
    ['1T', 1024 * G],
    ['10Gi', 10 * G],
    ['500Mi', 500 * M],
    [' 2G ', 2 * G],
    ['0.5M', 0.5 * M],
  ])('%j -> %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['2GB', 'lots', '', '2', '2g', 'G', '-1G', '1e3M', '2 G', '0x10M', '1.G'])('%j is not a size', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });
});

describe('formatSize', () => {
  it.each([
    [2 * G, '2G'],
    [768 * M, '768M'],
    [1024 * G, '1T'],
    [1536 * M, '1536M'],
    [64 * K, '64K'],
    [M + 1, '1M'],
    [1, '1K'],
    [0, '1K'],
  ])('%d -> %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  it('round-trips whole units through parseSize', () => {
    for (const text of ['1K', '300M', '4G', '2T']) expect(formatSize(parseSize(text)!)).toBe(text);
  });
});

describe('roundDown', () => {
  it.each([
    [130 * M, 128 * M, 128 * M],
    [127 * M, 128 * M, 128 * M],
    [0, M, M],
    [5 * M, M, 5 * M],
  ])('%d to a multiple of %d -> %d', (bytes, step, out) => {
    expect(roundDown(bytes, step)).toBe(out);
  });
});
