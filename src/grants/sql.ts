// Change -> Statement. Exhaustive: a new change kind without SQL does not compile.
// Passwords travel only as a mysql_native_password hash in `params`; `display` masks them.
import { hash } from 'node:crypto';
import { OUTBOX_PUBLISHED_COLUMN, PURGE_EVENT_COMMENT } from '../fleet/desired.js';
import { CONNECT_SONAME, linkConnection } from '../fleet/links.js';
import { account, ident, literal } from '../sql/quote.js';
import type { Change, PrivilegeTarget } from './diff.js';

export interface Statement {
  sql: string;
  params: unknown[];
  /** What plans, logs and errors show: the SQL with every secret masked. */
  display: string;
}

/** Looks up the clear-text password of a create/alter-user change (never stored in the change). */
export type PasswordLookup = (
  change: Extract<Change, { kind: 'create-user' | 'alter-user' | 'create-link-server' }>,
) => string;

const MASK = "'********'";

/**
 * PASSWORD() of mysql_native_password: '*' + HEX(SHA1(SHA1(pw))). Computed here because the server
 * rejects a placeholder after IDENTIFIED BY, and sending the clear text would put it in the general log.
 */
export function nativePasswordHash(password: string): string {
  // crypto.hash: one call per digest, half the time of createHash's objects (20,000 accounts: 35 ms).
  return `*${hash('sha1', hash('sha1', password, 'buffer'), 'hex').toUpperCase()}`;
}

function assertNever(x: never): never {
  throw new Error(`unhandled change kind: ${JSON.stringify(x)}`);
}

function on(t: PrivilegeTarget): string {
  switch (t.level) {
    case 'global':
      return '*.*';
    case 'database':
      // t.pattern is already the escaped LIKE pattern (as mysql.db stores it): quote, do not re-escape.
      return `${ident(t.pattern)}.*`;
    case 'table':
    case 'column':
      return `${ident(t.database)}.${ident(t.table)}`;
    case 'routine':
      return `${t.routineType} ${ident(t.database)}.${ident(t.routine)}`;
  }
}

function privilegeList(t: PrivilegeTarget, privileges: string[]): string {
  if (t.level === 'column')
    return privileges.map((p) => (p === 'GRANT OPTION' ? p : `${p} (${ident(t.column)})`)).join(', ');
  return privileges.join(', ');
}

const NAME = /^[A-Za-z0-9_]+$/;
function charsetClause(charset: string, collation: string): string {
  // Charset and collation names are checked by the config layer; this guards the SQL text anyway.
  if (!NAME.test(charset) || !NAME.test(collation)) throw new Error(`bad charset/collation ${charset}/${collation}`);
  return `CHARACTER SET ${charset} COLLATE ${collation}`;
}

