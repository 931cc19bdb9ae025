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
  // One statement, one round trip after connecting however far away the server is, and one
  // question in the server's counters (a test counts them): scalar subqueries for the status
  // figures, and the per-database rows folded into JSON arrays.
  const none = 'JSON_ARRAY()';
  const [row] = await session.query<{
    v: string;
    uptime: string | null;
    threads: string | null;
    pool_reads: string | null;
    db_names: string | null;
    db_threads: string | null;
  }>(
    // The arrays are GROUP_CONCAT underneath: lifted past group_concat_max_len for this statement
    // only, so 10,000 long database names are never cut short.
    `SET STATEMENT group_concat_max_len = 4294967295 FOR SELECT VERSION() AS v,
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME') AS uptime,
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED') AS threads,
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_READS') AS pool_reads,
       ${
         databases.length
           ? `(SELECT JSON_ARRAYAGG(SCHEMA_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${marks}))`
           : none
       } AS db_names,
       ${
         // Our own admin connection has no default database, so it never counts towards a service.
         databases.length
           ? `(SELECT JSON_ARRAYAGG(JSON_ARRAY(db, threads, active)) FROM (
                SELECT DB AS db, COUNT(*) AS threads,
                  SUM(COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump', 'Binlog Dump GTID') AND ID <> CONNECTION_ID()) AS active
                FROM information_schema.PROCESSLIST WHERE DB IN (${marks}) GROUP BY DB) AS p)`
           : none
       } AS db_threads`,
    databases.length ? [...databases, ...databases] : [],
  );
  const status = new Map([
    ['uptime', Number(row?.uptime ?? 0)],
    ['threads_connected', Number(row?.threads ?? 0)],
    ['innodb_buffer_pool_reads', Number(row?.pool_reads ?? 0)],
  ]);
  const existing = new Set(jsonList<string>(row?.db_names).map(String));
  const perDb = new Map<string, { threads: number; active: number }>();
  for (const [db, threads, active] of jsonList<[string, number, number | null]>(row?.db_threads))
    perDb.set(String(db), { threads: Number(threads), active: Number(active ?? 0) });
  const bufferPoolReads = status.get('innodb_buffer_pool_reads') ?? 0;
  return {
    version: row?.v ?? '',
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

// A JSON array column as the connector hands it over: parsed already, as text, or NULL for no rows.
function jsonList<T>(v: unknown): T[] {
  let x = v;
  if (typeof x === 'string') {
    try {
      x = JSON.parse(x);
    } catch {
      return [];
    }
  }
  return Array.isArray(x) ? (x as T[]) : [];
}
