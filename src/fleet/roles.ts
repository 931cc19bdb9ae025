// Privileges per role, on the service's own database only. Never ALL PRIVILEGES.
// Shared by provision (SQL) and the Kubernetes output (Grant resources).
import type { AccountRole } from './model.js';

const APP = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'EXECUTE', 'CREATE TEMPORARY TABLES'] as const;
const MIGRATOR_EXTRA = [
  'CREATE',
  'ALTER',
  'DROP',
  'INDEX',
  'REFERENCES',
  'CREATE VIEW',
  'SHOW VIEW',
  'TRIGGER',
  'CREATE ROUTINE',
  'ALTER ROUTINE',
  'EVENT',
  'LOCK TABLES',
] as const;

/** Database-level privileges of each service role; `outbox-relay` has none at that level. */
export const ROLE_PRIVILEGES: Readonly<Record<AccountRole, readonly string[]>> = {
  app: APP,
  migrator: [...APP, ...MIGRATOR_EXTRA],
  readonly: ['SELECT', 'SHOW VIEW'],
  'outbox-relay': [],
};

/**
 * Global privileges for binlog archiving (`dbps binlogs pull/follow`) on every server: SHOW BINARY LOGS
 * and SHOW MASTER STATUS (BINLOG MONITOR) and the binlog stream (REPLICATION SLAVE). No table by SQL.
 */
export const ARCHIVE_PRIVILEGES = ['BINLOG MONITOR', 'REPLICATION SLAVE'] as const;
/** Global privileges of the backup account on local servers: mariadb-backup's, and archiving's. */
export const BACKUP_PRIVILEGES = ['RELOAD', 'PROCESS', 'LOCK TABLES', ...ARCHIVE_PRIVILEGES] as const;
/** The monitor account reads a few performance_schema tables (fleet/monitor.ts), nothing global. */
export const MONITOR_SCHEMA = 'performance_schema';

/**
 * What `mariadb-dump --single-transaction --master-data=2 --gtid --routines --triggers --events` needs on
 * each service database (checked on 10.11 and 11.8): rows and view definitions, trigger and event
 * definitions. LOCK TABLES is not needed under --single-transaction, and the binlog position comes from
 * the snapshot's own Binlog_snapshot_file/position status, which needs neither RELOAD nor BINLOG MONITOR.
 */
export const LOGICAL_BACKUP_PRIVILEGES = ['EVENT', 'SELECT', 'SHOW VIEW', 'TRIGGER'] as const;
/**
 * Routine bodies: SHOW CREATE PROCEDURE shows a routine's body only to its definer or to an account that
 * can read mysql.proc (10.11; 11.3+ also take SHOW CREATE ROUTINE on the database, 11.8 still takes
 * this). Without it mariadb-dump silently writes no routine. It shows routine code, never table rows.
 */
export const LOGICAL_BACKUP_ROUTINES_TABLE = { database: 'mysql', table: 'proc' } as const;

export const BACKUP_USER = 'dbps_backup';
export const MONITOR_USER = 'dbps_monitor';

/** Sorted privilege list, so desired and actual sets compare as strings. */
export function sortPrivileges(privs: Iterable<string>): string[] {
  return [...new Set(privs)].sort();
}
