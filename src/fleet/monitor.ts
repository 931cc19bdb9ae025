// The monitor account (dbps_monitor) and the mysqld_exporter collectors it serves, chosen together so
// that the exporter scrapes without errors while no service data is reachable by the account. Pure.
//
// What each privilege the usual exporter setup grants would expose (checked on 10.11):
// - PROCESS: every session's SQL text with its values (SHOW FULL PROCESSLIST, information_schema.PROCESSLIST),
//   SHOW ENGINE INNODB STATUS (the last deadlock's statements), INNODB_TRX.trx_query, INNODB_LOCKS.lock_data
//   (key values). Collectors needing it (innodb_cmp, innodb_cmpmem, innodb_metrics, processlist,
//   engine_innodb_status, info_schema.tables) stay off.
// - BINLOG MONITOR: SHOW BINLOG EVENTS, whose annotated rows carry every service's SQL and values; binlog_size
//   (SHOW BINARY LOGS) needs it, so it stays off.
// - SLAVE MONITOR: SHOW RELAYLOG EVENTS (a replica's row events) and Last_SQL_Error text; dbps servers are no
//   replicas, so slave_status is turned off rather than granted.
// - SELECT on performance_schema.*: threads.PROCESSLIST_INFO and events_statements_* SQL_TEXT hold statements
//   with their values. So SELECT is granted per table, on summary tables that hold counters and object names only.
// SHOW GLOBAL STATUS and SHOW GLOBAL VARIABLES (the default collectors) need no privilege at all.

/** A performance_schema table the account may read, and the collector that reads it. */
export interface MonitorTable {
  table: string;
  collector: string;
}

/** Summary tables of counters per table, index, lock, file or wait class: names and numbers, no statement text. */
export const MONITOR_TABLES: readonly MonitorTable[] = [
  { table: 'table_io_waits_summary_by_table', collector: 'perf_schema.tableiowaits' },
  { table: 'table_io_waits_summary_by_index_usage', collector: 'perf_schema.indexiowaits' },
  { table: 'table_lock_waits_summary_by_table', collector: 'perf_schema.tablelocks' },
  { table: 'file_summary_by_event_name', collector: 'perf_schema.file_events' },
  { table: 'events_waits_summary_global_by_event_name', collector: 'perf_schema.eventswaits' },
  { table: 'memory_summary_global_by_event_name', collector: 'perf_schema.memory_events' },
];

/** Collectors on by default in mysqld_exporter that need a privilege the monitor account does not get. */
export const DISABLED_COLLECTORS = [
  'slave_status',
  'info_schema.innodb_cmp',
  'info_schema.innodb_cmpmem',
  'info_schema.query_response_time',
] as const;

/**
 * The exporter's collector flags (same names in Debian's 0.14 and the 0.17 image): the two default
 * collectors that need no privilege, the performance_schema summaries granted above, everything else off.
 */
export function exporterCollectorFlags(): string[] {
  return [
    '--collect.global_status',
    '--collect.global_variables',
    ...MONITOR_TABLES.map((t) => `--collect.${t.collector}`),
    ...DISABLED_COLLECTORS.map((c) => `--no-collect.${c}`),
  ];
}
