// Database, User, Grant and Secret resources of one server, straight from desiredServer(): the
// operator grants exactly what `dbps provision` grants, from the same pure desired state.
import type { DesiredAccount, DesiredServer } from '../../fleet/desired.js';
import { desiredServer } from '../../fleet/desired.js';
import {
  databaseObjectName,
  grantObjectName,
  mariadbObjectName,
  passwordSecretName,
  userObjectName,
} from '../../fleet/k8s-names.js';
import type { Fleet, FleetServer } from '../../fleet/model.js';
import { servicesOn } from '../../fleet/model.js';
import { dbPatternText, ident } from '../../sql/quote.js';
import { API_VERSION, type K8sOptions, metadata, PASSWORD_KEY } from './common.js';
import type { YamlValue } from './yaml.js';

/** What one Grant resource holds: the operator's Grant has database and table but no column field. */
export interface GrantSpec {
  name: string;
  database: string;
  table: string;
  privileges: string[];
}

/**
 * Desired grants of an account as Grant specs, one per (database, table).
 * - database level: the name is escaped as the LIKE pattern MariaDB reads there (`orders\_db`), because
 *   the operator only backtick-quotes it and `_` would otherwise also match `ordersXdb`;
 * - column level: the CRD has no column field, so the column goes into the privilege itself
 *   (`UPDATE (\`published_at\`)`), which the operator pastes verbatim into `GRANT … ON db.table`:
 *   the exact privilege, never a wider table-level UPDATE.
 */
export function grantSpecs(userObject: string, account: DesiredAccount): GrantSpec[] {
  const specs = new Map<string, GrantSpec>();
  for (const grant of account.grants) {
    const scope = grant.scope;
    const name = grantObjectName(userObject, scope);
    const [database, table] =
      scope.level === 'global'
        ? ['*', '*']
        : scope.level === 'database'
          ? [dbPatternText(scope.database), '*']
          : [scope.database, scope.table];
    const privileges =
      scope.level === 'column' ? grant.privileges.map((p) => `${p} (${ident(scope.column)})`) : grant.privileges;
    const spec = specs.get(name) ?? { name, database, table, privileges: [] };
    spec.privileges.push(...privileges);
    specs.set(name, spec);
  }
  return [...specs.values()].map((s) => ({ ...s, privileges: [...new Set(s.privileges)].sort() }));
}

/** Whether an account's User and Grants are left to the operator (its metrics exporter account). */
export function operatorOwnsAccount(account: DesiredAccount, opts: K8sOptions): boolean {
  return opts.operatorMetrics === true && account.kind === 'monitor';
}

/** Databases, then per account its Secret, User and Grants. */
export function sqlResources(
  fleet: Fleet,
  server: FleetServer,
  opts: K8sOptions,
  desired: DesiredServer = desiredServer(fleet, server),
): YamlValue[] {
  const mariaDbRef = { name: mariadbObjectName(server) };
  const out: YamlValue[] = [];
  for (const service of servicesOn(fleet, server)) {
    out.push({
      apiVersion: API_VERSION,
      kind: 'Database',
      metadata: metadata(fleet, opts, databaseObjectName(service), {
        annotations: { 'dbps.dev/service': service.name },
      }),
      spec: {
        mariaDbRef,
        name: service.database,
        characterSet: service.charset,
        collate: service.collation,
        // Deleting the resource must never drop a service's data.
        cleanupPolicy: 'Skip',
      },
    });
  }
  // A link's account on the target is reached from the reader's pod, not from this machine's 127.0.0.1.
  const imageHosts = new Map(
    fleet.services.flatMap((s) =>
      (s.links ?? []).filter((l) => l.server === server.name).map((l) => [l.user, l.imageHost]),
    ),
  );
  for (const desiredAccount of desired.accounts) {
    const imageHost = desiredAccount.kind === 'link' ? imageHosts.get(desiredAccount.user) : undefined;
    const account = imageHost ? { ...desiredAccount, host: imageHost } : desiredAccount;
    const user = userObjectName(server, account);
    const secret = passwordSecretName(user);
    const annotations = {
      'dbps.dev/account': `'${account.user}'@'${account.host}'`,
      ...(account.service ? { 'dbps.dev/service': account.service } : {}),
    };
    out.push(secretResource(fleet, opts, secret, annotations));
    if (operatorOwnsAccount(account, opts)) continue;
    out.push({
      apiVersion: API_VERSION,
      kind: 'User',
      metadata: metadata(fleet, opts, user, { annotations }),
      spec: {
        mariaDbRef,
        name: account.user,
        host: account.host,
        passwordSecretKeyRef: { name: secret, key: PASSWORD_KEY },
        // The CRD defaults to 10; provision leaves MariaDB's 0 (no per-account limit) unless told.
        maxUserConnections: account.maxUserConnections ?? 0,
        require: account.requireSsl ? { ssl: true } : undefined,
      },
    });
    for (const g of grantSpecs(user, account)) {
      out.push({
        apiVersion: API_VERSION,
        kind: 'Grant',
        metadata: metadata(fleet, opts, g.name, { annotations }),
        spec: {
          mariaDbRef,
          username: account.user,
          host: account.host,
          database: g.database,
          table: g.table,
          privileges: g.privileges,
          grantOption: false,
        },
      });
    }
  }
  return out;
}

/**
 * An account's Secret with no value: the password never goes to git. The user (or a secret manager, or
 * `--generate-secrets FILE`) fills key `password`; `kubectl apply` keeps data it does not manage, and the
 * watch label makes the operator pick up a rotated password.
 */
function secretResource(fleet: Fleet, opts: K8sOptions, name: string, annotations: Record<string, string>): YamlValue {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: metadata(fleet, opts, name, { labels: { 'k8s.mariadb.com/watch': '' }, annotations }),
    type: 'Opaque',
  };
}

/** Names of every account Secret of the fleet, with the account it serves, for `--generate-secrets`. */
export function accountSecrets(fleet: Fleet): { secret: string; account: string }[] {
  const out: { secret: string; account: string }[] = [];
  for (const server of fleet.servers) {
    if (server.driver === 'external') continue;
    for (const account of desiredServer(fleet, server).accounts) {
      out.push({
        secret: passwordSecretName(userObjectName(server, account)),
        account: `'${account.user}'@'${account.host}' on ${server.name}`,
      });
    }
  }
  return out;
}
