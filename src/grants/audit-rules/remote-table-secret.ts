// A CONNECT/FEDERATED/SPIDER table whose definition holds a password: anyone with any privilege on the
// table reads it with SHOW CREATE TABLE (and so does every dump of the schema).
import { ident } from '../../sql/quote.js';
import { tableUsers } from './remote-table-access.js';
import type { AuditRule, Finding } from './rule.js';

export const remoteTableSecret: AuditRule = {
  id: 'remote-table-secret',
  description: 'A CONNECT/FEDERATED/SPIDER table stores a password in its definition',
  defaultSeverity: 'error',
  help: "Reads information_schema.TABLES and SHOW CREATE TABLE of each CONNECT, FEDERATED and SPIDER table (the password is replaced by a marker before it leaves the reader, so neither the report nor --dump holds it). A password in CONNECTION, OPTION_LIST or a SPIDER comment is readable by every account with any privilege on the table (SHOW CREATE TABLE) and lands in every schema dump. Use CREATE SERVER (mysql.servers, readable only by admins) and CONNECTION='server_name', and rotate the exposed password.",
  check(ctx) {
    const findings: Finding[] = [];
    for (const t of ctx.catalog.remoteTables ?? []) {
      if (!t.hasPassword) continue;
      const owner = ctx.serviceDatabases.find((d) => d.database === t.db)?.service;
      const who = owner
        ? tableUsers(ctx, owner, t, ['SELECT', 'INSERT', 'UPDATE', 'DELETE'])
        : [`${ident(t.db)}.${ident(t.table)}`];
      for (const account of who)
        findings.push({
          rule: this.id,
          severity: this.defaultSeverity,
          server: ctx.server.name,
          account,
          ...(owner ? { service: owner.name } : {}),
          object: `${ident(t.db)}.${ident(t.table)}`,
          privilege: 'SHOW CREATE TABLE',
          via: `${t.engine.toLowerCase()} table ${t.db}.${t.table} → password in its definition (${t.connection || 'OPTION_LIST/COMMENT'})`,
          message: `the definition of ${t.engine} table ${t.db}.${t.table} holds a password that every account with a privilege on it reads with SHOW CREATE TABLE`,
          fix: `DROP TABLE IF EXISTS ${ident(t.db)}.${ident(t.table)}; -- re-create it with CONNECTION='<server name>' after CREATE SERVER, and rotate the password`,
        });
    }
    return findings;
  },
};
