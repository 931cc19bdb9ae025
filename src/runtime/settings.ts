// Settings drift of a running local server, read over an admin session (one query: pipelined with the
// status queries of health.ts it adds no round trip), and its application at run time with SET GLOBAL.
import { OperationalError } from '../errors.js';
import type { Fleet, FleetServer } from '../fleet/model.js';
import {
  comparedOptionNames,
  localServerOptions,
  type SettingDrift,
  setGlobalStatements,
  settingsDrift,
} from '../mycnf/drift.js';
import { parseVersion } from '../util/version.js';
import type { AdminSession } from './admin.js';
import type { LocalServerState } from './state.js';

/**
 * The memory scale a local server was started with (recorded by `dbps up`); for a server started by a
 * dbps that did not record it, DBPS_MEMORY_SCALE when set, else 1.
 */
export function recordedMemoryScale(entry: LocalServerState | undefined, env: NodeJS.ProcessEnv = {}): number {
  if (entry?.memoryScale !== undefined) return entry.memoryScale;
  const fromEnv = Number(env.DBPS_MEMORY_SCALE);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 1;
}

/**
 * What differs between the options `dbps up` would write for this server now and the values it runs
 * with; undefined when the state dir does not say which MariaDB it runs (nothing to compare against).
 */
export async function readSettingsDrift(
  session: AdminSession,
  fleet: Fleet,
  server: FleetServer,
  entry: LocalServerState | undefined,
  memoryScale = recordedMemoryScale(entry),
): Promise<SettingDrift[] | undefined> {
  if (!entry?.version) return undefined;
  let options: ReturnType<typeof localServerOptions>;
  const version = parseVersion(entry.version);
  try {
    options = localServerOptions(fleet, server, version, memoryScale);
  } catch {
    return undefined; // an option the running version does not know: `up` reports that itself
  }
  const names = comparedOptionNames(options);
  const rows = await session.query<{ Variable_name: string; Value: string }>(
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => '?').join(', ')})`,
    names,
  );
  return settingsDrift(options, new Map(rows.map((r) => [r.Variable_name.toLowerCase(), String(r.Value)])), version);
}

/** Applies dynamic drift with SET GLOBAL, then reads back what is still different (should be nothing). */
export async function applyDynamicSettings(
  session: AdminSession,
  fleet: Fleet,
  server: FleetServer,
  entry: LocalServerState,
  memoryScale: number,
  drift: readonly SettingDrift[],
): Promise<SettingDrift[]> {
  for (const s of setGlobalStatements(drift)) {
    try {
      await session.query(s.sql, s.params);
    } catch (e) {
      throw new OperationalError(
        `server "${server.name}": ${s.sql.replace(' = ?', '')} failed: ${(e as Error).message}`,
        {
          server: server.name,
          hint: `its my.cnf already holds the new value: \`dbps down ${server.name} && dbps up ${server.name}\` applies it with a restart`,
          cause: e,
        },
      );
    }
  }
  return (await readSettingsDrift(session, fleet, server, entry, memoryScale)) ?? [];
}
