// The status queries run on a server that answers: version, uptime, connections and per-service health.
import type { Fleet, FleetServer } from '../fleet/model.js';
import { servicesOn } from '../fleet/model.js';
import type { AdminSession } from './admin.js';
import type { ServiceHealth } from './driver.js';

export interface ServerHealth {
  version: string;
  uptimeSeconds: number;
  threadsConnected: number;
  bufferPoolReads: number;
  health: ServiceHealth[];
}

/** Reads the server-wide figures and one health row per service living on the server. */
export async function readHealth(session: AdminSession, fleet: Fleet, server: FleetServer): Promise<ServerHealth> {
  const services = servicesOn(fleet, server);
  const databases = services.map((s) => s.database);
  const marks = databases.map(() => '?').join(', ');
  // Every query is sent at once: the connector pipelines them, so a server costs one round trip
  // after connecting however far away it is.
  const [versionRows, statusRows, schemaRows, processRows] = await Promise.all([
    session.query<{ v: string }>('SELECT VERSION() AS v'),
    session.query<{ Variable_name: string; Value: string }>(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Uptime', 'Threads_connected', 'Innodb_buffer_pool_reads')",
    ),
    databases.length
      ? session.query<{ name: string }>(
          `SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${marks})`,
          databases,
        )
      : Promise.resolve([]),
    // Our own admin connection has no default database, so it never counts towards a service.
    databases.length
      ? session.query<{ db: string; threads: number; active: number }>(
          `SELECT DB AS db, COUNT(*) AS threads,
              SUM(COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump', 'Binlog Dump GTID') AND ID <> CONNECTION_ID()) AS active
         FROM information_schema.PROCESSLIST WHERE DB IN (${marks}) GROUP BY DB`,
          databases,
        )
      : Promise.resolve([]),
  ]);
  const [versionRow] = versionRows;
  const status = new Map(statusRows.map((r) => [r.Variable_name.toLowerCase(), Number(r.Value)]));
  const existing = new Set(schemaRows.map((r) => r.name));
  const perDb = new Map<string, { threads: number; active: number }>();
  for (const r of processRows) perDb.set(r.db, { threads: Number(r.threads), active: Number(r.active ?? 0) });
  const bufferPoolReads = status.get('innodb_buffer_pool_reads') ?? 0;
  return {
    version: versionRow?.v ?? '',
    uptimeSeconds: status.get('uptime') ?? 0,
    threadsConnected: status.get('threads_connected') ?? 0,
    bufferPoolReads,
    health: services.map((s) => ({
      service: s.name,
      database: s.database,
      databaseExists: existing.has(s.database),
      threadsConnected: perDb.get(s.database)?.threads ?? 0,
      activeQueries: perDb.get(s.database)?.active ?? 0,
      bufferPoolReads,
    })),
  };
}
