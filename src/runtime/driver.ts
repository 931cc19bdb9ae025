// One interface over the two kinds of server: local mariadbd processes dbps runs, and external
// servers it only talks to. Commands pick the driver by `server.driver` and never branch further.
import type { Fleet, FleetServer } from '../fleet/model.js';
import type { SettingDrift } from '../mycnf/drift.js';
import type { FleetState } from './state.js';

export type ServerRunState = 'running' | 'stopped' | 'crashed' | 'unreachable';

/** Per-service health on its server (from the processlist and the schema list). */
export interface ServiceHealth {
  service: string;
  database: string;
  /** False until `dbps provision` has created the database. */
  databaseExists: boolean;
  threadsConnected: number;
  /** Connections on the database running a statement (not sleeping). */
  activeQueries: number;
  /** InnoDB reads that missed the buffer pool; the server's figure (InnoDB does not count them per schema). */
  bufferPoolReads: number;
}

import type { ServerTlsStatus } from './tls-status.js';

export interface ServerProbe {
  server: string;
  driver: 'local' | 'external';
  services: string[];
  host: string;
  port?: number;
  socket?: string;
  pid?: number;
  state: ServerRunState;
  /** Why a server is crashed / unreachable / stopped, in one sentence. */
  detail?: string;
  /** True when the server should be running (local: started by `up` and not stopped by `down`; external: always). */
  shouldRun: boolean;
  /** In the state dir but not in services.yaml (renamed or removed): shown, never counted as down. */
  orphan?: boolean;
  version?: string;
  uptimeSeconds?: number;
  threadsConnected?: number;
  bufferPoolReads?: number;
  health: ServiceHealth[];
  /** TLS of the server and of dbps's session to it (src/runtime/tls-status.ts). */
  tls?: ServerTlsStatus;
  /** Set when a restore of this server was interrupted (`status` exits 3 until it is resumed or rolled back). */
  restoreInterrupted?: { set: string; phase: string; movedAside: string };
  /** Running local server: options whose running value differs from the my.cnf `dbps up` would write now. */
  settingsDrift?: SettingDrift[];
}

export type StartAction =
  | 'created'
  | 'started'
  | 'recovered'
  | 'already-running'
  | 'reachable'
  /** `up --restart`: settings changed at run time with SET GLOBAL (no restart). */
  | 'reconfigured'
  /** `up --restart`: a clean shutdown and a start with the new my.cnf (static settings changed). */
  | 'restarted';

export interface StartOutcome {
  server: string;
  action: StartAction;
  port?: number;
  socket?: string;
  pid?: number;
  /** Seconds from the start of this server's work to accepting connections. */
  seconds: number;
  /** The MariaDB version that runs (local servers: the mariadbd that started it). */
  version?: string;
  /** Already running with settings that differ from services.yaml (`up --restart` applies them). */
  pendingSettings?: SettingDrift[];
  /** `up --restart`: the settings that were applied (reconfigured or restarted). */
  appliedSettings?: SettingDrift[];
}

export type StopAction = 'stopped' | 'killed' | 'already-stopped' | 'left-running';

export interface StopOutcome {
  server: string;
  action: StopAction;
  /** The datadir and every file of the server were removed (`--destroy`). */
  destroyed: boolean;
  /** Set when a clean shutdown timed out and the server was killed. */
  warning?: string;
}

export interface DriverContext {
  fleet: Fleet;
  stateDir: string;
  /** state.json as read at the start of the command (drivers record changes through updateState). */
  state: FleetState;
  env: NodeJS.ProcessEnv;
  /** Progress line for the server's task ("initialising datadir", "waiting for connections"). */
  progress(text: string): void;
}

export interface StartOptions {
  /** Port chosen by the command (declared, recorded or allocated); local servers only. */
  port?: number;
  memoryScale: number;
  /** A running server whose settings differ from services.yaml gets them (SET GLOBAL or a clean restart). */
  restart?: boolean;
  /** memoryScale came from --memory-scale / DBPS_MEMORY_SCALE; else a running server keeps the scale it started with. */
  memoryScaleExplicit?: boolean;
}

export interface StopOptions {
  destroy: boolean;
}

export interface Driver {
  start(server: FleetServer, ctx: DriverContext, opts: StartOptions): Promise<StartOutcome>;
  stop(server: FleetServer, ctx: DriverContext, opts: StopOptions): Promise<StopOutcome>;
  probe(server: FleetServer, ctx: DriverContext): Promise<ServerProbe>;
}

/** The driver for a server, loaded lazily so commands pull in only what they use. */
export async function driverFor(server: FleetServer): Promise<Driver> {
  if (server.driver === 'external') return (await import('./external.js')).externalDriver;
  return (await import('./local.js')).localDriver;
}
