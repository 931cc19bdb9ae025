// docker-compose.yml for the fleet: one MariaDB container per local server with its generated my.cnf,
// one mysqld_exporter per server, and a Prometheus that scrapes them. Pure: Fleet in, text out.
// Secrets never appear: passwords are `${VAR:?…}` references that compose fills from the environment
// or .env, and fails loudly on when unset.
import { stringify } from 'yaml';
import { UsageError } from '../errors.js';
import { serversNeedingConnect } from '../fleet/links.js';
import type { Fleet, FleetServer } from '../fleet/model.js';
import { exporterCollectorFlags } from '../fleet/monitor.js';
import { MONITOR_USER } from '../fleet/roles.js';
import { servicesLabel } from '../fleet/select.js';

/** Pinned so the same services.yaml always yields the same running fleet. */
export const EXPORTER_IMAGE = 'prom/mysqld-exporter:v0.17.2';
export const PROMETHEUS_IMAGE = 'prom/prometheus:v3.5.0';
export const EXPORTER_PORT = 9104;
/** Where the official mariadb image reads extra option files. */
export const MYCNF_MOUNT = '/etc/mysql/conf.d/dbps.cnf';

/** Where a compose container finds its certificate files, mounted read-only from ./tls/<server>/. */
export const TLS_MOUNT = '/etc/mysql/tls';

/** The ssl_* files in the container (the same names `dbps up` uses under .dbps/servers/<server>/tls/). */
export function composeTlsFiles(): { ca: string; cert: string; key: string } {
  return { ca: `${TLS_MOUNT}/ca.pem`, cert: `${TLS_MOUNT}/server-cert.pem`, key: `${TLS_MOUNT}/server-key.pem` };
}

/** An environment variable name from parts: upper case, anything but letters and digits becomes `_`. */
export function envName(...parts: string[]): string {
  return parts
    .join('_')
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_');
}

/** The variable holding a server's root password in compose (e.g. SHOP_ORDERS_ROOT_PASSWORD). */
export function rootPasswordEnv(fleet: Fleet, server: FleetServer): string {
  return envName(fleet.name, server.name, 'ROOT_PASSWORD');
}

/** The variable holding the password of a server's monitor account (dbps_monitor). */
export function monitorPasswordEnv(fleet: Fleet, server: FleetServer): string {
  return envName(fleet.name, server.name, 'MONITOR_PASSWORD');
}

/**
 * Compose service names of a server's containers. The database is `<server>-db` (for a service on its own
 * server, `<service>-db`), so it never takes the name of the application's own container when the
 * application's compose file and this one are combined.
 */
export function composeNames(server: FleetServer): { mariadb: string; exporter: string; volume: string } {
  return { mariadb: `${server.name}-db`, exporter: `${server.name}-exporter`, volume: `${server.name}-data` };
}

/**
 * Host port of each local server: its own `port:` when given, else the next free port from
 * basePort in fleet order, skipping ports other servers asked for. Same fleet, same ports.
 */
export function hostPorts(fleet: Fleet): Map<string, number> {
  const local = fleet.servers.filter((s) => s.driver === 'local');
  const taken = new Set(local.flatMap((s) => (s.port === undefined ? [] : [s.port])));
  const ports = new Map<string, number>();
  let next = fleet.basePort;
  for (const server of local) {
    if (server.port !== undefined) {
      ports.set(server.name, server.port);
      continue;
    }
    while (taken.has(next)) next++;
    ports.set(server.name, next);
    taken.add(next);
    next++;
  }
  return ports;
}

/** Docker memory limit from bytes, in the largest whole unit ("2g", "512m"). */
export function memLimit(bytes: number): string {
  const units: [string, number][] = [
    ['g', 1024 ** 3],
    ['m', 1024 ** 2],
    ['k', 1024],
  ];
  for (const [unit, size] of units) if (bytes % size === 0) return `${bytes / size}${unit}`;
  return `${Math.ceil(bytes / 1024 ** 2)}m`;
}

/** A required-variable reference: compose stops with this hint when the variable is unset or empty. */
function requiredEnv(name: string, what: string, from: string): string {
  return `\${${name}:?set ${name} to ${what} (${from})}`;
}

