// Server options dbps may write, with the versions that know them. An unknown option stops mariadbd
// from starting, so every rendered option must be in this table for the target version.
import { atLeast, type ServerVersion } from '../util/version.js';

interface OptionInfo {
  /** First version that accepts the option. */
  since?: [number, number];
  /** First version that no longer accepts it. */
  removedIn?: [number, number];
  /** First version that still accepts it but warns "is deprecated" at start-up: dbps writes it only below. */
  deprecatedIn?: [number, number];
}

export const KNOWN_OPTIONS: Readonly<Record<string, OptionInfo>> = {
  server_id: {},
  gtid_domain_id: {},
  gtid_strict_mode: {},
  log_bin: {},
  log_bin_index: {},
  binlog_format: {},
  log_bin_trust_function_creators: {},
  event_scheduler: {},
  binlog_expire_logs_seconds: { since: [10, 6] },
  max_binlog_size: {},
  sync_binlog: {},
  binlog_row_image: {},
  log_slave_updates: {},
  port: {},
  bind_address: {},
  socket: {},
  datadir: {},
  pid_file: {},
  log_error: {},
  tmpdir: {},
  secure_file_priv: {},
  ssl_ca: {},
  ssl_cert: {},
  ssl_key: {},
  tls_version: {},
  // Loads a plugin library at start (the CONNECT engine of a declared link).
  plugin_load_add: {},
  skip_name_resolve: {},
  character_set_server: {},
  collation_server: {},
  innodb_buffer_pool_size: {},
  innodb_log_file_size: {},
  innodb_log_buffer_size: {},
  innodb_flush_log_at_trx_commit: {},
  // Deprecated from 11.0 (still accepted, with a warning); profiles write it only below 11.0.
  innodb_flush_method: { deprecatedIn: [11, 0] },
  // Deprecated from 11.0 (ON is the only sensible value and the default); written only below 11.0.
  innodb_file_per_table: { deprecatedIn: [11, 0] },
  innodb_io_capacity: {},
  innodb_io_capacity_max: {},
  innodb_read_io_threads: {},
  innodb_write_io_threads: {},
  innodb_autoinc_lock_mode: {},
  innodb_compression_default: {},
  innodb_compression_algorithm: {},
  // Off by default since 10.6.7 and removed in 11.0; kept so the table answers for it, never written.
  innodb_change_buffering: { removedIn: [11, 0] },
  innodb_change_buffer_max_size: { removedIn: [11, 0] },
  innodb_adaptive_hash_index: {},
  innodb_stats_on_metadata: {},
  innodb_open_files: {},
  max_connections: {},
  max_allowed_packet: {},
  thread_handling: {},
  thread_pool_max_threads: {},
  thread_cache_size: {},
  wait_timeout: {},
  interactive_timeout: {},
  table_open_cache: {},
  table_open_cache_instances: {},
  table_definition_cache: {},
  tmp_table_size: {},
  max_heap_table_size: {},
  join_buffer_size: {},
  sort_buffer_size: {},
  read_rnd_buffer_size: {},
  query_cache_type: {},
  query_cache_size: {},
  slow_query_log: {},
  slow_query_log_file: {},
  long_query_time: {},
  log_queries_not_using_indexes: {},
  performance_schema: {},
  // The startup option has always been transaction_isolation; tx_isolation is only a system
  // variable name (deprecated in 11.1) and mariadbd rejects it in my.cnf.
  transaction_isolation: {},
  aria_pagecache_buffer_size: {},
  key_buffer_size: {},
};

/** Options removed since 10.6 (and in 11.0) that old tuning guides still recommend; never written. */
export const REMOVED_OPTIONS = [
  'innodb_buffer_pool_instances',
  'innodb_log_files_in_group',
  'innodb_page_cleaners',
  'innodb_thread_concurrency',
  'innodb_file_format',
  'innodb_large_prefix',
] as const;

/** True when `version` accepts `option` in my.cnf. */
export function optionKnown(option: string, version: ServerVersion): boolean {
  const info = KNOWN_OPTIONS[option];
  if (!info) return false;
  if (info.since && !atLeast(version, ...info.since)) return false;
  if (info.removedIn && atLeast(version, ...info.removedIn)) return false;
  return true;
}

/** True when `version` warns that `option` is deprecated (so a generated my.cnf must leave it out). */
export function optionDeprecated(option: string, version: ServerVersion): boolean {
  const since = KNOWN_OPTIONS[option]?.deprecatedIn;
  return since !== undefined && atLeast(version, ...since);
}
