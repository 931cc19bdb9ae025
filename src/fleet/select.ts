// Which servers a command acts on, from the service names on its command line. Pure.
import { UsageError } from '../errors.js';
import { quoted } from '../util/printable.js';
import { didYouMean, someNames } from '../util/suggest.js';
import type { Fleet, FleetServer } from './model.js';

/**
 * The servers holding the named services (a server name is accepted too, for shared servers), in
 * fleet order without duplicates; every server when no name is given. Unknown names: exit 2.
 */
export function selectServers(fleet: Fleet, names: string[]): FleetServer[] {
  if (names.length === 0) return [...fleet.servers];
  const wanted = new Set<string>();
  for (const name of names) {
    const service = fleet.services.find((s) => s.name === name);
    if (service) {
      wanted.add(service.server);
      continue;
    }
    if (fleet.servers.some((s) => s.name === name)) {
      wanted.add(name);
      continue;
    }
    throw new UsageError(
      `${quoted(name)} is not a service in ${fleet.file}${didYouMean(
        name,
        fleet.services.map((s) => s.name),
      )}`,
      {
        hint: `services: ${someNames(fleet.services.map((s) => s.name))}`,
      },
    );
  }
  return fleet.servers.filter((s) => wanted.has(s.name));
}

/** Beyond this many services a server is named with its count, so a line does not grow with the fleet. */
const LABEL_MAX_SERVICES = 3;

/** How a server is named in progress and tables: `orders`, `shared (inventory, payments)`, `shared (800 services)`. */
export function serverLabel(server: FleetServer): string {
  const onlyItsOwn = server.services.length === 1 && server.services[0] === server.name;
  if (onlyItsOwn || server.services.length === 0) return server.name;
  if (server.services.length > LABEL_MAX_SERVICES) return `${server.name} (${server.services.length} services)`;
  return `${server.name} (${server.services.join(', ')})`;
}

/** Beyond this many services a label lists none of them: label values stay short at any fleet size. */
const SERVICES_LABEL_MAX = 10;

/**
 * Metric and container labels naming a server's services: `{ services: 'a,b' }` for a few, or
 * `{ service_count: '800' }` beyond SERVICES_LABEL_MAX (the list is in services.yaml and fleet.md).
 */
export function servicesLabel(server: FleetServer): { services: string } | { service_count: string } {
  return server.services.length <= SERVICES_LABEL_MAX
    ? { services: server.services.join(',') }
    : { service_count: String(server.services.length) };
}

/**
 * Local servers the state dir holds that services.yaml no longer declares (a service renamed or
 * removed): still running, or still holding data, and invisible unless named.
 */
export function orphanServerNames(fleet: Fleet, stateServers: Iterable<string>): string[] {
  const declared = new Set(fleet.servers.map((s) => s.name));
  return [...stateServers].filter((name) => !declared.has(name)).sort();
}

/** A stand-in FleetServer for an orphan, enough for the local driver to probe, stop or destroy it. */
export function orphanServer(name: string): FleetServer {
  return {
    name,
    driver: 'local',
    isolation: 'instance',
    profile: 'oltp',
    memoryBytes: 0,
    storage: '',
    serverId: 0,
    gtidDomainId: 0,
    mariadb: '',
    services: [],
  };
}
