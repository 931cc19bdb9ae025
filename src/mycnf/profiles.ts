// Workload profiles -> server option sets, scaled to the memory given to the server. Pure.
import type { ProfileName } from '../config/types.js';
import { formatSize, roundDown } from '../util/size.js';
import { atLeast, type ServerVersion } from '../util/version.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export type OptionValue = string | number;
/** Ordered option list: order is kept in the rendered file so output is byte-stable. */
export type OptionSet = Array<[name: string, value: OptionValue]>;

export interface ProfileShape {
  /** Share of the server's memory given to the InnoDB buffer pool (DESIGN: 60–70 %). */
  bufferPoolShare: number;
  /** Redo log as a share of the buffer pool. */
  redoShare: number;
  /** Connections per GiB of memory, bounded below. */
  connectionsPerGiB: number;
  minConnections: number;
  maxConnections: number;
  flushLogAtTrxCommit: 0 | 1 | 2;
  syncBinlog: 0 | 1;
  longQueryTime: number;
  /** Per-connection buffers stay small globally; analytics sessions raise them per session. */
  joinBuffer: number;
  sortBuffer: number;
  /** In-memory temporary tables as a share of memory, bounded. */
  tmpTableShare: number;
  tmpTableMax: number;
  ioCapacity: number;
  readIoThreads: number;
  writeIoThreads: number;
  waitTimeout: number;
  /** Whether the event scheduler runs: a migrator's EVENT privilege creates events that only fire when it is ON. */
  eventScheduler: boolean;
  extra(version: ServerVersion): OptionSet;
}

export const PROFILES: Readonly<Record<ProfileName, ProfileShape>> = {
  // Many short transactions; durability first.
  oltp: {
    bufferPoolShare: 0.65,
    redoShare: 0.25,
    connectionsPerGiB: 150,
    minConnections: 50,
    maxConnections: 1000,
    flushLogAtTrxCommit: 1,
    syncBinlog: 1,
    longQueryTime: 0.5,
    joinBuffer: 256 * 1024,
    sortBuffer: 2 * MiB,
    tmpTableShare: 0.02,
    tmpTableMax: 64 * MiB,
    ioCapacity: 1000,
    readIoThreads: 4,
    writeIoThreads: 4,
    waitTimeout: 600,
    eventScheduler: true,
    extra: () => [['innodb_autoinc_lock_mode', 2]],
  },
  // Few long scans and aggregations (InnoDB locally; ColumnStore only for image output).
  olap: {
    bufferPoolShare: 0.7,
    redoShare: 0.25,
    connectionsPerGiB: 20,
    minConnections: 20,
    maxConnections: 200,
    flushLogAtTrxCommit: 1,
    syncBinlog: 1,
    longQueryTime: 5,
    joinBuffer: 1 * MiB,
    sortBuffer: 4 * MiB,
    tmpTableShare: 0.05,
    tmpTableMax: 512 * MiB,
    ioCapacity: 2000,
    readIoThreads: 8,
    writeIoThreads: 4,
    waitTimeout: 3600,
    eventScheduler: false,
    extra: () => [['read_rnd_buffer_size', '1M']],
  },
  // Hot key-value rows, losable on a crash within a second; many connections.
  sessions: {
    bufferPoolShare: 0.62,
    redoShare: 0.25,
    connectionsPerGiB: 400,
    minConnections: 100,
    maxConnections: 2000,
    flushLogAtTrxCommit: 2,
    syncBinlog: 0,
    longQueryTime: 0.2,
    joinBuffer: 256 * 1024,
    sortBuffer: 1 * MiB,
    tmpTableShare: 0.02,
    tmpTableMax: 32 * MiB,
    ioCapacity: 2000,
    readIoThreads: 4,
    writeIoThreads: 4,
    waitTimeout: 300,
    eventScheduler: false,
    extra: () => [['innodb_adaptive_hash_index', 'ON']],
  },
  // Rarely read, mostly appended: compressed pages, few connections.
  archive: {
    bufferPoolShare: 0.62,
    redoShare: 0.15,
    connectionsPerGiB: 20,
    minConnections: 20,
    maxConnections: 100,
    flushLogAtTrxCommit: 1,
    syncBinlog: 1,
    longQueryTime: 10,
    joinBuffer: 256 * 1024,
    sortBuffer: 2 * MiB,
    tmpTableShare: 0.02,
    tmpTableMax: 64 * MiB,
    ioCapacity: 400,
    readIoThreads: 4,
    writeIoThreads: 2,
    waitTimeout: 600,
    eventScheduler: false,
    // No innodb_change_buffering: upstream turned the change buffer off by default (10.6.7, MDEV-27734)
    // because it could corrupt secondary indexes, and 11.0 removed it, so no profile re-enables it.
    extra: () => [
      ['innodb_compression_default', 'ON'],
      ['innodb_compression_algorithm', 'zlib'],
    ],
  },
};

export interface SizedOptions {
  bufferPool: number;
  redoLog: number;
  maxConnections: number;
  tmpTable: number;
  tableOpenCache: number;
  /** table_open_cache_instances: as many as fit the file-descriptor budget, at most mariadbd's default 8. */
  tableOpenCacheInstances: number;
  /** Upper bound of thread-pool worker threads. */
  poolMaxThreads: number;
}

