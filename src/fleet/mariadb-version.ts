// Which MariaDB services.yaml declares against the one that runs locally. `dbps up` runs (and writes
// each my.cnf for) the installed mariadbd whatever the file says; up and doctor say so when they differ.
import { someNames } from '../util/suggest.js';
import { parseVersion, type ServerVersion, seriesOf } from '../util/version.js';
import type { Fleet, FleetServer } from './model.js';

export interface VersionDifference {
  /** The version services.yaml declares (server `mariadb:` or `defaults.mariadb`), as written. */
  declared: string;
  /** The version that runs (or would run): the installed mariadbd's, e.g. `10.11.14`. */
  running: string;
  /** The local servers concerned, in file order. */
  servers: string[];
}

/** Local servers whose declared series (11.8) is not the running one's, grouped by declared version. */
export function versionDifferences(
  fleet: Fleet,
  running: (server: FleetServer) => ServerVersion | undefined,
): VersionDifference[] {
  const groups = new Map<string, VersionDifference>();
  for (const server of fleet.servers) {
    if (server.driver !== 'local') continue;
    const actual = running(server);
    const declared = server.mariadb || fleet.mariadb;
    if (!actual || !declared || declaredSeries(declared) === seriesOf(actual)) continue;
    const key = `${declared}\0${actual.text}`;
    const group = groups.get(key) ?? { declared, running: actual.text, servers: [] };
    group.servers.push(server.name);
    groups.set(key, group);
  }
  return [...groups.values()];
}

function declaredSeries(declared: string): string | undefined {
  try {
    return seriesOf(parseVersion(declared));
  } catch {
    return undefined; // not a version (the schema refuses it before this)
  }
}

/** One sentence naming both versions and what dbps does about it. */
export function versionDifferenceText(
  d: VersionDifference,
  file: string,
  which: 'installed' | 'running' = 'installed',
): string {
  const series = seriesOf(parseVersion(d.running));
  return (
    `${file} declares MariaDB ${d.declared} for ${someNames(d.servers, 3)}, but the ${which} mariadbd is ${d.running}: ` +
    `\`dbps up\` runs ${d.running} with a my.cnf for ${series}; generated compose and Kubernetes files keep ${d.declared}`
  );
}

/** How to make the two agree. */
export function versionDifferenceFix(d: VersionDifference): string {
  const series = seriesOf(parseVersion(d.running));
  return `install MariaDB ${d.declared} (or point DBPS_MARIADB_BINDIR at it), or declare mariadb: "${series}" in services.yaml`;
}
