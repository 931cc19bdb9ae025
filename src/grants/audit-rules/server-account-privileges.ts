// dbps's own per-server accounts (dbps_backup, dbps_monitor) held as strictly as service accounts: a
// global privilege beyond the ones dbps grants them, or any privilege that reaches a service's data, is an
// error (managed-drift alone would only warn). dbps_monitor is what exporters log in with, so a PROCESS or
// BINLOG MONITOR added by hand would show every service's SQL and values to whoever holds its password.
import { databasesReached } from '../effective.js';
import { accountKey } from '../types.js';
import { EXPOSING_GLOBAL_PRIVILEGES } from './global-data-privileges.js';
import { covered } from './managed-drift.js';
import { type AuditRule, type Finding, grantFinding } from './rule.js';

export const serverAccountPrivileges: AuditRule = {
  id: 'server-account-privileges',
  description: "dbps's backup or monitor account holds more than dbps grants it",
  defaultSeverity: 'error',
  help: "dbps_backup gets RELOAD, PROCESS, LOCK TABLES and BINLOG MONITOR on *.* on local servers (mariadb-backup needs them), BINLOG MONITOR and REPLICATION SLAVE on every server (binlog archiving: SHOW BINARY LOGS and the binlog stream), and for logical dumps SELECT, SHOW VIEW, TRIGGER and EVENT on each service database and SELECT on mysql.proc (routine bodies), nothing else; dbps_monitor gets no global privilege and SELECT on six performance_schema summary tables. Any other global privilege, and any privilege on a service's database, table, column or routine, is reported: these accounts' passwords are handed to backup jobs and exporters, and must reach no service's data.",
  check(ctx) {
    const findings: Finding[] = [];
    const names = ctx.serviceDatabases.map((d) => d.database);
    const serviceOfDatabase = new Map(ctx.serviceDatabases.map((d) => [d.database, d.service.name]));
    for (const ea of ctx.effective) {
      const desired = ctx.managed.get(accountKey(ea.account.user, ea.account.host));
      if (!desired || (desired.kind !== 'backup' && desired.kind !== 'monitor')) continue;
      const allowedGlobal = new Set(
        desired.grants.filter((g) => g.scope.level === 'global').flatMap((g) => g.privileges),
      );
      for (const grant of ea.grants) {
        if (grant.scope.level === 'global') {
          const extra = grant.privileges.filter((p) => !allowedGlobal.has(p));
          if (grant.grantOption) extra.push('GRANT OPTION');
          if (extra.length === 0) continue;
          const why = extra
            .filter((p) => EXPOSING_GLOBAL_PRIVILEGES[p])
            .map((p) => `; ${p} ${EXPOSING_GLOBAL_PRIVILEGES[p]}`)
            .join('');
          findings.push(
            grantFinding(
              ctx,
              this,
              ea,
              grant,
              extra,
              `${desired.user} (dbps's ${desired.kind} account) holds ${extra.join(', ')} on *.*, beyond what dbps grants it${why}`,
            ),
          );
          continue;
        }
        // The logical dump's own grants (SELECT, SHOW VIEW, TRIGGER, EVENT on each service database, SELECT
        // on mysql.proc) are desired; anything past them, or on a database not in the desired set, is not.
        const extra = grant.privileges.filter((p) => !covered(desired, grant, p));
        if (extra.length === 0 && !grant.grantOption) continue;
        const shown = extra.length > 0 ? extra : ['GRANT OPTION'];
        for (const database of databasesReached(grant.scope, names)) {
          const target = serviceOfDatabase.get(database)!;
          findings.push(
            grantFinding(
              ctx,
              this,
              ea,
              grant,
              shown,
              `${desired.user} (dbps's ${desired.kind} account) can ${shown.join(', ')} ${target}'s data in database ${database}`,
              { targetService: target },
            ),
          );
        }
      }
    }
    return findings;
  },
};
