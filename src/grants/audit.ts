// Runs every audit rule over one server's catalog and sums the findings up. Pure: the command
// brings catalogs (live or from a dump), this turns them into findings, renderers print them.
import { type DesiredServer, desiredServer } from '../fleet/desired.js';
import type { Fleet, FleetServer, FleetService } from '../fleet/model.js';
import { type MoveRecord, withMovedOut } from '../fleet/moves.js';
import { AUDIT_RULES } from './audit-rules/index.js';
import type { AdminAccount, AuditContext, AuditRule, Finding, Severity, SeverityOverride } from './audit-rules/rule.js';
import { type EffectiveAccount, effectivePrivileges } from './effective.js';
import type { RotationRecord } from './rotation.js';
import { accountKey, type Catalog } from './types.js';

export type { AdminAccount, AuditRule, Finding, Severity, SeverityOverride };

export type FailOn = 'error' | 'warning';

export interface AuditOptions {
  /** Per-rule severity from `--severity rule=level`; `off` drops the rule. */
  severity?: Readonly<Record<string, SeverityOverride>>;
  /** The exact accounts dbps logs in with as admin on this server (internal, never flagged). */
  adminAccounts?: readonly AdminAccount[];
  /**
   * Older form: user names of socket admins. Each stands for user@localhost authenticated by unix_socket
   * only, never for that name on another host.
   */
  adminUsers?: readonly string[];
  /** Unfinished password rotations (rotations.json) and the audit's time, for rotation-unfinished. */
  rotations?: readonly RotationRecord[];
  now?: Date;
  /** Moves recorded in state.json: a moved service's old copy and its read-only accounts are dbps's, not orphans. */
  moves?: readonly MoveRecord[];
  /**
   * The server-independent part of the context, worked out while the server was still answering
   * (precomputeAudit); must come from this fleet, server and the same privilege tables.
   */
  precomputed?: PrecomputedAudit;
}

/** What the rules need that depends only on the fleet and the privilege tables, not on the objects. */
export interface PrecomputedAudit {
  desired: DesiredServer;
  effective: EffectiveAccount[];
}

/**
 * The desired state and effective privileges of one server: the costly part of an audit (tens of ms
 * at 1000s of accounts), computable as soon as the privilege tables are read, so a caller can work
 * it out while the server still reads the objects (views, routines, remote tables) for the rules.
 */
export function precomputeAudit(
  fleet: Fleet,
  server: FleetServer,
  grants: Catalog,
  desired: DesiredServer = desiredServer(fleet, server),
): PrecomputedAudit {
  return { desired, effective: effectivePrivileges(grants) };
}

/** Findings of every rule for one server's catalog, with overrides applied and duplicate drift dropped. */
export function auditCatalog(fleet: Fleet, server: FleetServer, catalog: Catalog, opts: AuditOptions = {}): Finding[] {
  const admins: AdminAccount[] = [
    ...(opts.adminAccounts ?? []),
    ...(opts.adminUsers ?? []).map((user) => ({ user, host: 'localhost', socketOnly: true })),
  ];
  const ctx: AuditContext = {
    ...auditContext(fleet, server, catalog, admins, opts.moves, opts.precomputed),
    ...(opts.rotations ? { rotations: opts.rotations } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  };
  const findings: Finding[] = [];
  for (const rule of AUDIT_RULES) {
    const override = opts.severity?.[rule.id];
    if (override === 'off') continue;
    for (const f of rule.check(ctx))
      findings.push(override && f.severity !== 'allowed' ? { ...f, severity: override } : f);
  }
  return dropShadowedDrift(findings);
}

/** The prepared, read-only view every rule works from. */
export function auditContext(
  fleet: Fleet,
  server: FleetServer,
  catalog: Catalog,
  adminAccounts: readonly AdminAccount[],
  moves: readonly MoveRecord[] = [],
  precomputed?: PrecomputedAudit,
): AuditContext {
  const desired = withMovedOut(precomputed?.desired ?? desiredServer(fleet, server), moves);
  const serviceOfUser = new Map<string, FleetService>();
  for (const s of fleet.services) for (const a of s.accounts) serviceOfUser.set(a.user, s);
  // A link's account (on the target) and its view definer (on the reader) belong to the reading service.
  for (const s of fleet.services) for (const l of s.links ?? []) serviceOfUser.set(l.user, s);
  return {
    fleet,
    server,
    catalog,
    desired,
    effective: precomputed?.effective ?? effectivePrivileges(catalog),
    managed: new Map(desired.accounts.map((a) => [accountKey(a.user, a.host), a])),
    serviceOfUser,
    // A shadow database is the service's own: its migrator may use it, every other account is reported.
    serviceDatabases: fleet.services.flatMap((s) => [
      { database: s.database, service: s },
      ...(s.shadowDatabase ? [{ database: s.shadowDatabase, service: s }] : []),
    ]),
    adminAccounts,
  };
}

// A privilege that a specific rule already reports (cross-service, global, pattern, …) is drift too;
// saying it twice only adds noise, so drift keeps only what no other rule explains.
function dropShadowedDrift(findings: Finding[]): Finding[] {
  const pathOf = (f: Finding) => `${f.server}|${f.account}|${f.object}|${f.via.slice(0, f.via.lastIndexOf(' → '))}`;
  const explained = new Set(findings.filter((f) => f.rule !== 'managed-drift' && f.severity !== 'allowed').map(pathOf));
  return findings.filter((f) => f.rule !== 'managed-drift' || !explained.has(pathOf(f)));
}

/** Keeps findings about the selected services: their accounts, or their data reached by others. */
export function findingsForServices(findings: Finding[], services: readonly string[] | undefined): Finding[] {
  if (!services || services.length === 0) return findings;
  return findings.filter(
    (f) =>
      (f.service !== undefined && services.includes(f.service)) ||
      (f.targetService !== undefined && services.includes(f.targetService)),
  );
}

export interface AuditSummary {
  errors: number;
  warnings: number;
  allowed: number;
  /** Findings at or above --fail-on. */
  failing: number;
  failOn: FailOn;
  byRule: Record<string, number>;
  serversAudited: number;
  serversUnreachable: number;
}

/** Counts for the summary line, the JSON summary and the exit code. */
export function summarize(
  findings: readonly Finding[],
  failOn: FailOn,
  serversAudited: number,
  serversUnreachable: number,
): AuditSummary {
  const byRule: Record<string, number> = {};
  let errors = 0;
  let warnings = 0;
  let allowed = 0;
  for (const f of findings) {
    if (f.severity === 'error') errors++;
    else if (f.severity === 'warning') warnings++;
    else allowed++;
    if (f.severity !== 'allowed') byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
  }
  return {
    errors,
    warnings,
    allowed,
    failing: failOn === 'error' ? errors : errors + warnings,
    failOn,
    byRule,
    serversAudited,
    serversUnreachable,
  };
}

/** Whether a finding counts against --fail-on. */
export function isFailing(f: Finding, failOn: FailOn): boolean {
  return f.severity === 'error' || (f.severity === 'warning' && failOn === 'warning');
}

/** Rule metadata for renderers (SARIF rules, JUnit cases, README table). */
export function ruleCatalog(): { id: string; description: string; defaultSeverity: string; help: string }[] {
  return AUDIT_RULES.map((r) => ({
    id: r.id,
    description: r.description,
    defaultSeverity: r.defaultSeverity,
    help: r.help,
  }));
}
