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
 * Global privileges of the per-server backup account: mariadb-backup needs the first four; REPLICATION
 * SLAVE streams the binlogs into the archive (`dbps binlogs pull/follow`). It reads no table by SQL.
 */
export const BACKUP_PRIVILEGES = ['RELOAD', 'PROCESS', 'LOCK TABLES', 'BINLOG MONITOR', 'REPLICATION SLAVE'] as const;
/** The monitor account reads a few performance_schema tables (fleet/monitor.ts), nothing global. */
export const MONITOR_SCHEMA = 'performance_schema';

export const BACKUP_USER = 'dbps_backup';
export const MONITOR_USER = 'dbps_monitor';

/** Sorted privilege list, so desired and actual sets compare as strings. */
export function sortPrivileges(privs: Iterable<string>): string[] {
  return [...new Set(privs)].sort();
}
