// A foreign key from one service's table to another service's: coupling the pattern forbids (the
// parent's deletes cascade or fail across services, and the child's inserts probe the parent's rows).
import { ident } from '../../sql/quote.js';
import { reachOnObject } from '../effective.js';
import { type AuditRule, accountName, type Finding, ownerOf } from './rule.js';

export const crossServiceForeignKey: AuditRule = {
  id: 'cross-service-foreign-key',
  description: "A foreign key references another service's table",
  defaultSeverity: 'warning',
  help: "Reads information_schema.REFERENTIAL_CONSTRAINTS for constraints whose parent table is in another database. A foreign key from service A's table to service B's couples their schemas and lifecycles (B cannot drop or rename, its deletes cascade into A or fail) and lets A's accounts probe which of B's keys exist by inserting rows, without any grant on B. Keep the other service's id as a plain column and check it through its API.",
  check(ctx) {
    const findings: Finding[] = [];
    const serviceOfDb = new Map(ctx.serviceDatabases.map((d) => [d.database, d.service]));
    for (const fk of ctx.catalog.foreignKeys ?? []) {
      const owner = serviceOfDb.get(fk.db);
      const target = serviceOfDb.get(fk.referencedDb);
      if (!owner || !target || owner.name === target.name) continue;
      const table = `${ident(fk.db)}.${ident(fk.table)}`;
      // The owner's accounts that can insert or update child rows: they can probe the parent's keys.
      const writers = ctx.effective.filter(
        (ea) =>
          ownerOf(ctx, ea.account)?.name === owner.name &&
          reachOnObject(ea, fk.db, fk.table, false).some((r) =>
            r.privileges.some((p) => p === 'INSERT' || p === 'UPDATE'),
          ),
      );
      for (const who of writers.length > 0 ? writers.map((ea) => accountName(ea.account)) : [table])
        findings.push({
          rule: this.id,
          severity: this.defaultSeverity,
          server: ctx.server.name,
          account: who,
          service: owner.name,
          targetService: target.name,
          object: `CONSTRAINT ${ident(fk.constraint)} ON ${table}`,
          privilege: 'REFERENCES',
          via: `foreign key ${fk.db}.${fk.table}.${fk.constraint} → ${fk.referencedDb}.${fk.referencedTable}`,
          message: `${owner.name}'s table ${fk.db}.${fk.table} has foreign key ${fk.constraint} on ${target.name}'s ${fk.referencedDb}.${fk.referencedTable}: the schemas are coupled and inserts probe ${target.name}'s rows`,
          fix: `ALTER TABLE ${table} DROP FOREIGN KEY ${ident(fk.constraint)};`,
        });
    }
    return findings;
  },
};
