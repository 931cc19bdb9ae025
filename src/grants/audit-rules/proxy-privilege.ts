// A service account that may PROXY another account, i.e. act with that account's privileges.
import { type AuditRule, type Finding, grantFinding, ownerOf } from './rule.js';

export const proxyPrivilege: AuditRule = {
  id: 'proxy-privilege',
  description: 'A service account can proxy another account',
  defaultSeverity: 'error',
  help: "GRANT PROXY ON other TO svc lets svc log in with the other account's privileges (through an authentication plugin that supports proxying), whatever they reach.",
  check(ctx) {
    const findings: Finding[] = [];
    for (const ea of ctx.effective) {
      if (!ownerOf(ctx, ea.account)) continue;
      for (const grant of ea.grants) {
        if (grant.scope.level !== 'proxy') continue;
        findings.push(
          grantFinding(
            ctx,
            this,
            ea,
            grant,
            ['PROXY'],
            `can act as '${grant.scope.user}'@'${grant.scope.host}' with all of its privileges`,
          ),
        );
      }
    }
    return findings;
  },
};
