// The desired state of every server: databases, accounts and their exact privileges.
// Pure. provision diffs it against the catalog, audit-grants checks against it, and the
// Kubernetes renderer turns it into Database/User/Grant resources: one source of truth.
import { type DesiredLink, desiredLink, readerLinks, targetLinks } from './links.js';
import { type AccountRole, backupHostOf, type Fleet, type FleetServer } from './model.js';
import { MONITOR_TABLES } from './monitor.js';
import { sqlStem } from './names.js';
import {
  ARCHIVE_PRIVILEGES,
  BACKUP_PRIVILEGES,
  BACKUP_USER,
  LOGICAL_BACKUP_PRIVILEGES,
  LOGICAL_BACKUP_ROUTINES_TABLE,
  MONITOR_SCHEMA,
  MONITOR_USER,
  ROLE_PRIVILEGES,
  sortPrivileges,
} from './roles.js';

export type GrantScope =
  | { level: 'global' }
  | { level: 'database'; database: string }
  | { level: 'table'; database: string; table: string }
  | { level: 'column'; database: string; table: string; column: string };

export interface DesiredGrant {
  scope: GrantScope;
  /** Sorted, upper-case privilege names (`CREATE TEMPORARY TABLES`, `SELECT`, …). */
  privileges: string[];
  /** Why the grant exists, for plans and audit messages. */
  reason: string;
}

/** `link`: a link's read-only account on the target server; `link-definer`: its locked twin on the reader's. */
export type DesiredAccountKind = AccountRole | 'backup' | 'monitor' | 'link' | 'link-definer';

export interface DesiredAccount {
  user: string;
  host: string;
  kind: DesiredAccountKind;
  /** Owning service; absent for the per-server accounts dbps manages for itself. */
  service?: string;
  /** Environment variable holding the password; else dbps generates and stores one. */
  passwordEnv?: string;
  maxUserConnections?: number;
  requireSsl: boolean;
  /** ACCOUNT LOCK: nobody logs in as it (a link's view definer). */
  locked?: boolean;
  grants: DesiredGrant[];
}

export interface DesiredDatabase {
  name: string;
  service: string;
  charset: string;
  collation: string;
}

export interface DesiredOutbox {
  service: string;
  database: string;
  table: string;
}

/** `outbox: { retention }`: an event in the service's database deleting published rows older than the retention. */
export interface DesiredPurgeEvent {
  service: string;
  database: string;
  event: string;
  /** The outbox table, the only table the event touches. */
  table: string;
  retentionSeconds: number;
  everySeconds: number;
  /** The service's own migrator: the event runs with its privileges, never the admin's. */
  definer: { user: string; host: string };
}

export interface DesiredServer {
  server: string;
  databases: DesiredDatabase[];
  accounts: DesiredAccount[];
  outboxes: DesiredOutbox[];
  purgeEvents: DesiredPurgeEvent[];
  /** Databases where dbps looks for purge events it made (to drop one whose retention was removed). */
  purgeEventCandidates: { service: string; database: string; event: string }[];
  /** Declared links of this server's services (reader side: CREATE SERVER, CONNECT tables, views). */
  links: DesiredLink[];
}

/** Column that the outbox relay may update (and nothing else). */
export const OUTBOX_PUBLISHED_COLUMN = 'published_at';

/** Columns of the outbox table that relays read and update: plan checks an existing table still has them. */
export const OUTBOX_COLUMNS = [
  'event_id',
  'aggregate_type',
  'aggregate_id',
  'event_type',
  'payload',
  'created_at',
  OUTBOX_PUBLISHED_COLUMN,
] as const;

/** Marks the purge events dbps creates (EVENT_COMMENT), so it never drops an event a migration made. */
export const PURGE_EVENT_COMMENT = 'dbps: outbox purge (services.yaml outbox.retention)';

/** `<stem>_outbox_purge`: the name config gives a service's purge event. */
export function purgeEventName(service: string): string {
  return `${sqlStem(service)}_outbox_purge`;
}

