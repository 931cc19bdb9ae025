// A definer-rights object whose definer no longer exists (whoever later gets that name gets its rights)
// or belongs to another service (the object runs with that service's privileges).
import { ident } from '../../sql/quote.js';
import { definerFix, objectLabel, ownMigrator } from './definer-rights-access.js';
import type { AuditRule, Finding } from './rule.js';

export const definerAccount: AuditRule = {
  id: 'definer-account',
  description: "A definer-rights object's definer does not exist or belongs to another service",
  defaultSeverity: 'error',
  help: "Reads information_schema VIEWS, ROUTINES, TRIGGERS and EVENTS. A definer that does not exist makes the object fail today and hands its rights to whoever creates that account later (a restored dump, a DBA re-creating root@'%'); a definer of another service runs the object with that service's privileges. Re-create the object with the service's own migrator as definer, or make it SQL SECURITY INVOKER.",
  check(ctx) {
    const findings: Finding[] = [];
    const objects = ctx.catalog.definerObjects ?? [];
    if (objects.length === 0) return findings;
    const serviceOfDb = new Map(ctx.serviceDatabases.map((d) => [d.database, d.service]));
    const logins = new Set(ctx.catalog.accounts.filter((a) => !a.isRole).map((a) => `${a.user}@${a.host}`));
    const roles = new Set(ctx.catalog.accounts.filter((a) => a.isRole).map((a) => a.user));
    for (const obj of objects) {
      const owner = serviceOfDb.get(obj.db);
      if (!owner) continue;
      const at = obj.definer.lastIndexOf('@');
      const user = at < 0 ? obj.definer : obj.definer.slice(0, at);
      const missing = at < 0 ? !roles.has(user) : !logins.has(obj.definer);
      const other = ctx.serviceOfUser.get(user);
      const foreign = other !== undefined && other.name !== owner.name;
      if (!missing && !foreign) continue;
      findings.push({
        rule: this.id,
        severity: this.defaultSeverity,
        server: ctx.server.name,
        account: at < 0 ? user : `'${user}'@'${obj.definer.slice(at + 1)}'`,
        service: owner.name,
        ...(foreign ? { targetService: other.name } : {}),
        object: `${obj.kind} ${ident(obj.db)}.${ident(obj.name)}`,
        privilege: '',
        via: `${objectLabel(obj)} (DEFINER ${obj.definer}) → ${missing ? 'no such account' : `account of ${other!.name}`}`,
        message: missing
          ? `${objectLabel(obj)} names ${obj.definer} as definer, which does not exist: whoever creates that account gets the object's rights`
          : `${objectLabel(obj)} of ${owner.name} runs as ${obj.definer}, an account of ${other!.name}, with that service's privileges`,
        fix: definerFix(obj, ownMigrator(owner)),
      });
    }
    return findings;
  },
};
