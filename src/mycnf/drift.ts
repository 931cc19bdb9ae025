// Settings drift of a local server: the [mysqld] options dbps would write now (services.yaml's profile and
// memory) against the values the running server reports (SHOW GLOBAL VARIABLES). Pure.
import type { Fleet, FleetServer } from '../fleet/model.js';
import { atLeast, type ServerVersion } from '../util/version.js';
import type { OptionSet, OptionValue } from './profiles.js';
import { serverOptions } from './render.js';

/**
 * Options every supported MariaDB (10.6 to 11.x) changes at run time with SET GLOBAL: a change of only
 * these needs no restart. Everything else dbps writes (thread_handling, innodb_log_buffer_size,
 * table_open_cache_instances, server identity …) is applied by a clean shutdown and a start with the new
 * my.cnf.
 */
export const DYNAMIC_OPTIONS: ReadonlySet<string> = new Set([
  'innodb_buffer_pool_size',
  'max_connections',
  'thread_pool_max_threads',
  'wait_timeout',
  'table_open_cache',
  'table_definition_cache',
  'tmp_table_size',
  'max_heap_table_size',
  'join_buffer_size',
  'sort_buffer_size',
  'read_rnd_buffer_size',
  'max_allowed_packet',
  'long_query_time',
  'slow_query_log',
  'event_scheduler',
  'innodb_io_capacity',
  'innodb_io_capacity_max',
  'innodb_flush_log_at_trx_commit',
  'innodb_stats_on_metadata',
  'innodb_adaptive_hash_index',
  'innodb_compression_default',
  'innodb_compression_algorithm',
  'sync_binlog',
  'binlog_expire_logs_seconds',
  'max_binlog_size',
]);

/** Options that became dynamic in a later version than the oldest dbps supports (10.6). */
const DYNAMIC_SINCE: Readonly<Record<string, [number, number]>> = {
  // 10.9 resizes the redo log online (MDEV-27812).
  innodb_log_file_size: [10, 9],
  // 10.11 changes the InnoDB io thread counts online (MDEV-11026).
  innodb_read_io_threads: [10, 11],
  innodb_write_io_threads: [10, 11],
};

/** Whether SET GLOBAL changes `name` on this version (the explicit lists above; anything else restarts). */
export function isDynamic(name: string, version: ServerVersion): boolean {
  if (DYNAMIC_OPTIONS.has(name)) return true;
  const since = DYNAMIC_SINCE[name];
  return since !== undefined && atLeast(version, ...since);
}

/**
 * Options not compared: where the server lives (paths, port: `up` handles a moved port itself) and
 * log_bin, whose variable says ON where my.cnf names the files. Their change needs no settings restart.
 */
const NOT_COMPARED: ReadonlySet<string> = new Set([
  'port',
  'bind_address',
  'socket',
  'datadir',
  'pid_file',
  'log_error',
  'tmpdir',
  'secure_file_priv',
  'log_bin',
]);

export interface SettingDrift {
  /** The option (and server variable) name. */
  name: string;
  /** What services.yaml asks for now, as my.cnf writes it. */
  wanted: string;
  /** What the running server reports. */
  running: string;
  /** True when SET GLOBAL applies it without a restart. */
  dynamic: boolean;
}

/** How a server's drift is applied: nothing to do, SET GLOBAL only, or a clean restart. */
export type DriftRemedy = 'none' | 'set-global' | 'restart';

/** The variable names to read from a running server to compute its drift. */
export function comparedOptionNames(options: OptionSet): string[] {
  return options.map(([k]) => k).filter((k) => !NOT_COMPARED.has(k));
}

/**
 * The options a local server should run with now: its localMemory (else memory), scaled like `dbps up`
 * scales it. The same function feeds the my.cnf `up` writes and the drift status and plan report.
 */
export function localServerOptions(
  fleet: Fleet,
  server: FleetServer,
  version: ServerVersion,
  memoryScale: number,
): OptionSet {
  return serverOptions(fleet, localSized(server), { version, memoryScale });
}

/** localMemory: (a laptop-sized server) replaces memory for `dbps up` only; generated files keep memory. */
export function localSized(server: FleetServer): FleetServer {
  return server.localMemoryBytes ? { ...server, memoryBytes: server.localMemoryBytes } : server;
}

/** Every compared option whose running value differs from the wanted one (unknown variables are skipped). */
export function settingsDrift(
  options: OptionSet,
  running: ReadonlyMap<string, string>,
  version: ServerVersion,
): SettingDrift[] {
  const out: SettingDrift[] = [];
  for (const [name, value] of options) {
    if (NOT_COMPARED.has(name)) continue;
    const now = running.get(name);
    if (now === undefined) continue;
    if (sameValue(value, now)) continue;
    out.push({ name, wanted: String(value), running: now, dynamic: isDynamic(name, version) });
  }
  return out;
}

/** none, set-global (every drifted option is dynamic) or restart. */
export function driftRemedy(drift: readonly SettingDrift[]): DriftRemedy {
  if (drift.length === 0) return 'none';
  return drift.every((d) => d.dynamic) ? 'set-global' : 'restart';
}

/**
 * SET GLOBAL statements for dynamic drift, values as parameters. innodb_io_capacity_max is set on both
 * sides of innodb_io_capacity, since MariaDB refuses a maximum below the current capacity and a
 * capacity above the current maximum.
 */
export function setGlobalStatements(drift: readonly SettingDrift[]): { sql: string; params: OptionValue[] }[] {
  const dynamic = drift.filter((d) => d.dynamic);
  const stmt = (d: SettingDrift) => ({ sql: `SET GLOBAL ${d.name} = ?`, params: [variableValue(d.wanted)] });
  const max = dynamic.find((d) => d.name === 'innodb_io_capacity_max');
  const rest = dynamic.filter((d) => d !== max).map(stmt);
  return max ? [stmt(max), ...rest, stmt(max)] : rest;
}

/** A my.cnf value as SET GLOBAL takes it: sizes in bytes, numbers as numbers, words as text. */
export function variableValue(value: string): OptionValue {
  const bytes = sizeBytes(value);
  if (bytes !== undefined) return bytes;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

const UNIT: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

function sizeBytes(text: string): number | undefined {
  const m = /^(\d+)([KMGT])$/i.exec(text.trim());
  return m ? Number(m[1]) * UNIT[m[2]!.toUpperCase()]! : undefined;
}

/** my.cnf text and SHOW VARIABLES text mean the same: 256M = 268435456, 0.5 = 0.500000, ON = 1. */
export function sameValue(wanted: OptionValue, running: string): boolean {
  const a = normalise(String(wanted));
  const b = normalise(running);
  return a === b;
}

function normalise(text: string): string {
  const t = text.trim();
  const bytes = sizeBytes(t);
  if (bytes !== undefined) return String(bytes);
  if (/^-?\d+(\.\d+)?$/.test(t)) return String(Number(t));
  const upper = t.toUpperCase();
  if (upper === 'ON' || upper === 'TRUE') return '1';
  if (upper === 'OFF' || upper === 'FALSE') return '0';
  return upper;
}
