// Kubernetes names of every object `dbps generate --only k8s` writes. Kubernetes names are DNS-1123
// (lower case, digits and "-"), MariaDB names are not ("_", "$", "." and upper case are common), so
// each object keeps its real MariaDB name in spec.name and gets a predictable Kubernetes name here.
// Pure: the renderer and the `validate` collision check both call these, so they cannot disagree.
import type { DesiredAccount, GrantScope } from './desired.js';
import { desiredServer } from './desired.js';
import type { Fleet, FleetServer, FleetService } from './model.js';

/** DNS-1123 label: what every name below must match (and at most 253 characters as a subdomain). */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The predictable mapping: lower case, every character outside [a-z0-9-] becomes "-", and leading or
 * trailing "-" are dropped (a name must start and end with a letter or digit).
 */
export function k8sName(text: string): string {
  const mapped = text
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  return mapped === '' ? 'x' : mapped;
}

/** The MariaDB resource (and its NetworkPolicy) of a server. */
export function mariadbObjectName(server: FleetServer): string {
  return k8sName(server.name);
}

/** The Database resource of a service. */
export function databaseObjectName(service: FleetService): string {
  return k8sName(service.name);
}

/**
 * The User resource of an account. An account is (user, host) on one server, and every server of the
 * fleet shares one namespace, so the name holds all three: `<server>-<user>`, plus `-<host>-<hash>` when
 * the host is not "%". The host part carries a short hash of the exact host text because mapping a host
 * ("10.0.%", "10-0-%") to DNS-1123 loses characters; the hash keeps two different hosts apart. dbps's own
 * per-server accounts (dbps_backup, dbps_monitor) exist once per server, so they never carry a host.
 * The name depends only on the account itself, so adding or removing others never renames it.
 */
export function userObjectName(
  server: FleetServer,
  account: Pick<DesiredAccount, 'user' | 'service'> & { host?: string },
): string {
  const base = `${k8sName(server.name)}-${k8sName(account.user)}`;
  const host = account.service && account.host !== undefined && account.host !== '%' ? account.host : undefined;
  return fitName(host === undefined ? base : `${base}-${k8sName(host)}-${shortHash(host)}`, MAX_USER_OBJECT);
}

/** Longest User name: its Secret adds "-password" and each Grant "-<database>-<table>", within 253. */
const MAX_USER_OBJECT = 120;
/** A Kubernetes object name (DNS-1123 subdomain) is at most 253 characters. */
const MAX_OBJECT_NAME = 253;

/** Six hex digits of FNV-1a: stable across runs and machines, enough to tell two hosts apart. */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash & 0xffffff).toString(16).padStart(6, '0');
}

/** A name cut to `max` characters with a hash of the whole, so two long names that share a prefix stay apart. */
function fitName(name: string, max: number): string {
  if (name.length <= max) return name;
  return `${name.slice(0, max - 7).replace(/-+$/, '')}-${shortHash(name)}`;
}

/** The Secret holding an account's password (never a value in git: filled by the user or a secret manager). */
export function passwordSecretName(userObject: string): string {
  return `${userObject}-password`;
}

/** The Secret the operator generates for root (`generate: true`). */
export function rootSecretName(server: FleetServer): string {
  return `${k8sName(server.name)}-root`;
}

/**
 * A Grant per (account, database, table): named after the scope rather than a position, because a
 * Grant's database and table are immutable in the operator, so one name must always mean one scope.
 */
export function grantObjectName(userObject: string, scope: GrantScope): string {
  switch (scope.level) {
    case 'global':
      return `${userObject}-global`;
    case 'database':
      return fitName(`${userObject}-${k8sName(scope.database)}`, MAX_OBJECT_NAME);
    case 'table':
    case 'column':
      return fitName(`${userObject}-${k8sName(scope.database)}-${k8sName(scope.table)}`, MAX_OBJECT_NAME);
  }
}

/** Services on a server that share one backup schedule and retention. */
export interface BackupGroup {
  /** Kubernetes name of the Backup / PhysicalBackup. */
  name: string;
  schedule: string;
  /** Retention as written (`7d`), if any. */
  retention?: string;
  services: FleetService[];
}

/** Used when a service gives a retention but no schedule: nightly, like most backup defaults. */
export const DEFAULT_BACKUP_SCHEDULE = '0 3 * * *';

