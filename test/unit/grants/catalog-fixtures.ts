// Loads fixtures/catalog/*.json: a patch (add rows, set account fields) over base.json, the catalog of a
// cleanly provisioned shared server for fixtures/catalog/fleet.yaml.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fleetFromText } from '../../../src/config/from-text.js';
import type { Fleet } from '../../../src/fleet/model.js';
import type { AdminAccount, SeverityOverride } from '../../../src/grants/audit.js';
import type { RotationRecord } from '../../../src/grants/rotation.js';
import type { Catalog, CatalogAccount } from '../../../src/grants/types.js';

export const FIXTURES = path.resolve(import.meta.dirname, '../../../fixtures/catalog');

interface Patch {
  note: string;
  fleet?: string;
  version?: string;
  add?: Partial<Record<keyof Catalog, unknown[]>>;
  set?: (Partial<CatalogAccount> & { user: string; host: string })[];
  adminUsers?: string[];
  adminAccounts?: AdminAccount[];
  severity?: Record<string, SeverityOverride>;
  /** Unfinished password rotations (rotations.json) and the audit's time. */
  rotations?: RotationRecord[];
  now?: string;
}

export interface LoadedFixture {
  fleet: Fleet;
  catalog: Catalog;
  adminUsers: string[];
  adminAccounts: AdminAccount[];
  severity: Record<string, SeverityOverride>;
  rotations: RotationRecord[];
  now: Date;
}

const ACCOUNT_DEFAULTS: Omit<CatalogAccount, 'user' | 'host'> = {
  isRole: false,
  plugin: 'mysql_native_password',
  hasPassword: true,
  locked: false,
  maxUserConnections: 0,
  sslType: '',
  defaultRole: '',
  globalPrivileges: [],
  globalGrantOption: false,
};

export function loadFleetFixture(file = 'fleet.yaml'): Fleet {
  return fleetFromText(readFileSync(path.join(FIXTURES, file), 'utf8'), file);
}

export function loadCatalogFixture(name: string): LoadedFixture {
  const patch = (
    name === 'base' ? { note: 'base' } : JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'))
  ) as Patch;
  const fleet = loadFleetFixture(patch.fleet);
  let text = readFileSync(path.join(FIXTURES, 'base.json'), 'utf8');
  // The private-net fleet puts service accounts on 10.0.0.%: move the base rows there.
  if (fleet.accountHost !== '%') text = text.replaceAll('"host": "%"', `"host": "${fleet.accountHost}"`);
  const catalog = JSON.parse(text) as Catalog;
  if (patch.version) catalog.version = patch.version;
  for (const [key, rows] of Object.entries(patch.add ?? {})) {
    const record = catalog as unknown as Record<string, unknown[] | undefined>;
    record[key] ??= [];
    const list = record[key]!;
    for (const row of rows) list.push(key === 'accounts' ? { ...ACCOUNT_DEFAULTS, ...(row as object) } : row);
  }
  for (const s of patch.set ?? []) {
    const a = catalog.accounts.find((x) => x.user === s.user && x.host === s.host);
    if (!a) throw new Error(`fixture ${name}: no account ${s.user}@${s.host} to set`);
    Object.assign(a, s);
  }
  return {
    fleet,
    catalog,
    adminUsers: patch.adminUsers ?? [],
    adminAccounts: patch.adminAccounts ?? [],
    severity: patch.severity ?? {},
    rotations: patch.rotations ?? [],
    now: new Date(patch.now ?? '2026-12-01T00:00:00Z'),
  };
}