/** The whole docker-compose.yml text. */
export function renderCompose(fleet: Fleet): string {
  const ports = hostPorts(fleet);
  const services: Record<string, unknown> = {};
  const volumes: Record<string, Record<string, unknown>> = {};
  const claim = (name: string, by: string) => {
    if (name in services) {
      throw new UsageError(`docker-compose.yml would hold two services named "${name}" (${by})`, {
        hint: 'rename one of the servers in services.yaml',
      });
    }
  };

  const connect = serversNeedingConnect(fleet);
  for (const server of fleet.servers) {
    const names = composeNames(server);
    const labels = {
      'dev.dbps.fleet': fleet.name,
      'dev.dbps.server': server.name,
      ...Object.fromEntries(Object.entries(servicesLabel(server)).map(([k, v]) => [`dev.dbps.${k}`, v])),
    };
    let mariadbAddress: string;
    let dependsOn: Record<string, { condition: string }> | undefined;
    if (server.driver === 'local') {
      claim(names.mariadb, `server ${server.name}`);
      services[names.mariadb] = {
        ...(connect.has(server.name)
          ? {
              // The official image has no CONNECT engine (it is the separate mariadb-plugin-connect package of
              // the image's own MariaDB repository); a declared link's reader gets an image with it.
              image: `${fleet.name}-mariadb-connect:${server.mariadb}`,
              build: { context: '.', dockerfile_inline: connectDockerfile(server.mariadb) },
            }
          : { image: `mariadb:${server.mariadb}` }),
        restart: 'unless-stopped',
        environment: {
          MARIADB_ROOT_PASSWORD: requiredEnv(
            rootPasswordEnv(fleet, server),
            `the root password of server ${server.name}`,
            // dbps never holds this one: the container's own root, provisioned as an external server's admin.
            `one you choose, kept in .env beside this file, which dbps init keeps out of git; the same variable is the admin passwordEnv of the services.yaml that provisions this container`,
          ),
        },
        // Loopback only: the databases are for this machine's services, not the network.
        ports: [`127.0.0.1:${ports.get(server.name)}:3306`],
        // The certificate and key are files of this machine (never generated, never in git): see README, TLS.
        volumes: [
          `${names.volume}:/var/lib/mysql`,
          `./mycnf/${server.name}.cnf:${MYCNF_MOUNT}:ro`,
          `./tls/${server.name}:${TLS_MOUNT}:ro`,
        ],
        mem_limit: memLimit(server.memoryBytes),
        healthcheck: {
          test: ['CMD', 'healthcheck.sh', '--connect', '--innodb_initialized'],
          interval: '10s',
          timeout: '5s',
          retries: 5,
          start_period: '30s',
        },
        labels,
      };
      volumes[names.volume] = { labels: { 'dev.dbps.fleet': fleet.name, 'dev.dbps.server': server.name } };
      mariadbAddress = `${names.mariadb}:3306`;
      dependsOn = { [names.mariadb]: { condition: 'service_healthy' } };
    } else {
      // External servers run elsewhere; only their exporter runs here.
      mariadbAddress = `${server.host}:${server.port ?? 3306}`;
    }
    claim(names.exporter, `exporter of server ${server.name}`);
    services[names.exporter] = {
      image: EXPORTER_IMAGE,
      restart: 'unless-stopped',
      // mysqld_exporter 0.15+ takes the address and user as flags and the password from the environment.
      command: [`--mysqld.address=${mariadbAddress}`, `--mysqld.username=${MONITOR_USER}`, ...exporterCollectorFlags()],
      environment: {
        MYSQLD_EXPORTER_PASSWORD: requiredEnv(
          monitorPasswordEnv(fleet, server),
          `the password of ${MONITOR_USER} on server ${server.name}`,
          `run: dbps env ${server.services[0] ?? server.name} --user ${MONITOR_USER} --format dotenv >> .env`,
        ),
      },
      ...(dependsOn ? { depends_on: dependsOn } : {}),
      labels,
    };
  }

  claim('prometheus', 'the Prometheus that scrapes the exporters');
  services.prometheus = {
    image: PROMETHEUS_IMAGE,
    restart: 'unless-stopped',
    volumes: ['./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro'],
    ports: ['127.0.0.1:9090:9090'],
    depends_on: fleet.servers.map((s) => composeNames(s).exporter),
    labels: { 'dev.dbps.fleet': fleet.name },
  };

  const external = fleet.servers.filter((s) => s.driver === 'external');
  const header = [
    `# Generated by dbps from ${fleet.file.split(/[\\/]/).pop()}; do not edit (dbps generate rewrites it).`,
    `# Fleet ${fleet.name}: ${fleet.servers.length - external.length} MariaDB container(s), one mysqld_exporter per server, Prometheus on 127.0.0.1:9090.`,
    '# Passwords come from the environment (or .env beside this file); none is written here.',
    // `dbps provision` reaches only the servers services.yaml names, not these containers: say how to reach them.
    `# The service accounts and the exporters' ${MONITOR_USER} do not exist in these containers until provisioned:`,
    '# `dbps provision` does not run them, so list them as external servers (host 127.0.0.1, the ports above,',
    '# admin user root with passwordEnv = the ROOT_PASSWORD variable) in a services.yaml of their own.',
    ...external.map(
      (s) => `# External server ${s.name} (${s.host}:${s.port ?? 3306}) is not run here; only its exporter is.`,
    ),
  ];
  // The fleet name already fits compose's project-name rule (lower case, digits, _ and -).
  const doc = { name: fleet.name, services, ...(Object.keys(volumes).length ? { volumes } : {}) };
  return `${header.join('\n')}\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

/** The image of a server that reads a declared link: the official one plus its CONNECT engine. */
export function connectDockerfile(mariadb: string): string {
  return [
    `FROM mariadb:${mariadb}`,
    'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mariadb-plugin-connect && rm -rf /var/lib/apt/lists/*',
    '',
  ].join('\n');
}
