// The services.yaml file format (version 1), exactly as written by users.
// The JSON Schema in schema.ts describes the same shape; a test keeps the two in step.

export type ProfileName = 'oltp' | 'olap' | 'sessions' | 'archive';
export type RoleName = 'app' | 'migrator' | 'readonly';

export interface ServicesFile {
  $schema?: string;
  version: 1;
  fleet: string;
  defaults?: DefaultsSpec;
  servers?: Record<string, ServerSpec>;
  services: Record<string, ServiceSpec>;
}

export interface DefaultsSpec {
  /** Image tag for compose / Kubernetes output, and the option set for generated my.cnf. */
  mariadb?: string;
  charset?: string;
  collation?: string;
  accountHost?: string;
  /** The monitor account (dbps_monitor): the host its exporters connect from. */
  monitor?: { host?: string };
  /** First port handed out to local servers that have no `port:`. */
  basePort?: number;
  profile?: ProfileName;
  memory?: string;
  /** Memory of local servers under `dbps up` (laptops); generated files keep `memory`. */
  localMemory?: string;
  storage?: string;
}

export interface AdminSpec {
  user: string;
  passwordEnv?: string;
  socket?: string;
}

export type TlsMode = 'verify-full' | 'verify-ca' | 'required' | 'disabled';

export interface TlsSpec {
  /** PEM file of the CA that signed the server's certificate (relative to services.yaml). */
  ca?: string;
  mode?: TlsMode;
}

export interface ServerSpec {
  driver?: 'local' | 'external';
  profile?: ProfileName;
  memory?: string;
  /** Memory under `dbps up` instead of `memory` (local driver only). */
  localMemory?: string;
  storage?: string;
  port?: number;
  host?: string;
  admin?: AdminSpec;
  /** TLS on dbps's connections to an external server. */
  tls?: TlsSpec;
  serverId?: number;
  mariadb?: string;
  /** Host part of dbps_backup on this server: where dbps connects from (external servers; default: accountHost). */
  backupHost?: string;
  /** `follow`: `dbps generate --only systemd` writes a `dbps binlogs follow` service for this server. */
  binlogs?: 'follow';
}

export interface UserSpec {
  name: string;
  role: RoleName;
  host?: string;
  passwordEnv?: string;
  maxUserConnections?: number;
  requireSsl?: boolean;
}

export interface ReadSpec {
  service: string;
  tables: string[];
}

/** A declared CONNECT link: the service reads these tables of another service's server. */
export interface LinkSpec {
  service: string;
  tables: string[];
  via: 'connect';
  /** Host part of the link account on the target server (where the reader's server connects from). */
  host?: string;
}

export interface BackupSpec {
  schedule?: string;
  retention?: string;
}

export interface ServiceSpec {
  server?: string;
  database?: string;
  profile?: ProfileName;
  memory?: string;
  /** Memory of the service's own instance under `dbps up` instead of `memory`. */
  localMemory?: string;
  storage?: string;
  port?: number;
  serverId?: number;
  charset?: string;
  collation?: string;
  users?: UserSpec[];
  reads?: ReadSpec[];
  /** Declared CONNECT links to other services' servers. */
  links?: LinkSpec[];
  /** `true`, or `{ retention: 7d }`: an event of the service purges published rows older than that. */
  outbox?: boolean | { retention: string };
  /** `<database>_shadow`: a scratch database the migrator may create and drop. */
  shadowDatabase?: boolean;
  backup?: BackupSpec;
}
