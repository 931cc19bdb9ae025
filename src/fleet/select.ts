// Which servers a command acts on, from the service names on its command line. Pure.
import { UsageError } from '../errors.js';
import { quoted } from '../util/printable.js';
import { didYouMean } from '../util/suggest.js';
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
        hint: `services: ${fleet.services.map((s) => s.name).join(', ')}`,
      },
    );
  }
  return fleet.servers.filter((s) => wanted.has(s.name));
}

/** How a server is named in progress and tables: `orders`, or `shared (inventory, payments)`. */
export function serverLabel(server: FleetServer): string {
  const onlyItsOwn = server.services.length === 1 && server.services[0] === server.name;
  return onlyItsOwn || server.services.length === 0 ? server.name : `${server.name} (${server.services.join(', ')})`;
}