/** Desired state of one server. */
export function desiredServer(fleet: Fleet, server: FleetServer): DesiredServer {
  const services = fleet.services.filter((s) => s.server === server.name);
  const databases: DesiredDatabase[] = services.flatMap((s) => [
    { name: s.database, service: s.name, charset: s.charset, collation: s.collation },
    // The shadow database belongs to the service like its own: provision creates it, the audit counts it as its.
    ...(s.shadowDatabase
      ? [{ name: s.shadowDatabase, service: s.name, charset: s.charset, collation: s.collation }]
      : []),
  ]);
  const accounts: DesiredAccount[] = [];
  const outboxes: DesiredOutbox[] = [];
  const purgeEvents: DesiredPurgeEvent[] = [];
  for (const svc of services) {
    if (svc.outboxTable) outboxes.push({ service: svc.name, database: svc.database, table: svc.outboxTable });
    if (svc.outboxTable && svc.outboxPurge) {
      const p = svc.outboxPurge;
      purgeEvents.push({
        service: svc.name,
        database: svc.database,
        event: p.event,
        table: svc.outboxTable,
        retentionSeconds: p.retentionSeconds,
        everySeconds: p.everySeconds,
        definer: { ...p.definer },
      });
    }
    for (const a of svc.accounts) {
      const grants: DesiredGrant[] = [];
      const own = ROLE_PRIVILEGES[a.role];
      if (own.length > 0) {
        grants.push({
          scope: { level: 'database', database: svc.database },
          privileges: sortPrivileges(own),
          reason: `role ${a.role} on ${svc.name}'s own database`,
        });
      }
      if (a.role === 'migrator' && svc.shadowDatabase) {
        // CREATE and DROP at this level let the migrator drop and re-create the shadow database itself.
        grants.push({
          scope: { level: 'database', database: svc.shadowDatabase },
          privileges: sortPrivileges(own),
          reason: `role migrator on ${svc.name}'s shadow database (a scratch database for migration tools)`,
        });
      }
      if (a.role === 'outbox-relay' && svc.outboxTable) {
        grants.push({
          scope: { level: 'table', database: svc.database, table: svc.outboxTable },
          privileges: ['SELECT'],
          reason: 'outbox relay reads unpublished events',
        });
        grants.push({
          scope: { level: 'column', database: svc.database, table: svc.outboxTable, column: OUTBOX_PUBLISHED_COLUMN },
          privileges: ['UPDATE'],
          reason: 'outbox relay marks events published',
        });
      }
      // The migrator gets the declared reads too, so it can create the views over them that its app reads
      // through (README: views over declared reads should be SQL SECURITY INVOKER). Nothing beyond SELECT.
      if (a.role === 'app' || a.role === 'readonly' || a.role === 'migrator') {
        for (const read of svc.reads) {
          if (!read.granted) continue;
          for (const table of read.tables) {
            grants.push({
              scope: { level: 'table', database: read.database, table },
              privileges: ['SELECT'],
              reason: `declared in services.${svc.name}.reads`,
            });
          }
        }
      }
      accounts.push({
        user: a.user,
        host: a.host,
        kind: a.role,
        service: svc.name,
        ...(a.passwordEnv ? { passwordEnv: a.passwordEnv } : {}),
        ...(a.maxUserConnections !== undefined ? { maxUserConnections: a.maxUserConnections } : {}),
        requireSsl: a.requireSsl,
        grants,
      });
    }
  }
  // Links, target side: a read-only account with SELECT on exactly the declared tables, nothing else.
  for (const { service, link } of targetLinks(fleet, server)) {
    accounts.push({
      user: link.user,
      host: link.host,
      kind: 'link',
      service: service.name,
      requireSsl: false,
      grants: link.tables.map((table) => ({
        scope: { level: 'table' as const, database: link.database, table },
        privileges: ['SELECT'],
        reason: `declared in services.${service.name}.links (read by ${service.name}'s server through CONNECT)`,
      })),
    });
  }
  // Links, reader side: the views' definer, locked. CONNECT TABLE_TYPE=MYSQL tables can only be read with
  // FILE, so the definer holds it and the reader's own accounts read the views with no FILE of their own.
  const links = readerLinks(fleet, server).map(({ service, link }) => desiredLink(service, link));
  for (const l of links) {
    accounts.push({
      user: l.definer.user,
      host: l.definer.host,
      kind: 'link-definer',
      service: l.service,
      requireSsl: false,
      locked: true,
      grants: [
        {
          scope: { level: 'global' },
          privileges: ['FILE'],
          reason: `CONNECT TABLE_TYPE=MYSQL tables are read with FILE (services.${l.service}.links → ${l.target.service}); the account is locked and defines only the link's views`,
        },
        ...l.tables.map((t) => ({
          scope: { level: 'table' as const, database: l.database, table: t.connectTable },
          privileges: ['SELECT'],
          reason: `the view ${l.database}.${t.view} reads it`,
        })),
      ],
    });
  }
  // dbps_backup: mariadb-backup's globals where dbps copies files itself (local servers), and on every
  // server what a logical dump of the service databases needs, for the host dbps connects from.
  const backupGrants: DesiredGrant[] = [
    server.driver === 'local'
      ? {
          scope: { level: 'global' },
          privileges: sortPrivileges(BACKUP_PRIVILEGES),
          reason:
            'mariadb-backup needs RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR; binlog archiving REPLICATION SLAVE',
        }
      : {
          scope: { level: 'global' },
          privileges: sortPrivileges(ARCHIVE_PRIVILEGES),
          reason: 'binlog archiving (dbps binlogs pull/follow): the binlog list and stream',
        },
  ];
  for (const svc of services) {
    backupGrants.push({
      scope: { level: 'database', database: svc.database },
      privileges: sortPrivileges(LOGICAL_BACKUP_PRIVILEGES),
      reason: `mariadb-dump --single-transaction of ${svc.name}'s database (backup --method logical)`,
    });
  }
  if (services.length > 0) {
    backupGrants.push({
      scope: { level: 'table', ...LOGICAL_BACKUP_ROUTINES_TABLE },
      privileges: ['SELECT'],
      reason: 'mariadb-dump --routines reads routine bodies (code, no rows)',
    });
  }
  accounts.push({
    user: BACKUP_USER,
    host: backupHostOf(fleet, server),
    kind: 'backup',
    requireSsl: false,
    grants: backupGrants,
  });
  accounts.push({
    user: MONITOR_USER,
    host: fleet.monitorHost,
    kind: 'monitor',
    maxUserConnections: 3,
    requireSsl: false,
    // No global privilege (SHOW GLOBAL STATUS / VARIABLES need none) and SELECT on counter tables only:
    // PROCESS, BINLOG MONITOR, SLAVE MONITOR and performance_schema.* would show other services' SQL and values.
    grants: MONITOR_TABLES.map((t) => ({
      scope: { level: 'table' as const, database: MONITOR_SCHEMA, table: t.table },
      privileges: ['SELECT'],
      reason: `mysqld_exporter --collect.${t.collector}`,
    })),
  });
  const purgeEventCandidates = services.map((s) => ({
    service: s.name,
    database: s.database,
    event: purgeEventName(s.name),
  }));
  return { server: server.name, databases, accounts, outboxes, purgeEvents, purgeEventCandidates, links };
}

/** Desired state of every server in the fleet, in fleet order. */
export function desiredFleet(fleet: Fleet): DesiredServer[] {
  return fleet.servers.map((s) => desiredServer(fleet, s));
}
