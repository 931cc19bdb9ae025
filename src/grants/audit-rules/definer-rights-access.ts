// A view, routine, trigger or event in one service's database that runs with its definer's privileges
// and names another service's objects the definer can reach: the service's accounts get that data
// through a plain SELECT / CALL / INSERT on their own database, with no grant on the other service.
import type { FleetService } from '../../fleet/model.js';
import { account as accountSql, ident } from '../../sql/quote.js';
import { describePath, type EffectiveAccount, reachOnObject } from '../effective.js';
import { referencedObjects } from '../sql-references.js';
import type { CatalogDefinerObject } from '../types.js';
import { type AuditContext, type AuditRule, accountName, type Finding, ownerOf } from './rule.js';

export const definerRightsAccess: AuditRule = {
  id: 'definer-rights-access',
  description: "A definer-rights view, routine, trigger or event reaches another service's data",
  defaultSeverity: 'error',
  help: "A view or routine with SQL SECURITY DEFINER, and every trigger and event, runs with its definer's privileges. One in service A's database that names service B's objects, with a definer who can reach them (root, a DBA, an admin-run migration, a restored dump), gives A's accounts B's data without any grant on B. Reads information_schema VIEWS, ROUTINES, TRIGGERS and EVENTS (definer and body) and checks the definer's effective privileges on every object of another service the body names. Fix: SQL SECURITY INVOKER, or re-create it with the service's own migrator as definer.",
  check(ctx) {
    const findings: Finding[] = [];
    const objects = ctx.catalog.definerObjects ?? [];
    if (objects.length === 0) return findings;
    const serviceOfDb = new Map(ctx.serviceDatabases.map((d) => [d.database, d.service]));
    const databases = new Set(serviceOfDb.keys());
    const byAccount = new Map(ctx.effective.map((ea) => [`${ea.account.user}@${ea.account.host}`, ea]));
    for (const obj of objects) {
      const owner = serviceOfDb.get(obj.db);
      if (!owner) continue;
      const definer = byAccount.get(obj.definer);
      if (!definer) continue; // missing or role definers: definer-account reports them
      if (!definerCanRun(definer, obj)) continue; // the server refuses to run it (1370/1142): dormant
      const users = invokers(ctx, owner, obj);
      for (const ref of referencedObjects(obj.body, databases)) {
        const target = serviceOfDb.get(ref.db)!;
        if (target.name === owner.name) continue;
        const reach = reachOnObject(definer, ref.db, ref.name, true);
        if (reach.length === 0) continue;
        // What the body can use there: EXECUTE on a routine it calls; on a table or view, SELECT, and the
        // changes it makes (a view passes them through only when it is updatable).
        const usable = ref.call
          ? ['EXECUTE']
          : obj.kind === 'VIEW' && obj.updatable === false
            ? ['SELECT']
            : ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];
        const privileges = [...new Set(reach.flatMap((r) => r.privileges))].filter((p) => usable.includes(p)).sort();
        if (privileges.length === 0) continue;
        const read = owner.reads.find((r) => r.service === target.name);
        const declared = read?.tables.includes(ref.name) && privileges.every((p) => p === 'SELECT');
        const path = `${objectLabel(obj)} (DEFINER ${obj.definer}) → ${privileges.join(', ')} on ${ref.db}.${ref.name}`;
        const how = [...new Set(reach.map((r) => describePath(r.grant.path)))].join('; ');
        for (const who of users.length > 0 ? users : [definer]) {
          const whoOwner = ownerOf(ctx, who.account);
          findings.push({
            rule: this.id,
            severity: declared ? 'allowed' : this.defaultSeverity,
            server: ctx.server.name,
            account: accountName(who.account),
            ...(whoOwner ? { service: whoOwner.name } : {}),
            targetService: target.name,
            object: `${obj.kind} ${ident(obj.db)}.${ident(obj.name)}`,
            privilege: privileges.join(', '),
            via: path,
            message: declared
              ? `declared read: services.${owner.name}.reads allows SELECT on ${target.name}.${ref.name}; ${objectLabel(obj)} reads it as ${obj.definer}`
              : `${objectLabel(obj)} runs as ${obj.definer}, who holds ${privileges.join(', ')} on ${target.name}'s ${ref.db}.${ref.name} (${how}); ${who === definer ? 'whoever can run it' : `${owner.name}'s account`} gets that without a grant on ${target.name}`,
            fix: declared ? '' : definerFix(obj, ownMigrator(owner)),
          });
        }
      }
    }
    return findings;
  },
};

