// Fleets for generate tests, built through the real loader (parse + resolve) so tests see what users get.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleetFromText } from '../../src/config/from-text.js';
import type { ProfileName } from '../../src/config/types.js';
import type { Fleet } from '../../src/fleet/model.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Third-party JSON Schemas vendored under fixtures/schemas (source, version and license in its READMEs). */
export const vendoredSchemas = path.join(repoRoot, 'fixtures', 'schemas');

/** A Fleet from services.yaml text. */
export function fleetOf(text: string, file = 'services.yaml'): Fleet {
  return fleetFromText(text, file);
}

/** A Fleet from a file under fixtures/. */
export function fixtureFleet(relative: string): Fleet {
  return fleetOf(readFileSync(path.join(repoRoot, 'fixtures', relative), 'utf8'), path.basename(relative));
}

/** The ecommerce template as `dbps init` writes it, with defaults.mariadb replaced. */
export function ecommerceFleet(mariadb: string): Fleet {
  const text = readFileSync(path.join(repoRoot, 'templates', 'ecommerce.yaml'), 'utf8').replace(
    /mariadb: "[0-9.]+"/,
    `mariadb: "${mariadb}"`,
  );
  if (!text.includes(`mariadb: "${mariadb}"`))
    throw new Error('templates/ecommerce.yaml no longer sets defaults.mariadb');
  return fleetOf(text);
}

/** One service on its own server with a profile and memory size. */
export function singleServerFleet(profile: ProfileName, memory: string, mariadb: string): Fleet {
  return fleetOf(
    `version: 1\nfleet: t\ndefaults: { mariadb: "${mariadb}" }\nservices:\n  svc: { profile: ${profile}, memory: ${memory} }\n`,
  );
}

/** `[mysqld]` options of a rendered my.cnf as a map (name -> value text). */
export function parseCnf(text: string): Map<string, string> {
  const options = new Map<string, string>();
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const m = /^([a-z0-9_]+) = (.*)$/.exec(line);
    if (m && section === 'mysqld') {
      if (options.has(m[1]!)) throw new Error(`option ${m[1]} written twice`);
      options.set(m[1]!, m[2]!);
    }
  }
  return options;
}

/** Bytes of a my.cnf size value ("80M", "2G", "262144"). */
export function cnfBytes(value: string): number {
  const m = /^([0-9]+)([KMG]?)$/.exec(value);
  if (!m) throw new Error(`not a size: ${value}`);
  return Number(m[1]) * ({ '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[m[2]!]!;
}
