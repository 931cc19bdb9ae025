// A CONNECT, FEDERATED (FederatedX) or SPIDER table in one service's database whose connection points at
// another service's database or server: the service's accounts read the other service's data through
// their own database, with the credentials stored in the table.
import type { FleetServer, FleetService } from '../../fleet/model.js';
import { ident } from '../../sql/quote.js';
import { reachOnObject } from '../effective.js';
import type { CatalogRemoteTable } from '../types.js';
import { type AuditContext, type AuditRule, accountName, type Finding, ownerOf } from './rule.js';

export const remoteTableAccess: AuditRule = {
  id: 'remote-table-access',
  description: "A CONNECT/FEDERATED/SPIDER table reaches another service's data",
  defaultSeverity: 'error',
  help: "Reads information_schema.TABLES for ENGINE CONNECT, FEDERATED and SPIDER, and SHOW CREATE TABLE of each for its CONNECTION (and mysql.servers for a named server, never its password). A table in service A's database whose connection names service B's database, or B's server, gives A's accounts B's data with no grant on B: the remote login is the one in the table's definition. Drop the table and read through B's API. A table that is exactly a `links:` declaration (its name, the link account, the declared table) is reported as allowed.",
  check(ctx) {
    const findings: Finding[] = [];
    for (const t of ctx.catalog.remoteTables ?? []) {
      const owner = ctx.serviceDatabases.find((d) => d.database === t.db)?.service;
      if (!owner) continue;
      const target = remoteTarget(ctx, t, owner);
      if (!target) continue;
      const via = `${t.engine.toLowerCase()}${t.tableType ? ` ${t.tableType}` : ''} table ${t.db}.${t.table} → ${t.connection || '(no CONNECTION)'}`;
      const link = declaredLinkTable(ctx, t);
      for (const who of tableUsers(ctx, owner, t, ['SELECT', 'INSERT', 'UPDATE', 'DELETE'])) {
        if (link) {
          findings.push({
            rule: this.id,
            severity: 'allowed',
            server: ctx.server.name,
            account: who,
            service: owner.name,
            targetService: target.service.name,
            object: `${ident(t.db)}.${ident(t.table)}`,
            privilege: 'SELECT',
            via,
            message: `declared link: services.${owner.name}.links reads ${link.target.service}.${link.remote} through this CONNECT table (and the view ${t.db}.${link.view} over it)`,
            fix: '',
          });
          continue;
        }
        findings.push({
          rule: this.id,
          severity: this.defaultSeverity,
          server: ctx.server.name,
          account: who,
          service: owner.name,
          targetService: target.service.name,
          object: `${ident(t.db)}.${ident(t.table)}`,
          privilege: 'SELECT',
          via,
          message: `${owner.name}'s ${t.engine} table ${t.db}.${t.table} reads ${target.service.name}'s ${target.what}${t.engine === 'CONNECT' && t.tableType === 'MYSQL' ? ' (reading it also needs FILE)' : ''}`,
          fix: `DROP TABLE IF EXISTS ${ident(t.db)}.${ident(t.table)};`,
        });
      }
    }
    return findings;
  },
};

/**
 * The declared link a remote table is, when it is exactly one: a CONNECT MYSQL table of the name dbps
 * gives it, in the reader's database, whose connection logs in as the link account and reads the declared
 * table of the target's database. A table wider than that (another table or database, another login,
 * another name) is not the declaration and stays an error.
 */
export function declaredLinkTable(
  ctx: AuditContext,
  t: CatalogRemoteTable,
): { target: { service: string; database: string }; remote: string; view: string } | undefined {
  if (t.engine !== 'CONNECT' || t.tableType !== 'MYSQL') return undefined;
  const m = /^mysql:\/\/([^:@/]*)(?::[^@]*)?@[^/]*\/([^/?]*)\/([^/?]*)$/.exec(t.connection);
  if (!m) return undefined;
  const [, user, db, table] = m;
  for (const l of ctx.desired.links) {
    if (l.database !== t.db || l.user !== user || l.target.database !== decodeURIComponent(db!)) continue;
    const lt = l.tables.find((x) => x.connectTable === t.table && x.remote === decodeURIComponent(table!));
    if (lt) return { target: l.target, remote: lt.remote, view: lt.view };
  }
  return undefined;
}

/** The other service a remote table's connection reaches (by database name, else by server address). */
export function remoteTarget(
  ctx: AuditContext,
  t: CatalogRemoteTable,
  owner: FleetService,
): { service: FleetService; what: string } | undefined {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^@/]*@([^:/]*)(?::(\d+))?\/([^/?]*)/.exec(t.connection);
  if (!m) return undefined;
  const host = m[1]!;
  const port = Number(m[2] ?? 3306);
  const db = decodeURIComponent(m[3]!);
  const byDb = ctx.fleet.services.find((s) => s.database === db && s.name !== owner.name);
  const server = ctx.fleet.servers.find((s) => sameAddress(s, host, port));
  if (byDb && (!server || server.name === byDb.server))
    return { service: byDb, what: `database ${db}${server ? ` on server ${server.name}` : ''}` };
  if (server && server.name !== owner.server) {
    const other = ctx.fleet.services.find((s) => s.server === server.name && s.name !== owner.name);
    if (other) return { service: other, what: `server ${server.name} (${host}:${port})` };
  }
  return undefined;
}

function sameAddress(s: FleetServer, host: string, port: number): boolean {
  if (s.port !== port) return false;
  const local = ['127.0.0.1', 'localhost', '::1'];
  const h = s.host ?? '127.0.0.1';
  return h === host || s.name === host || (local.includes(h) && local.includes(host));
}

/** The owner's accounts with one of `privileges` on the table (or the table itself when none has). */
export function tableUsers(
  ctx: AuditContext,
  owner: FleetService,
  t: CatalogRemoteTable,
  privileges: string[],
): string[] {
  const users = ctx.effective
    .filter(
      (ea) =>
        ownerOf(ctx, ea.account)?.name === owner.name &&
        reachOnObject(ea, t.db, t.table, false).some((r) => r.privileges.some((p) => privileges.includes(p))),
    )
    .map((ea) => accountName(ea.account));
  return users.length > 0 ? users : [`${ident(t.db)}.${ident(t.table)}`];
}