/** The outbox table every `outbox: true` service gets (the transactional-outbox pattern). */
export function outboxTableSql(database: string, table: string): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${ident(database)}.${ident(table)} (`,
    '  event_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,',
    '  aggregate_type VARCHAR(255) NOT NULL,',
    '  aggregate_id VARCHAR(255) NOT NULL,',
    '  event_type VARCHAR(255) NOT NULL,',
    '  payload JSON NOT NULL,',
    '  created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),',
    `  ${OUTBOX_PUBLISHED_COLUMN} TIMESTAMP(6) NULL DEFAULT NULL,`,
    `  KEY idx_unpublished (${OUTBOX_PUBLISHED_COLUMN}, event_id)`,
    ') ENGINE=InnoDB',
  ].join('\n');
}

function port(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`bad port ${n}`);
  return n;
}

function seconds(n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`bad interval ${n}`);
  return n;
}

/**
 * The purge event's body: only the outbox table, only published rows older than the retention (a NULL
 * published_at never compares true). The server stores this text as written; plan compares it.
 */
export function purgeEventBody(database: string, table: string, retentionSeconds: number): string {
  return `DELETE FROM ${ident(database)}.${ident(table)} WHERE ${ident(OUTBOX_PUBLISHED_COLUMN)} < NOW(6) - INTERVAL ${seconds(retentionSeconds)} SECOND`;
}

/** SQL for one change. */
export function statementFor(change: Change, passwordOf: PasswordLookup): Statement {
  const plain = (sql: string): Statement => ({ sql, params: [], display: sql });
  switch (change.kind) {
    case 'create-database':
      return plain(
        `CREATE DATABASE IF NOT EXISTS ${ident(change.database)} ${charsetClause(change.charset, change.collation)}`,
      );
    case 'alter-database':
      return plain(`ALTER DATABASE ${ident(change.database)} ${charsetClause(change.charset, change.collation)}`);
    case 'create-outbox-table':
      return plain(outboxTableSql(change.database, change.table));
    case 'create-outbox-purge':
      return plain(
        [
          `CREATE ${change.replace ? 'OR REPLACE ' : ''}DEFINER=${account(change.definer.user, change.definer.host)} EVENT ${ident(change.database)}.${ident(change.event)}`,
          `  ON SCHEDULE EVERY ${seconds(change.everySeconds)} SECOND`,
          '  ON COMPLETION PRESERVE ENABLE',
          `  COMMENT ${literal(PURGE_EVENT_COMMENT)}`,
          `  DO ${purgeEventBody(change.database, change.table, change.retentionSeconds)}`,
        ].join('\n'),
      );
    case 'drop-outbox-purge':
      return plain(`DROP EVENT IF EXISTS ${ident(change.database)}.${ident(change.event)}`);
    case 'create-user': {
      const head = `CREATE USER ${account(change.user, change.host)} IDENTIFIED BY PASSWORD`;
      const tail = `${change.requireSsl ? ' REQUIRE SSL' : ''}${change.maxUserConnections ? ` WITH MAX_USER_CONNECTIONS ${change.maxUserConnections}` : ''}${change.locked ? ' ACCOUNT LOCK' : ''}`;
      return {
        sql: `${head} ?${tail}`,
        params: [nativePasswordHash(passwordOf(change))],
        display: `${head} ${MASK}${tail}`,
      };
    }
    case 'alter-user': {
      const acct = account(change.user, change.host);
      const parts: string[] = [];
      if (change.requireSsl !== undefined) parts.push(change.requireSsl ? 'REQUIRE SSL' : 'REQUIRE NONE');
      if (change.maxUserConnections !== undefined) parts.push(`WITH MAX_USER_CONNECTIONS ${change.maxUserConnections}`);
      if (change.unlock) parts.push('ACCOUNT UNLOCK');
      if (change.lock) parts.push('ACCOUNT LOCK');
      const tail = parts.length ? ` ${parts.join(' ')}` : '';
      if (change.password) {
        const head = `ALTER USER ${acct} IDENTIFIED BY PASSWORD`;
        return {
          sql: `${head} ?${tail}`,
          params: [nativePasswordHash(passwordOf(change))],
          display: `${head} ${MASK}${tail}`,
        };
      }
      return plain(`ALTER USER ${acct}${tail}`);
    }
    case 'grant':
      return plain(
        `GRANT ${privilegeList(change.target, change.privileges)} ON ${on(change.target)} TO ${account(change.user, change.host)}`,
      );
    case 'revoke':
      return plain(
        `REVOKE ${privilegeList(change.target, change.privileges)} ON ${on(change.target)} FROM ${account(change.user, change.host)}`,
      );
    case 'revoke-role':
      return plain(`REVOKE ${ident(change.role)} FROM ${account(change.user, change.host)}`);
    case 'revoke-proxy':
      return plain(
        `REVOKE PROXY ON ${account(change.proxiedUser, change.proxiedHost)} FROM ${account(change.user, change.host)}`,
      );
    case 'revoke-public':
      return plain(`REVOKE ${privilegeList(change.target, change.privileges)} ON ${on(change.target)} FROM PUBLIC`);
    case 'revoke-public-role':
      return plain(`REVOKE ${ident(change.role)} FROM PUBLIC`);
    case 'drop-user':
      return plain(`DROP USER IF EXISTS ${account(change.user, change.host)}`);
    case 'drop-database':
      return plain(`DROP DATABASE IF EXISTS ${ident(change.database)}`);
    case 'install-connect':
      // Planned only when information_schema.ENGINES lacks CONNECT; the provision lock keeps runs apart.
      return plain(`INSTALL SONAME ${literal(CONNECT_SONAME)}`);
    case 'create-link-server': {
      // The password stays in mysql.servers (readable by admins only), never in a table definition.
      const head = `CREATE ${change.replace ? 'OR REPLACE ' : ''}SERVER ${ident(change.serverName)} FOREIGN DATA WRAPPER mysql OPTIONS (HOST ${literal(change.host)}, PORT ${port(change.port)}, DATABASE ${literal(change.database)}, USER ${literal(change.user)}, PASSWORD`;
      return { sql: `${head} ?)`, params: [passwordOf(change)], display: `${head} ${MASK})` };
    }
    case 'create-link-table':
      return plain(
        `CREATE OR REPLACE TABLE ${ident(change.database)}.${ident(change.table)} ENGINE=CONNECT TABLE_TYPE=MYSQL CONNECTION=${literal(linkConnection(change.serverName, change.remoteTable))}`,
      );
    case 'create-link-view':
      return plain(
        `CREATE OR REPLACE DEFINER=${account(change.definer.user, change.definer.host)} SQL SECURITY DEFINER VIEW ${ident(change.database)}.${ident(change.view)} AS SELECT * FROM ${ident(change.database)}.${ident(change.table)}`,
      );
    case 'drop-link-view':
      return plain(`DROP VIEW IF EXISTS ${ident(change.database)}.${ident(change.view)}`);
    case 'drop-link-table':
      return plain(`DROP TABLE IF EXISTS ${ident(change.database)}.${ident(change.table)}`);
    case 'drop-link-server':
      return plain(`DROP SERVER IF EXISTS ${ident(change.serverName)}`);
    default:
      return assertNever(change);
  }
}

/** The statement text for plans: never holds a secret. */
export function displaySql(change: Change): string {
  return statementFor(change, () => '').display;
}
