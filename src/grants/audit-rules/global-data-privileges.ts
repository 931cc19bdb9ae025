// Privileges on `*.*` that read or write data, expose it, or hand out privileges, held by a service
// account or by an account nobody declares (root@'%' with ALL is not the server's own root).
import { parseVersion } from '../../util/version.js';
import { globalPrivilegeNames } from '../privileges.js';
import { accountKey } from '../types.js';
import { type AuditRule, type Finding, grantFinding, hasAll, isInternalAccount, ownerOf } from './rule.js';

/** Global privileges that reach data in every database or change who can reach it. */
export const DATA_GLOBAL_PRIVILEGES = new Set([
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'CREATE',
  'DROP',
  'REFERENCES',
  'INDEX',
  'ALTER',
  'CREATE TEMPORARY TABLES',
  'LOCK TABLES',
  'EXECUTE',
  'CREATE VIEW',
  'SHOW VIEW',
  'CREATE ROUTINE',
  'ALTER ROUTINE',
  'EVENT',
  'TRIGGER',
  'DELETE HISTORY',
  'FILE',
  'SUPER',
  'CREATE USER',
  'GRANT OPTION',
  'REPLICATION SLAVE',
  'BINLOG REPLAY',
  'SET USER',
  'CREATE TABLESPACE',
  'ALL PRIVILEGES',
  // No table read, but other services' SQL, row data or code (EXPOSING_GLOBAL_PRIVILEGES says how).
  'PROCESS',
  'BINLOG MONITOR',
  'REPLICATION SLAVE ADMIN',
  'SLAVE MONITOR',
  'SHOW CREATE ROUTINE',
]);

/**
 * Global privileges that read no table yet show other services' data, and why (checked on 10.11: SHOW
 * BINLOG EVENTS needs BINLOG MONITOR, SHOW RELAYLOG EVENTS needs SLAVE MONITOR, binlog dumps need
 * REPLICATION SLAVE). dbps_backup and dbps_monitor hold PROCESS and BINLOG MONITOR by design: they are
 * managed accounts, held to exactly that by managed-drift, never checked here.
 */
export const EXPOSING_GLOBAL_PRIVILEGES: Readonly<Record<string, string>> = {
  PROCESS: "shows every session's SQL text, values included (SHOW FULL PROCESSLIST, information_schema.PROCESSLIST)",
  'BINLOG MONITOR':
    "shows binlog events (SHOW BINLOG EVENTS), whose Annotate_rows carry other services' SQL and values",
  'REPLICATION SLAVE': "streams the binary log (mariadb-binlog --read-from-remote-server), every service's row data",
  'REPLICATION SLAVE ADMIN': 'can CHANGE MASTER and START SLAVE, applying events of any primary to every database',
  'SLAVE MONITOR': "shows relay-log events (SHOW RELAYLOG EVENTS) of a replica, other services' SQL and values",
  'SHOW CREATE ROUTINE': "shows the body of every routine on the server (11.3+), other services' code",
  'BINLOG REPLAY': 'runs BINLOG statements, replaying row events into any table',
};

export const globalDataPrivileges: AuditRule = {
  id: 'global-data-privileges',
  description: 'A service account holds data or grant privileges on *.*',
  defaultSeverity: 'error',
  help: "A privilege on *.* such as SELECT, INSERT, ALL, SUPER, FILE, CREATE USER or GRANT OPTION reaches every database on the server, including other services' and mysql.*; PROCESS, BINLOG MONITOR, REPLICATION SLAVE, REPLICATION SLAVE ADMIN, SLAVE MONITOR and SHOW CREATE ROUTINE show other services' SQL, row data or code. Service accounts get privileges on their own database only; an account services.yaml does not know gets none.",
  check(ctx) {
    const findings: Finding[] = [];
    const every = everyGlobalPrivilege(ctx.catalog.version);
    for (const ea of ctx.effective) {
      const owner = ownerOf(ctx, ea.account);
      // Service accounts, and accounts nobody declares (not internal, not dbps-managed, not a service user elsewhere).
      const unknown =
        !owner &&
        ea.account.user !== '' &&
        !isInternalAccount(ea.account, ctx.adminAccounts) &&
        !ctx.managed.has(accountKey(ea.account.user, ea.account.host));
      if (!owner && !unknown) continue;
      const who = owner ? `${owner.name}'s account` : 'an account services.yaml does not know';
      for (const grant of ea.grants) {
        if (grant.scope.level !== 'global') continue;
        const privileges =
          hasAll(grant.privileges) || (every.length > 0 && every.every((p) => grant.privileges.includes(p)))
            ? ['ALL PRIVILEGES']
            : grant.privileges.filter((p) => DATA_GLOBAL_PRIVILEGES.has(p));
        if (grant.grantOption) privileges.push('GRANT OPTION');
        // A declared link's locked view definer holds FILE by design (CONNECT MYSQL tables are read with it).
        const managed = ctx.managed.get(accountKey(ea.account.user, ea.account.host));
        if (
          managed?.kind === 'link-definer' &&
          ea.account.locked &&
          grant.path.kind === 'direct' &&
          privileges.includes('FILE')
        ) {
          findings.push(
            grantFinding(
              ctx,
              this,
              ea,
              grant,
              ['FILE'],
              `declared link: services.${managed.service}.links needs FILE to read its CONNECT tables; the account is locked and defines only the link's views`,
              { severity: 'allowed', fix: '' },
            ),
          );
          privileges.splice(privileges.indexOf('FILE'), 1);
        }
        if (privileges.length === 0) continue;
        const exposing = privileges.filter((p) => EXPOSING_GLOBAL_PRIVILEGES[p]);
        const reaches = privileges.some((p) => !EXPOSING_GLOBAL_PRIVILEGES[p])
          ? `, which reaches every database on server ${ctx.server.name}`
          : ` on server ${ctx.server.name}`;
        const why = exposing.map((p) => `; ${p} ${EXPOSING_GLOBAL_PRIVILEGES[p]}`).join('');
        const f = grantFinding(
          ctx,
          this,
          ea,
          grant,
          privileges,
          `${who} holds ${privileges.join(', ')} on *.*${reaches}${why}`,
        );
        // A service account should hold nothing on *.*: revoke the whole global level (it leaves database grants alone).
        if (grant.path.kind === 'direct') {
          f.fix = `REVOKE ALL PRIVILEGES ON *.* FROM ${f.account};${grant.grantOption ? ` REVOKE GRANT OPTION ON *.* FROM ${f.account};` : ''}`;
        }
        findings.push(f);
      }
    }
    return findings;
  },
};

// The catalog stores GRANT ALL as every bit the version knows; a finding says ALL PRIVILEGES instead of thirty names.
function everyGlobalPrivilege(version: string): string[] {
  try {
    return globalPrivilegeNames(parseVersion(version));
  } catch {
    return [];
  }
}
