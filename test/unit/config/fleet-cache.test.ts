import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fleetFromText } from '../../../src/config/from-text.js';
import { loadFleet } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';
import { repoRoot } from '../../helpers/fleets.js';

// From source there is no build id, so the cache is off unless a test names one.
const BUILD = 'test-build';

let dir: string;
let stateDir: string;
let cacheDir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'dbps-fleet-cache-'));
  stateDir = path.join(dir, '.dbps');
  cacheDir = path.join(stateDir, 'cache');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const entries = () => {
  try {
    return readdirSync(cacheDir).filter((n) => n.startsWith('fleet-'));
  } catch {
    return [];
  }
};

const fleetFiles = [
  ...readdirSync(path.join(repoRoot, 'fixtures', 'fleets')).map((f) => path.join('fixtures', 'fleets', f)),
  'templates/ecommerce.yaml',
  'templates/minimal.yaml',
  'fixtures/catalog/fleet.yaml',
];

describe('fleet cache', () => {
  it.each(fleetFiles)('%s: the cached Fleet is identical to a freshly parsed one', async (relative) => {
    const file = path.join(dir, 'services.yaml');
    copyFileSync(path.join(repoRoot, relative), file);
    const fresh = fleetFromText(readFileSync(file, 'utf8'), file);
    const first = await loadFleet(file, { stateDir, buildId: BUILD });
    expect(entries()).toHaveLength(1);
    const cached = await loadFleet(file, { stateDir, buildId: BUILD });
    expect(first).toStrictEqual(fresh);
    expect(cached).toStrictEqual(fresh);
    expect(cached).not.toBe(first);
    // Warnings live in the Fleet, so a cached load shows them as a fresh one does.
    expect(cached.warnings).toEqual(fresh.warnings);
  });

  it('sees every edit of services.yaml, even one that keeps the size', async () => {
    const file = path.join(dir, 'services.yaml');
    writeFileSync(file, 'version: 1\nfleet: shop\nservices:\n  orders: {}\n');
    expect((await loadFleet(file, { stateDir, buildId: BUILD })).services.map((s) => s.name)).toEqual(['orders']);
    writeFileSync(file, 'version: 1\nfleet: shop\nservices:\n  ordenz: {}\n');
    expect((await loadFleet(file, { stateDir, buildId: BUILD })).services.map((s) => s.name)).toEqual(['ordenz']);
    // The old text's entry is gone; only the current one stays.
    expect(entries()).toHaveLength(1);
  });

  it('never caches an invalid file: every load reports its issues', async () => {
    const file = path.join(dir, 'services.yaml');
    writeFileSync(file, 'version: 1\nfleet: shop\nservices:\n  orders: { memory: lots }\n');
    await expect(loadFleet(file, { stateDir, buildId: BUILD })).rejects.toBeInstanceOf(ConfigError);
    expect(entries()).toEqual([]);
    await expect(loadFleet(file, { stateDir, buildId: BUILD })).rejects.toBeInstanceOf(ConfigError);
  });

  it('ignores and rewrites a damaged or foreign entry', async () => {
    const file = path.join(dir, 'services.yaml');
    writeFileSync(file, 'version: 1\nfleet: shop\nservices:\n  orders: {}\n');
    const fresh = await loadFleet(file, { stateDir, buildId: BUILD });
    const entry = path.join(cacheDir, entries()[0]!);
    for (const damage of [
      '{"format":1,',
      '{}',
      'null',
      JSON.stringify({ format: 1, key: 'other', fleet: fresh }),
      JSON.stringify({ format: 1, key: path.basename(entry).slice(6, -5), fleet: { name: 'x' } }),
    ]) {
      writeFileSync(entry, damage);
      expect(await loadFleet(file, { stateDir, buildId: BUILD })).toStrictEqual(fresh);
      expect(JSON.parse(readFileSync(entry, 'utf8')).fleet).toStrictEqual(fresh);
    }
  });

  it('keys on the build and the path as named, and is off without a state dir or build id', async () => {
    const file = path.join(dir, 'services.yaml');
    writeFileSync(file, 'version: 1\nfleet: shop\nservices:\n  orders: {}\n');
    await loadFleet(file, { buildId: BUILD });
    await loadFleet(file, { stateDir, buildId: '' });
    expect(entries()).toEqual([]);
    await loadFleet(file, { stateDir, buildId: BUILD });
    const [first] = entries();
    await loadFleet(file, { stateDir, buildId: 'other-build' });
    expect(entries()).not.toContain(first);
    const viaOtherName = await loadFleet(path.join(dir, '.', 'x', '..', 'services.yaml'), {
      stateDir,
      buildId: 'other-build',
    });
    expect(viaOtherName.file).toBe(path.join(dir, '.', 'x', '..', 'services.yaml'));
  });

  it('still loads when the state dir cannot be written', async () => {
    const file = path.join(dir, 'services.yaml');
    writeFileSync(file, 'version: 1\nfleet: shop\nservices:\n  orders: {}\n');
    writeFileSync(path.join(dir, 'blocked'), 'a file where the state dir would be');
    const fleet = await loadFleet(file, { stateDir: path.join(dir, 'blocked'), buildId: BUILD });
    expect(fleet.name).toBe('shop');
  });
});