/**
 * One backup per distinct (schedule, retention) among the server's services that declare `backup:`.
 * Several groups on one server each get their own resource, so every service gets at least the
 * schedule and retention it asked for.
 */
export function backupGroups(fleet: Fleet, server: FleetServer): BackupGroup[] {
  const groups: BackupGroup[] = [];
  for (const service of fleet.services) {
    if (service.server !== server.name || !service.backup) continue;
    const schedule = service.backup.schedule ?? DEFAULT_BACKUP_SCHEDULE;
    const retention = service.backup.retention;
    const group = groups.find((g) => g.schedule === schedule && g.retention === retention);
    if (group) group.services.push(service);
    else groups.push({ name: '', schedule, ...(retention ? { retention } : {}), services: [service] });
  }
  const base = k8sName(server.name);
  groups.forEach((g, i) => {
    g.name = groups.length === 1 ? base : `${base}-${i + 1}`;
  });
  return groups;
}

/** Who an object was made for, so a collision can point at the place in services.yaml. */
export type K8sNameOwner =
  | { type: 'server'; server: string }
  | { type: 'service'; service: string }
  | { type: 'account'; server: string; service?: string; user: string; host: string };

export interface K8sObjectName {
  kind: string;
  name: string;
  owner: K8sNameOwner;
  /** What the object stands for, in words ("account 'a_b'@'%'"). */
  what: string;
}

/** Every named object of the Kubernetes output, in output order. */
export function k8sObjectNames(fleet: Fleet): K8sObjectName[] {
  const names: K8sObjectName[] = [];
  for (const server of fleet.servers) {
    // External servers are not in the Kubernetes output (the operator does not run them).
    if (server.driver === 'external') continue;
    const serverOwner: K8sNameOwner = { type: 'server', server: server.name };
    const serverWhat = `server "${server.name}"`;
    names.push({ kind: 'MariaDB', name: mariadbObjectName(server), owner: serverOwner, what: serverWhat });
    names.push({ kind: 'NetworkPolicy', name: mariadbObjectName(server), owner: serverOwner, what: serverWhat });
    names.push({
      kind: 'Secret',
      name: rootSecretName(server),
      owner: serverOwner,
      what: `root password of server "${server.name}"`,
    });
    for (const service of fleet.services) {
      if (service.server !== server.name) continue;
      names.push({
        kind: 'Database',
        name: databaseObjectName(service),
        owner: { type: 'service', service: service.name },
        what: `service "${service.name}"`,
      });
    }
    for (const account of desiredServer(fleet, server).accounts) {
      const owner: K8sNameOwner = {
        type: 'account',
        server: server.name,
        ...(account.service ? { service: account.service } : {}),
        user: account.user,
        host: account.host,
      };
      const what = `account '${account.user}'@'${account.host}' on server "${server.name}"`;
      const user = userObjectName(server, account);
      names.push({ kind: 'User', name: user, owner, what });
      names.push({ kind: 'Secret', name: passwordSecretName(user), owner, what });
      const grantNames = new Set(account.grants.map((g) => grantObjectName(user, g.scope)));
      for (const name of grantNames) names.push({ kind: 'Grant', name, owner, what });
    }
    for (const group of backupGroups(fleet, server)) {
      names.push({ kind: 'Backup', name: group.name, owner: serverOwner, what: serverWhat });
    }
  }
  return names;
}

export interface K8sNameCollision {
  kind: string;
  name: string;
  first: K8sObjectName;
  second: K8sObjectName;
}

/** Pairs of different owners whose objects would get the same Kubernetes name (one per pair). */
export function k8sNameCollisions(fleet: Fleet): K8sNameCollision[] {
  const seen = new Map<string, K8sObjectName>();
  const reported = new Set<string>();
  const collisions: K8sNameCollision[] = [];
  for (const object of k8sObjectNames(fleet)) {
    const key = `${object.kind}\u0000${object.name}`;
    const first = seen.get(key);
    if (!first) {
      seen.set(key, object);
      continue;
    }
    const pair = `${JSON.stringify(first.owner)}|${JSON.stringify(object.owner)}`;
    if (reported.has(pair)) continue;
    reported.add(pair);
    collisions.push({ kind: object.kind, name: object.name, first, second: object });
  }
  return collisions;
}
