// Password rotations started with `dbps rotate` and never finished: the old password still logs in,
// so a leaked one stays valid. Reported once a rotation is older than defaults.rotationMaxAge (7 days).
import { account as accountSql } from '../../sql/quote.js';
import { DEFAULT_ROTATION_MAX_AGE_DAYS, describeAge, rotationOverdue } from '../rotation.js';
import type { AuditRule, Finding } from './rule.js';

export const rotationUnfinished: AuditRule = {
  id: 'rotation-unfinished',
  description: 'A password rotation started and not finished within defaults.rotationMaxAge',
  defaultSeverity: 'warning',
  help: 'While a rotation is unfinished the account accepts its old password too, so the reason for rotating (a leak, a departure) is not dealt with. Redeploy the remaining instances with the new password and run `dbps rotate <service> --finish`. The age is defaults.rotationMaxAge in services.yaml (days, default 7). Set the severity with --severity rotation-unfinished=error|warning|off.',
  check(ctx) {
    const findings: Finding[] = [];
    if (!ctx.rotations || !ctx.now) return findings;
    const maxAge = ctx.fleet.rotationMaxAgeDays ?? DEFAULT_ROTATION_MAX_AGE_DAYS;
    for (const r of ctx.rotations) {
      if (r.server !== ctx.server.name || !rotationOverdue(r, ctx.now, maxAge)) continue;
      const name = `'${r.user}'@'${r.host}'`;
      findings.push({
        rule: this.id,
        severity: this.defaultSeverity,
        server: ctx.server.name,
        account: name,
        service: r.service,
        object: name,
        privilege: '',
        via: 'two passwords',
        message: `a password rotation started ${describeAge(r.startedAt, ctx.now)} ago (at ${r.startedAt}) is not finished: the old password still logs in (limit: ${maxAge} d)`,
        fix: `-- dbps rotate ${r.service} --user ${r.user} --finish   (the account is ${accountSql(r.user, r.host)})`,
      });
    }
    return findings;
  },
};
