// The resolved fleet: what services.yaml means once defaults, implicit servers and accounts are filled in.
// Plain data, no I/O; every command after `validate` consumes this.

import type { ProfileName } from '../config/types.js';
import type { ConfigIssue } from '../errors.js';

export type { ProfileName };
export type Isolation = 'instance' | 'schema';
export type AccountRole = 'app' | 'migrator' | 'readonly' | 'outbox-relay';

export interface Fleet {
  name: string;
  /** Path of services.yaml as the user named it, for messages. */
  file: string;
  /** Default MariaDB version for generated my.cnf, compose and Kubernetes output. */
  mariadb: string;
  charset: string;
  collation: string;
  accountHost: string;
  /** Host part of every server's dbps_monitor (`defaults.monitor.host`, else accountHost). */
  monitorHost: string;
  basePort: number;
  servers: FleetServer[];
  services: FleetService[];
  /** Things that are legal but probably not what the user meant. */
  warnings: ConfigIssue[];
}

export interface AdminAccess {
  user: string;
  passwordEnv?: string;
  socket?: string;
}

export type TlsMode = 'verify-full' | 'verify-ca' | 'required' | 'disabled';

export interface ServerTls {
  mode: TlsMode;
  /** The CA file as written in services.yaml (relative to its directory). */
  ca?: string;
}

export interface FleetServer {
  name: string;
  driver: 'local' | 'external';
  /** `instance`: created for one service that has no `server:`; `schema`: declared under `servers:`. */
  isolation: Isolation;
  profile: ProfileName;
  memoryBytes: number;
  /** `localMemory:`: what `dbps up` gives a local server instead of memoryBytes (generated files keep memoryBytes). */
  localMemoryBytes?: number;
  /** Volume size for image-based output, e.g. "10Gi". */
  storage: string;
  /** Port given in services.yaml; local servers without one get a port allocated at `up`. */
  port?: number;
  host?: string;
  admin?: AdminAccess;
  /**
   * TLS on dbps's connections (external servers: from `tls:` with its defaults resolved; local
   * servers get their certificate from `dbps up` and are reached over their socket).
   */
  tls?: ServerTls;
  serverId: number;
  gtidDomainId: number;
  /** MariaDB version for generated output (image tag, option set). */
  mariadb: string;
  /** Names of the services living on this server, in file order. */
  services: string[];
  /** Host part of dbps_backup: `localhost` for local servers, `backupHost:` (else accountHost) for external ones. */
  backupHost?: string;
  /** `binlogs: follow` in services.yaml. */
  binlogsFollow?: boolean;
}

export interface FleetAccount {
  user: string;
  host: string;
  role: AccountRole;
  service: string;
  passwordEnv?: string;
  maxUserConnections?: number;
  requireSsl: boolean;
}

export interface FleetRead {
  service: string;
  database: string;
  tables: string[];
  /** True when both services share one server, so the read can be granted; else it is only documented. */
  granted: boolean;
}

/**
 * A declared CONNECT link (`services.<reader>.links`): on the target's server a read-only account with
 * SELECT on exactly these tables; on the reader's server a CREATE SERVER entry holding its credentials,
 * one CONNECT table per table, and a view over each that the reader's accounts read.
 */
export interface FleetLink {
  /** The service whose tables are read. */
  service: string;
  /** Its server and database. */
  server: string;
  database: string;
  tables: string[];
  via: 'connect';
  /** The read-only account on the target server, and the locked definer of the views on the reader's. */
  user: string;
  /** Host part of the account on the target server: where the reader's server connects from. */
  host: string;
  /** The same for image-based output (compose, Kubernetes), where servers are not on this machine: `host:`, else accountHost. */
  imageHost: string;
  /** Name of the CREATE SERVER entry on the reader's server (holds the account's credentials). */
  serverName: string;
}

export interface OutboxPurge {
  /** Event name in the service's database: `<stem>_outbox_purge`. */
  event: string;
  /** As written in services.yaml (`7d`), for messages. */
  retention: string;
  retentionSeconds: number;
  /** How often the event runs: every hour, or a sixth of the retention when that is shorter (at least 10 s). */
  everySeconds: number;
  /** The service's migrator, the event's definer (never the admin). */
  definer: { user: string; host: string };
}

export interface FleetService {
  name: string;
  server: string;
  database: string;
  charset: string;
  collation: string;
  isolation: Isolation;
  accounts: FleetAccount[];
  reads: FleetRead[];
  /** Declared CONNECT links (absent in fleets cached before links existed: treat as none). */
  links?: FleetLink[];
  outbox: boolean;
  /** Name of the outbox table when `outbox: true`. */
  outboxTable?: string;
  /** `outbox: { retention }`: the event that purges published rows, run as the service's migrator. */
  outboxPurge?: OutboxPurge;
  /** `<database>_shadow` when `shadowDatabase: true`: the service's scratch database for migration tools. */
  shadowDatabase?: string;
  backup?: { schedule?: string; retention?: string };
}

/** Host part of a server's dbps_backup: where dbps connects from (localhost for a local server). */
export function backupHostOf(fleet: Fleet, server: FleetServer): string {
  return server.backupHost ?? (server.driver === 'external' ? fleet.accountHost : 'localhost');
}

/** The server a service lives on (the Fleet guarantees it exists). */
export function serverOf(fleet: Fleet, service: FleetService): FleetServer {
  const server = fleet.servers.find((s) => s.name === service.server);
  if (!server) throw new Error(`fleet invariant broken: no server ${service.server}`);
  return server;
}

/** Services living on one server, in file order. */
export function servicesOn(fleet: Fleet, server: FleetServer): FleetService[] {
  return fleet.services.filter((s) => s.server === server.name);
}