/**
 * File descriptors a server may ask for. mariadbd asks for 10 + max_connections + table_open_cache x 2 x
 * table_open_cache_instances (about 32,000 with its defaults, 65,000 for a large oltp server) and warns
 * "Could not increase number of max_open_files" where the limit is lower: 16,384 fits containers'
 * common 20,000 and systemd's 32,768 for the mariadb unit.
 */
export const OPEN_FILES_BUDGET = 16_384;

/** Buffer pool granularity: whole 2 MiB steps suit large pages and every version's chunk rounding. */
const BUFFER_POOL_STEP = 2 * MiB;

/** The memory-dependent figures of a profile, so tests can check them without parsing text. */
export function sizeProfile(profile: ProfileName, memoryBytes: number): SizedOptions {
  const p = PROFILES[profile];
  const bufferPool = roundDown(memoryBytes * p.bufferPoolShare, BUFFER_POOL_STEP);
  const redoLog = Math.min(4 * GiB, Math.max(48 * MiB, roundDown(bufferPool * p.redoShare, MiB)));
  const gib = memoryBytes / GiB;
  const maxConnections = Math.round(Math.min(p.maxConnections, Math.max(p.minConnections, gib * p.connectionsPerGiB)));
  const tmpTable = Math.min(p.tmpTableMax, Math.max(16 * MiB, roundDown(memoryBytes * p.tmpTableShare, MiB)));
  const tableOpenCache = Math.min(4000, Math.max(400, maxConnections * 4));
  const tableOpenCacheInstances = Math.max(
    1,
    Math.min(8, Math.floor((OPEN_FILES_BUDGET - 10 - maxConnections) / (2 * tableOpenCache))),
  );
  // When every connection blocks (row locks, a slow disk) the pool needs one worker per connection
  // to make progress; the bound only stops a runaway, so it never sits below max_connections.
  const poolMaxThreads = Math.max(500, maxConnections + 50);
  return { bufferPool, redoLog, maxConnections, tmpTable, tableOpenCache, tableOpenCacheInstances, poolMaxThreads };
}

/** The [mysqld] options of a profile at a memory size for a server version (no paths, no identity). */
export function profileOptions(profile: ProfileName, memoryBytes: number, version: ServerVersion): OptionSet {
  const p = PROFILES[profile];
  const s = sizeProfile(profile, memoryBytes);
  return [
    ['innodb_buffer_pool_size', formatSize(s.bufferPool)],
    ['innodb_log_file_size', formatSize(s.redoLog)],
    ['innodb_log_buffer_size', formatSize(Math.min(64 * MiB, Math.max(8 * MiB, roundDown(s.redoLog / 8, MiB))))],
    ['innodb_flush_log_at_trx_commit', p.flushLogAtTrxCommit],
    // Binlog durability follows the profile's redo durability (render.ts puts it in the binlog block).
    ['sync_binlog', p.syncBinlog],
    // O_DIRECT (the default since 10.6) keeps data pages out of the OS cache so the buffer pool is the
    // only cache. 11.0 deprecated innodb_flush_method in favour of innodb_data_file_buffering and
    // innodb_log_file_buffering, whose defaults already mean O_DIRECT: written only where it is current.
    ...(atLeast(version, 11, 0) ? [] : ([['innodb_flush_method', 'O_DIRECT']] as OptionSet)),
    // A tablespace per table; deprecated in 11.0, where ON is the default: written only below 11.0.
    ...(atLeast(version, 11, 0) ? [] : ([['innodb_file_per_table', 'ON']] as OptionSet)),
    ['innodb_io_capacity', p.ioCapacity],
    ['innodb_io_capacity_max', p.ioCapacity * 2],
    ['innodb_read_io_threads', p.readIoThreads],
    ['innodb_write_io_threads', p.writeIoThreads],
    ['innodb_stats_on_metadata', 'OFF'],
    ['max_connections', s.maxConnections],
    // The thread pool keeps throughput flat with many connections; thread_cache_size is left out
    // because it only serves one-thread-per-connection.
    ['thread_handling', 'pool-of-threads'],
    ['thread_pool_max_threads', s.poolMaxThreads],
    ['wait_timeout', p.waitTimeout],
    ['table_open_cache', s.tableOpenCache],
    ['table_open_cache_instances', s.tableOpenCacheInstances],
    ['table_definition_cache', Math.max(400, Math.round(s.tableOpenCache / 2))],
    ['tmp_table_size', formatSize(s.tmpTable)],
    ['max_heap_table_size', formatSize(s.tmpTable)],
    ['join_buffer_size', formatSize(p.joinBuffer)],
    ['sort_buffer_size', formatSize(p.sortBuffer)],
    ['max_allowed_packet', '64M'],
    ['query_cache_type', 'OFF'],
    ['query_cache_size', 0],
    ['slow_query_log', 'ON'],
    ['long_query_time', p.longQueryTime],
    ['event_scheduler', p.eventScheduler ? 'ON' : 'OFF'],
    ...p.extra(version),
  ];
}
