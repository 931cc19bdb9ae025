// Which MariaDB services.yaml declares against the one that runs: grouped per declared version, local
// servers only, series compared (11.8 declared, 11.8.9 running is no difference).
import { describe, expect, it } from 'vitest';
import { versionDifferenceFix, versionDifferences, versionDifferenceText } from '../../../src/fleet/mariadb-version.js';
import { parseVersion } from '../../../src/util/version.js';
import { fleetOf } from '../../helpers/fleets.js';

const fleet = fleetOf(`version: 1
fleet: v
defaults: { mariadb: "11.8" }
servers:
  old: { driver: local, mariadb: "10.11" }
  ext: { driver: external, host: db.internal, admin: { user: root } }
services:
  orders: {}
  customers: {}
  legacy: { server: old }
  billing: { server: ext }
`);

describe('versionDifferences', () => {
  it('groups the local servers whose declared series is not the running one, in file order', () => {
    const running = parseVersion('10.11.19');
    expect(versionDifferences(fleet, () => running)).toStrictEqual([
      { declared: '11.8', running: '10.11.19', servers: ['orders', 'customers'] },
    ]);
  });

  it('compares series only, and leaves out servers with no known running version', () => {
    expect(versionDifferences(fleet, (s) => (s.name === 'old' ? parseVersion('10.11.6') : undefined))).toStrictEqual(
      [],
    );
    expect(versionDifferences(fleet, () => parseVersion('11.8.9'))).toStrictEqual([
      { declared: '10.11', running: '11.8.9', servers: ['old'] },
    ]);
  });

  it('says which version runs and which the file declares, and how to make them agree', () => {
    const [d] = versionDifferences(fleet, () => parseVersion('10.11.19'));
    expect(versionDifferenceText(d!, 'services.yaml', 'running')).toBe(
      'services.yaml declares MariaDB 11.8 for orders, customers, but the running mariadbd is 10.11.19: `dbps up` runs 10.11.19 with a my.cnf for 10.11; generated compose and Kubernetes files keep 11.8',
    );
    expect(versionDifferenceFix(d!)).toBe(
      'install MariaDB 11.8 (or point DBPS_MARIADB_BINDIR at it), or declare mariadb: "10.11" in services.yaml',
    );
  });
});
