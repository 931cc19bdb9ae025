// defaults.connectTimeout and defaults.rotationMaxAge: validated with a place, resolved into the Fleet.
import { describe, expect, it } from 'vitest';
import { fleetFromText } from '../../../src/config/from-text.js';
import { ConfigError } from '../../../src/errors.js';

const yaml = (defaults: string) => `version: 1
fleet: f
defaults: { ${defaults} }
services:
  orders: {}
`;

function issues(defaults: string): string[] {
  try {
    fleetFromText(yaml(defaults), 'services.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.line}:${i.column} ${i.message}`);
    throw e;
  }
  return [];
}

describe('defaults.connectTimeout', () => {
  it('seconds, into milliseconds; unset leaves the commands their default', () => {
    expect(fleetFromText(yaml('connectTimeout: 25'), 'services.yaml').connectTimeoutMs).toBe(25_000);
    expect(fleetFromText(yaml('connectTimeout: 2.5'), 'services.yaml').connectTimeoutMs).toBe(2500);
    expect(fleetFromText(yaml('charset: utf8mb4'), 'services.yaml').connectTimeoutMs).toBeUndefined();
  });

  it('zero, negative, too long or not a number: an error at its place', () => {
    for (const bad of ['connectTimeout: 0', 'connectTimeout: -3', 'connectTimeout: 99999', 'connectTimeout: soon']) {
      const found = issues(bad);
      expect(found.length, bad).toBeGreaterThan(0);
      expect(found[0], bad).toMatch(/^3:\d+ .*connectTimeout/);
    }
  });
});

describe('defaults.rotationMaxAge', () => {
  it('days; invalid values are errors', () => {
    expect(fleetFromText(yaml('rotationMaxAge: 3'), 'services.yaml').rotationMaxAgeDays).toBe(3);
    expect(issues('rotationMaxAge: 0').length).toBeGreaterThan(0);
    expect(issues('rotationMaxAge: "a week"').length).toBeGreaterThan(0);
  });
});
