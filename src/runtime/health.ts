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
  const [versionRow] = await session.query<{ v: string }>('SELECT VERSION() AS v');
  const statusRows = await session.query<{ Variable_name: string; Value: string }>(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Uptime', 'Threads_connected', 'Innodb_buffer_pool_reads')",
  );
  const status = new Map(statusRows.map((r) => [r.Variable_name.toLowerCase(), Number(r.Value)]));
  const services = servicesOn(fleet, server);
  const databases = services.map((s) => s.database);
  const existing = new Set<string>();
  const perDb = new Map<string, { threads: number; active: number }>();
  if (databases.length) {
    const marks = databases.map(() => '?').join(', ');
    for (const r of await session.query<{ name: string }>(
      `SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${marks})`,
      databases,
    )) {
      existing.add(r.name);
    }
    // Our own admin connection has no default database, so it never counts towards a service.
    const rows = await session.query<{ db: string; threads: number; active: number }>(
      `SELECT DB AS db, COUNT(*) AS threads,
              SUM(COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump', 'Binlog Dump GTID') AND ID <> CONNECTION_ID()) AS active
         FROM information_schema.PROCESSLIST WHERE DB IN (${marks}) GROUP BY DB`,
      databases,
    );
    for (const r of rows) perDb.set(r.db, { threads: Number(r.threads), active: Number(r.active ?? 0) });
  }
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
