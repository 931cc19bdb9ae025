// Every audit rule, in report order. Adding a rule = one file + one line here.
import { anonymousAccount } from './anonymous-account.js';
import { crossServiceAccess } from './cross-service-access.js';
import { crossServiceForeignKey } from './cross-service-foreign-key.js';
import { definerAccount } from './definer-account.js';
import { definerRightsAccess } from './definer-rights-access.js';
import { globalDataPrivileges } from './global-data-privileges.js';
import { grantOption } from './grant-option.js';
import { managedDrift } from './managed-drift.js';
import { mysqlSchemaAccess } from './mysql-schema-access.js';
import { networkWithoutTls } from './network-without-tls.js';
import { noPassword } from './no-password.js';
import { orphanAccount } from './orphan-account.js';
import { proxyPrivilege } from './proxy-privilege.js';
import { remoteTableAccess } from './remote-table-access.js';
import { remoteTableSecret } from './remote-table-secret.js';
import type { AuditRule } from './rule.js';
import { serverAccountPrivileges } from './server-account-privileges.js';
import { wideDbPattern } from './wide-db-pattern.js';
import { wildcardHost } from './wildcard-host.js';

export const AUDIT_RULES: readonly AuditRule[] = [
  crossServiceAccess,
  definerRightsAccess,
  definerAccount,
  remoteTableAccess,
  remoteTableSecret,
  crossServiceForeignKey,
  globalDataPrivileges,
  serverAccountPrivileges,
  wideDbPattern,
  mysqlSchemaAccess,
  grantOption,
  proxyPrivilege,
  managedDrift,
  orphanAccount,
  anonymousAccount,
  noPassword,
  wildcardHost,
  networkWithoutTls,
];