/** `view orders.v`, `procedure orders.p`, `trigger orders.t`, `event orders.e`. */
export function objectLabel(obj: CatalogDefinerObject): string {
  return `${obj.kind.toLowerCase()} ${obj.db}.${obj.name}`;
}

/** The service account a definer-rights object of the service should run as: its migrator. */
export function ownMigrator(owner: FleetService): { user: string; host: string } | undefined {
  return owner.accounts.find((a) => a.role === 'migrator') ?? owner.accounts[0];
}

/** SQL that takes the definer's rights away: SQL SECURITY INVOKER, or the service's own definer. */
export function definerFix(obj: CatalogDefinerObject, own: { user: string; host: string } | undefined): string {
  const name = `${ident(obj.db)}.${ident(obj.name)}`;
  const definer = own ? accountSql(own.user, own.host) : 'the service migrator';
  switch (obj.kind) {
    case 'VIEW':
      return `ALTER SQL SECURITY INVOKER VIEW ${name} AS ${obj.body};`;
    case 'PROCEDURE':
    case 'FUNCTION':
      return `ALTER ${obj.kind} ${name} SQL SECURITY INVOKER;`;
    case 'EVENT':
      return `ALTER DEFINER = ${definer} EVENT ${name} COMMENT '';`;
    case 'TRIGGER':
      return `DROP TRIGGER IF EXISTS ${name}; -- re-create it with DEFINER = ${definer}`;
    case 'PACKAGE':
    case 'PACKAGE BODY':
      return `-- re-create ${obj.kind} ${name} with AUTHID CURRENT_USER or DEFINER = ${definer}`;
  }
}

/**
 * Whether the server runs the object at all as its definer (checked on 10.11): a routine needs its
 * definer to hold EXECUTE on it, a trigger TRIGGER on its table, an event EVENT on its database; a view
 * needs nothing of its definer on the view itself.
 */
export function definerCanRun(definer: EffectiveAccount, obj: CatalogDefinerObject): boolean {
  switch (obj.kind) {
    case 'VIEW':
      return true;
    case 'TRIGGER':
      return reachOnObject(definer, obj.db, obj.table ?? '', true, ['TRIGGER']).length > 0;
    case 'EVENT':
      return reachOnObject(definer, obj.db, '', true, ['EVENT']).length > 0;
    default:
      return reachOnObject(definer, obj.db, obj.name, true, ['EXECUTE']).length > 0;
  }
}

// The owner's accounts that can set the object off: SELECT (or a change) on a view, EXECUTE on a routine,
// the firing change on a trigger's table; an event runs by itself, into tables its service reads.
function invokers(ctx: AuditContext, owner: FleetService, obj: CatalogDefinerObject): EffectiveAccount[] {
  const needs: Record<CatalogDefinerObject['kind'], string[]> = {
    VIEW: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
    PROCEDURE: ['EXECUTE'],
    FUNCTION: ['EXECUTE'],
    PACKAGE: ['EXECUTE'],
    'PACKAGE BODY': ['EXECUTE'],
    TRIGGER: [obj.event ?? 'INSERT'],
    EVENT: ['SELECT'],
  };
  const on = obj.kind === 'TRIGGER' ? (obj.table ?? obj.name) : obj.name;
  return ctx.effective.filter(
    (ea) =>
      ownerOf(ctx, ea.account)?.name === owner.name &&
      reachOnObject(ea, obj.db, on, false).some((r) => r.privileges.some((p) => needs[obj.kind].includes(p))),
  );
}
