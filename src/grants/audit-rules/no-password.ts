// Login accounts that authenticate with nothing: no password and no plugin that vouches for the user.
import { account as accountSql } from '../../sql/quote.js';
import {
  type AuditRule,
  accountName,
  authPlugins,
  type Finding,
  isInternalAccount,
  PASSWORDLESS_PLUGINS,
} from './rule.js';

export const noPassword: AuditRule = {
  id: 'no-password',
  description: 'An account logs in without a password or authentication plugin',
  defaultSeverity: 'error',
  help: 'An account with an empty authentication string and a password plugin (or none) accepts an empty password. Give it a password (dbps provision does for managed accounts) or an authentication plugin such as unix_socket.',
  check(ctx) {
    const findings: Finding[] = [];
    for (const a of ctx.catalog.accounts) {
      if (a.isRole || a.user === '' || a.locked || a.hasPassword || isInternalAccount(a, ctx.adminAccounts)) continue;
      const plugins = authPlugins(a);
      if (plugins.some((p) => PASSWORDLESS_PLUGINS.includes(p))) continue;
      const service = ctx.serviceOfUser.get(a.user);
      findings.push({
        rule: this.id,
        severity: this.defaultSeverity,
        server: ctx.server.name,
        account: accountName(a),
        ...(service ? { service: service.name } : {}),
        object: accountName(a),
        privilege: '',
        via: 'account',
        message: plugins.length
          ? `authentication plugin ${plugins.join(' or ')} with an empty password`
          : 'no password and no authentication plugin: an empty password logs in',
        fix: service
          ? `-- run \`dbps provision\` to set its password; or: ALTER USER ${accountSql(a.user, a.host)} ACCOUNT LOCK;`
          : `ALTER USER ${accountSql(a.user, a.host)} ACCOUNT LOCK;`,
      });
    }
    return findings;
  },
};
