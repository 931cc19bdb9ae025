// Privileges on `*.*` that read or write data or hand out privileges, held by a service account.
import { type AuditRule, type Finding, grantFinding, hasAll, ownerOf } from './rule.js';

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
]);

export const globalDataPrivileges: AuditRule = {
  id: 'global-data-privileges',
  description: 'A service account holds data or grant privileges on *.*',
  defaultSeverity: 'error',
  help: "A privilege on *.* such as SELECT, INSERT, ALL, SUPER, FILE, CREATE USER or GRANT OPTION reaches every database on the server, including other services' and mysql.*. Service accounts get privileges on their own database only.",
  check(ctx) {
    const findings: Finding[] = [];
    for (const ea of ctx.effective) {
      const owner = ownerOf(ctx, ea.account);
      if (!owner) continue;
      for (const grant of ea.grants) {
        if (grant.scope.level !== 'global') continue;
        const privileges = hasAll(grant.privileges)
          ? ['ALL PRIVILEGES']
          : grant.privileges.filter((p) => DATA_GLOBAL_PRIVILEGES.has(p));
        if (grant.grantOption) privileges.push('GRANT OPTION');
        if (privileges.length === 0) continue;
        const f = grantFinding(
          ctx,
          this,
          ea,
          grant,
          privileges,
          `${owner.name}'s account holds ${privileges.join(', ')} on *.*, which reaches every database on server ${ctx.server.name}`,
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
