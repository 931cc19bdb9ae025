// Schema-valid services.yaml -> Fleet, with the semantic checks a schema cannot express.
import type { ConfigIssue } from '../errors.js';
import { purgeEventName } from '../fleet/desired.js';
import { isLocalAccountHost, isLoopbackHost } from '../fleet/hosts.js';
import { defaultLinkHost, linkName, linkTableName, linkViewName } from '../fleet/links.js';
import { implicitCollation, isUca1400, UCA1400_SINCE, unsupportedVersion } from '../fleet/mariadb-versions.js';
import type {
  Fleet,
  FleetAccount,
  FleetLink,
  FleetServer,
  FleetService,
  OutboxPurge,
  ServerTls,
} from '../fleet/model.js';
import {
  invalidAccountHost,
  invalidIdentifier,
  invalidUserName,
  MAX_DATABASE_NAME,
  MAX_TABLE_NAME,
  MAX_USER_NAME,
  sqlStem,
} from '../fleet/names.js';
import { PROFILES } from '../mycnf/profiles.js';
import { parseSize } from '../util/size.js';
import { didYouMean } from '../util/suggest.js';
import { atLeast, parseVersion } from '../util/version.js';
import { cronProblem, retentionProblem } from './backup-schedule.js';
import { checkK8sNames } from './k8s-names-check.js';
import { durationSeconds, outboxRetentionProblem, purgeEverySeconds } from './outbox-retention.js';
import type { DocPath, SourceMap } from './source-map.js';
import { formatPath } from './source-map.js';
import type { ProfileName, ServerSpec, ServiceSpec, ServicesFile } from './types.js';

export const DEFAULTS = {
  mariadb: '11.8',
  charset: 'utf8mb4',
  collation: 'utf8mb4_uca1400_ai_ci',
  accountHost: '%',
  basePort: 3307,
  profile: 'oltp' as ProfileName,
  memory: '1G',
  storage: '10Gi',
};

/** Smallest memory a server may be given: below this InnoDB and the profiles make no sense. */
export const MIN_MEMORY = 128 * 1024 * 1024;

export type ResolveOutcome = { ok: true; fleet: Fleet } | { ok: false; issues: ConfigIssue[] };

/** Resolves defaults and implicit servers/accounts, and checks everything across entries. */
export function resolveFleet(spec: ServicesFile, source: SourceMap, file: string): ResolveOutcome {
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const at = (path: DocPath, message: string, key = false): ConfigIssue => ({
    path: formatPath(path),
    ...(key ? source.keyAt(path) : source.valueAt(path)),
    message,
  });
  const err = (path: DocPath, message: string, key = false) => issues.push(at(path, message, key));

  const d = spec.defaults ?? {};
  const fleetMariadb = d.mariadb ?? DEFAULTS.mariadb;
  const fleetCharset = d.charset ?? DEFAULTS.charset;
  const fleetDefaults = {
    mariadb: fleetMariadb,
    charset: fleetCharset,
    // Without a collation the newest one the fleet's version has (uca1400 exists only from 10.10).
    collation: d.collation ?? implicitCollation(fleetCharset, fleetMariadb),
    accountHost: d.accountHost ?? DEFAULTS.accountHost,
    basePort: d.basePort ?? DEFAULTS.basePort,
    profile: d.profile ?? DEFAULTS.profile,
    memory: d.memory ?? DEFAULTS.memory,
    localMemory: d.localMemory,
    storage: d.storage ?? DEFAULTS.storage,
  };
  if (d.charset || d.collation)
    checkCharset(
      fleetDefaults.charset,
      fleetDefaults.collation,
      ['defaults', d.collation ? 'collation' : 'charset'],
      err,
    );
  const hostProblem = invalidAccountHost(fleetDefaults.accountHost);
  if (hostProblem) err(['defaults', 'accountHost'], hostProblem);
  const monitorHost = spec.defaults?.monitor?.host;
  const monitorHostProblem = monitorHost === undefined ? undefined : invalidAccountHost(monitorHost);
  if (monitorHostProblem) err(['defaults', 'monitor', 'host'], monitorHostProblem);
  if (d.memory) checkMemory(d.memory, ['defaults', 'memory'], err);
  if (d.localMemory) checkMemory(d.localMemory, ['defaults', 'localMemory'], err);
  if (d.mariadb) checkVersion(d.mariadb, ['defaults', 'mariadb'], err);

  const declaredServers = spec.servers ?? {};
  const serviceNames = Object.keys(spec.services);
  const serverNames = Object.keys(declaredServers);

  // Servers declared under `servers:` (schema isolation).
  const servers: FleetServer[] = [];
  for (const [name, s] of Object.entries(declaredServers)) {
    const path = ['servers', name];
    if (spec.services[name] && !spec.services[name]!.server) {
      err(
        path,
        `server "${name}" has the same name as service "${name}", which gets its own server; rename one of them`,
        true,
      );
    }
    servers.push(makeServer(name, 'schema', s, path, fleetDefaults, err));
  }
  // One server per service without `server:` (instance isolation).
  for (const [name, svc] of Object.entries(spec.services)) {
    if (svc.server) {
      for (const k of ['profile', 'memory', 'localMemory', 'port', 'serverId', 'storage'] as const) {
        if (svc[k] !== undefined) {
          err(
            ['services', name, k],
            `"${k}" belongs to server "${svc.server}", not to service "${name}" that lives on it; set it under servers.${svc.server}`,
            true,
          );
        }
      }
      continue;
    }
    servers.push(
      makeServer(name, 'instance', { driver: 'local', ...pick(svc) }, ['services', name], fleetDefaults, err),
    );
  }

  assignServerIds(servers, spec, err);
  checkPorts(servers, spec, err);
  checkComposeNames(servers, spec, err);

  // Services.
  const serverByName = new Map(servers.map((s) => [s.name, s]));
  const services: FleetService[] = [];
  const ucaReported = new Set<string>();
  for (const [name, svc] of Object.entries(spec.services)) {
    const path = ['services', name];
    let serverName = name;
    if (svc.server) {
      if (!declaredServers[svc.server]) {
        const hint = didYouMean(svc.server, serverNames);
        const why = spec.services[svc.server]
          ? `; "${svc.server}" is a service with a server of its own, so declare a shared server under "servers:" and point both services at it`
          : hint || (serverNames.length ? ` (declared: ${serverNames.join(', ')})` : '; declare it under "servers:"');
        err(
          [...path, 'server'],
          `service "${name}" names server "${svc.server}", which is not declared under "servers:"${why}`,
        );
        // The service's own settings are still checked below (every problem in one run).
      }
      serverName = svc.server;
    }
    const database = svc.database ?? sqlStem(name);
    const dbProblem = invalidIdentifier(database, 'database', MAX_DATABASE_NAME);
    if (dbProblem)
      err(
        svc.database ? [...path, 'database'] : path,
        svc.database ? dbProblem : `${dbProblem}; set "database:" for service "${name}"`,
        !svc.database,
      );
    if (!dbProblem && /^(mysql|information_schema|performance_schema|sys)$/i.test(database)) {
      err(
        svc.database ? [...path, 'database'] : path,
        `database name "${database}" is reserved by MariaDB; choose another with "database:"`,
        !svc.database,
      );
    }
    const charset = svc.charset ?? fleetDefaults.charset;
    // The database lives on its server, so a collation left implicit follows that server's version.
    const serverVersion = serverByName.get(serverName)?.mariadb ?? fleetDefaults.mariadb;
    const collation =
      svc.collation ??
      (svc.charset && svc.charset !== fleetDefaults.charset
        ? implicitCollation(svc.charset, serverVersion)
        : (d.collation ?? implicitCollation(fleetDefaults.charset, serverVersion)));
    // Inherited values were checked once under defaults; only what the service sets is checked here.
    if (svc.charset || svc.collation)
      checkCharset(charset, collation, [...path, svc.collation ? 'collation' : 'charset'], err);
    if (isUca1400(collation) && !atLeast(parseVersion(serverVersion), ...UCA1400_SINCE)) {
      const place: DocPath = svc.collation ? [...path, 'collation'] : ['defaults', 'collation'];
      const key = formatPath(place);
      if (!ucaReported.has(key)) {
        ucaReported.add(key);
        err(
          place,
          `collation "${collation}" exists only from MariaDB ${UCA1400_SINCE.join('.')}, but service "${name}" lives on server "${serverName}" running ${serverVersion}; use ${implicitCollation(charset, serverVersion)} there, or a newer mariadb:`,
        );
      }
    }

    const accounts = resolveAccounts(name, svc, fleetDefaults.accountHost, path, err, serverByName.get(serverName));
    const stem = sqlStem(name);
    const outboxTable = svc.outbox ? `${stem}_events_outbox` : undefined;
    if (outboxTable && outboxTable.length > MAX_TABLE_NAME) {
      err(
        [...path, 'outbox'],
        `the outbox table name "${outboxTable}" would be ${outboxTable.length} characters long; MariaDB allows at most ${MAX_TABLE_NAME}, so shorten the service name`,
        true,
      );
    }
    const shadowDatabase = svc.shadowDatabase ? `${database}_shadow` : undefined;
    if (shadowDatabase && shadowDatabase.length > MAX_DATABASE_NAME) {
      err(
        [...path, 'shadowDatabase'],
        `the shadow database name "${shadowDatabase}" would be ${shadowDatabase.length} characters long; MariaDB allows at most ${MAX_DATABASE_NAME}, so shorten the database name`,
        true,
      );
    }
    // `outbox: { retention }`: an event of the service, defined by its own migrator, purges published rows.
    let outboxPurge: OutboxPurge | undefined;
    if (svc.outbox && typeof svc.outbox === 'object') {
      const rpath: DocPath = [...path, 'outbox', 'retention'];
      const problem = outboxRetentionProblem(svc.outbox.retention);
      const migrator = accounts.find((a) => a.role === 'migrator');
      const event = purgeEventName(name);
      // Each problem on its own: a bad retention does not hide a missing migrator (one run, every problem).
      if (problem) err(rpath, problem);
      if (!migrator)
        err(
          rpath,
          `service "${name}" has no migrator account to own the outbox purge event; add a user with role migrator, or write "outbox: true"`,
        );
      if (event.length > MAX_TABLE_NAME)
        err(
          rpath,
          `the outbox purge event name "${event}" would be ${event.length} characters long; MariaDB allows at most ${MAX_TABLE_NAME}, so shorten the service name`,
        );
      if (!problem && migrator && event.length <= MAX_TABLE_NAME) {
        const retentionSeconds = durationSeconds(svc.outbox.retention);
        outboxPurge = {
          event,
          retention: svc.outbox.retention,
          retentionSeconds,
          everySeconds: purgeEverySeconds(retentionSeconds),
          definer: { user: migrator.user, host: migrator.host },
        };
        // dbps writes the my.cnf of local servers and of generated output; an external server's is its own.
        const server = serverByName.get(serverName);
        const profile = server?.profile;
        if (server?.driver !== 'external' && profile && !PROFILES[profile].eventScheduler) {
          warnings.push(
            at(
              rpath,
              `service "${name}" lives on server "${serverName}" with profile ${profile}, which turns event_scheduler OFF: its outbox purge event will be created but never run; use profile oltp or turn event_scheduler on there`,
            ),
          );
        }
      }
    }
    if (svc.outbox) {
      accounts.push({
        user: `${stem}_outbox`,
        host: accounts[0]?.host ?? fleetDefaults.accountHost,
        role: 'outbox-relay',
        service: name,
        requireSsl: false,
      });
    }
    const service: FleetService = {
      name,
      server: serverName,
      database,
      charset,
      collation,
      isolation: svc.server ? 'schema' : 'instance',
      accounts,
      reads: [],
      outbox: svc.outbox !== undefined && svc.outbox !== false,
      ...(outboxTable ? { outboxTable } : {}),
      ...(outboxPurge ? { outboxPurge } : {}),
      ...(shadowDatabase ? { shadowDatabase } : {}),
      ...(svc.backup ? { backup: { ...svc.backup } } : {}),
    };
    if (svc.backup?.schedule !== undefined) {
      const problem = cronProblem(svc.backup.schedule);
      if (problem) err([...path, 'backup', 'schedule'], problem);
    }
    if (svc.backup?.retention !== undefined) {
      const problem = retentionProblem(svc.backup.retention);
      if (problem) err([...path, 'backup', 'retention'], problem);
    }
    services.push(service);
    serverByName.get(serverName)?.services.push(name);
  }

  // Cross-service checks, once every service is known.
  const byName = new Map(services.map((s) => [s.name, s]));
  for (const service of services) {
    const svcSpec = spec.services[service.name]!;
    (svcSpec.reads ?? []).forEach((read, i) => {
      const path = ['services', service.name, 'reads', i, 'service'];
      if (read.service === service.name) {
        err(path, `service "${service.name}" reads from itself; a service owns its own data, remove this entry`);
        return;
      }
      const target = byName.get(read.service);
      if (!target) {
        if (!spec.services[read.service])
          err(
            path,
            `service "${service.name}" reads from "${read.service}", which is not a service${didYouMean(read.service, serviceNames)}`,
          );
        return;
      }
      read.tables.forEach((t, j) => {
        const problem = invalidIdentifier(t, 'table', MAX_TABLE_NAME);
        if (problem) err(['services', service.name, 'reads', i, 'tables', j], problem);
      });
      const granted = target.server === service.server;
      if (!granted) {
        warnings.push(
          at(
            path,
            `service "${service.name}" reads from "${read.service}" on another server ("${target.server}"); dbps documents this read but cannot grant it: serve it through ${read.service}'s API or a replica`,
          ),
        );
      }
      service.reads.push({
        service: target.name,
        database: target.database,
        tables: [...new Set(read.tables)],
        granted,
      });
    });
  }
  resolveLinks(services, spec, servers, fleetDefaults.accountHost, serviceNames, err);
  checkDuplicateNames(services, spec, err);
  for (const server of servers) {
    if (server.services.length === 0 && server.isolation === 'schema') {
      warnings.push(at(['servers', server.name], `server "${server.name}" holds no service`, true));
    }
  }

  const fleet: Fleet = {
    name: spec.fleet,
    file,
    mariadb: fleetDefaults.mariadb,
    charset: fleetDefaults.charset,
    collation: fleetDefaults.collation,
    accountHost: fleetDefaults.accountHost,
    monitorHost: spec.defaults?.monitor?.host ?? fleetDefaults.accountHost,
    basePort: fleetDefaults.basePort,
    servers,
    services,
    warnings,
  };
  // Only a fleet without other errors has complete accounts and grants to name.
  if (issues.length === 0) checkK8sNames(fleet, spec, source, file, err);
  if (issues.length > 0) {
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    return { ok: false, issues };
  }
  return { ok: true, fleet };
}

type Err = (path: DocPath, message: string, key?: boolean) => void;

/** MariaDB's limit on a CREATE SERVER name (mysql.servers.Server_name). */
const MAX_SERVER_NAME = 64;

/**
 * `links:` entries: the target is another service on another server, the tables are valid and listed
 * once, no link is declared twice, and the names dbps derives (account, CREATE SERVER, view, CONNECT
 * table) fit MariaDB's limits and clash with no service's table of the same name.
 */
function resolveLinks(
  services: FleetService[],
  spec: ServicesFile,
  servers: FleetServer[],
  accountHost: string,
  serviceNames: string[],
  err: Err,
): void {
  const byName = new Map(services.map((s) => [s.name, s]));
  const serverOf = new Map(servers.map((s) => [s.name, s]));
  const names = new Map<string, string>();
  for (const service of services) {
    const links = spec.services[service.name]?.links ?? [];
    const seen = new Set<string>();
    const resolved: FleetLink[] = [];
    service.links = resolved;
    links.forEach((link, i) => {
      const path = ['services', service.name, 'links', i];
      if (link.service === service.name) {
        err(
          [...path, 'service'],
          `service "${service.name}" links to itself; a service reads its own data directly, remove this entry`,
        );
        return;
      }
      const target = byName.get(link.service);
      if (!target) {
        if (!spec.services[link.service])
          err(
            [...path, 'service'],
            `service "${service.name}" links to "${link.service}", which is not a service${didYouMean(link.service, serviceNames)}`,
          );
        return;
      }
      if (seen.has(link.service)) {
        err(
          [...path, 'service'],
          `service "${service.name}" declares two links to "${link.service}"; list every table in one entry`,
        );
        return;
      }
      seen.add(link.service);
      if (target.server === service.server) {
        err(
          [...path, 'service'],
          `service "${service.name}" links to "${link.service}" on its own server ("${service.server}"); a link reaches another server, declare this under reads: instead`,
        );
        return;
      }
      let bad = false;
      const tables = new Set<string>();
      link.tables.forEach((t, j) => {
        const problem =
          invalidIdentifier(t, 'table', MAX_TABLE_NAME) ??
          invalidIdentifier(linkTableName(link.service, t), 'table', MAX_TABLE_NAME)?.replace(
            /^table name/,
            'the CONNECT table name dbps derives,',
          );
        if (problem) {
          bad = true;
          err([...path, 'tables', j], problem);
        } else if (tables.has(t)) {
          bad = true;
          err([...path, 'tables', j], `table "${t}" is listed twice in this link; remove one`);
        }
        tables.add(t);
      });
      const user = linkName(service.name, link.service);
      if (user.length > MAX_SERVER_NAME || user.length > MAX_USER_NAME) {
        err(
          [...path, 'service'],
          `the link name dbps derives, "${user}", is ${user.length} characters long; MariaDB allows at most ${MAX_SERVER_NAME} for a CREATE SERVER name, so shorten a service name`,
        );
        return;
      }
      const other = names.get(user);
      if (other) {
        err([...path, 'service'], `this link and ${other} both get the name "${user}"; rename one of the services`);
        return;
      }
      names.set(user, `services.${service.name}.links[${i}]`);
      const host =
        link.host ?? defaultLinkHost({ accountHost }, serverOf.get(service.server)!, serverOf.get(target.server)!);
      const hostProblem = invalidAccountHost(host);
      if (hostProblem) {
        err([...path, 'host'], hostProblem);
        return;
      }
      if (bad) return;
      resolved.push({
        service: target.name,
        server: target.server,
        database: target.database,
        tables: [...tables],
        via: link.via,
        user,
        host,
        imageHost: link.host ?? accountHost,
        serverName: user,
      });
    });
  }
  // A view a link creates must not take the name of a table the reader declares elsewhere (outbox).
  for (const service of services) {
    for (const link of service.links ?? []) {
      for (const t of link.tables) {
        const view = linkViewName(link.service, t);
        if (view === service.outboxTable)
          err(
            ['services', service.name, 'links'],
            `the link view "${view}" is the name of ${service.name}'s outbox table; rename a service`,
          );
      }
    }
  }
}

function pick(svc: ServiceSpec): ServerSpec {
  const out: ServerSpec = {};
  if (svc.profile) out.profile = svc.profile;
  if (svc.memory) out.memory = svc.memory;
  if (svc.localMemory) out.localMemory = svc.localMemory;
  if (svc.storage) out.storage = svc.storage;
  if (svc.port !== undefined) out.port = svc.port;
  if (svc.serverId !== undefined) out.serverId = svc.serverId;
  return out;
}

function makeServer(
  name: string,
  isolation: 'instance' | 'schema',
  s: ServerSpec,
  path: DocPath,
  defaults: {
    profile: ProfileName;
    memory: string;
    localMemory?: string | undefined;
    storage: string;
    mariadb: string;
    accountHost: string;
  },
  err: Err,
): FleetServer {
  const driver = s.driver ?? 'local';
  const memory = s.memory ?? defaults.memory;
  if (s.memory) checkMemory(s.memory, [...path, 'memory'], err);
  if (s.localMemory) checkMemory(s.localMemory, [...path, 'localMemory'], err);
  if (s.localMemory && driver === 'external')
    err(
      [...path, 'localMemory'],
      `external server "${name}" is not run by dbps; "localMemory:" is only for driver: local, so remove it`,
      true,
    );
  const localMemory = driver === 'local' ? (s.localMemory ?? defaults.localMemory) : undefined;
  const localMemoryBytes = localMemory === undefined ? undefined : parseSize(localMemory);
  if (s.mariadb) checkVersion(s.mariadb, [...path, 'mariadb'], err);
  if (driver === 'external') {
    if (!s.host)
      err(
        path,
        `external server "${name}" needs "host:" with the server's name or address (and "port:" unless it is 3306)`,
        true,
      );
    if (!s.admin)
      err(
        path,
        `external server "${name}" needs "admin:", the account dbps provisions with; add admin: { user: ..., passwordEnv: ... }`,
        true,
      );
  } else {
    if (s.host)
      err(
        [...path, 'host'],
        `local server "${name}" runs on this machine; "host:" is only for driver: external, so remove it or set driver: external`,
        true,
      );
    if (s.admin)
      err(
        [...path, 'admin'],
        `local server "${name}" is administered by dbps itself; "admin:" is only for driver: external, so remove it or set driver: external`,
        true,
      );
  }
  if (s.tls && driver !== 'external')
    err(
      [...path, 'tls'],
      `local server "${name}" gets its certificate from \`dbps up\`; "tls:" is only for driver: external, so remove it`,
      true,
    );
  if (s.tls?.mode === 'disabled' && s.tls.ca)
    err([...path, 'tls', 'ca'], `server "${name}": tls mode "disabled" uses no CA; remove "ca:" or choose verify-full`);
  if (s.admin) {
    const problem = invalidUserName(s.admin.user);
    if (problem) err([...path, 'admin', 'user'], problem);
  }
  if (s.backupHost !== undefined) {
    const problem = driver === 'external' ? invalidAccountHost(s.backupHost) : undefined;
    if (driver !== 'external')
      err(
        [...path, 'backupHost'],
        `local server "${name}" is backed up from this machine (dbps_backup@localhost); "backupHost:" is only for driver: external, so remove it`,
        true,
      );
    else if (problem) err([...path, 'backupHost'], problem);
  }
  return {
    name,
    driver,
    isolation,
    profile: s.profile ?? defaults.profile,
    memoryBytes: parseSize(memory) ?? 0,
    ...(localMemoryBytes !== undefined ? { localMemoryBytes } : {}),
    storage: s.storage ?? defaults.storage,
    ...(s.port !== undefined ? { port: s.port } : driver === 'external' ? { port: 3306 } : {}),
    ...(s.host ? { host: s.host } : {}),
    ...(s.admin ? { admin: { ...s.admin } } : {}),
    ...(driver === 'external' ? { tls: externalTls(s) } : {}),
    serverId: s.serverId ?? 0,
    gtidDomainId: 0,
    mariadb: s.mariadb ?? defaults.mariadb,
    services: [],
    backupHost: driver === 'external' ? (s.backupHost ?? defaults.accountHost) : 'localhost',
    ...(s.binlogs === 'follow' ? { binlogsFollow: true } : {}),
  };
}

function checkMemory(text: string, path: DocPath, err: Err): void {
  const bytes = parseSize(text);
  if (bytes !== undefined && bytes < MIN_MEMORY) err(path, `memory ${text} is too small; give a server at least 128M`);
  if (bytes !== undefined && bytes > 4 * 1024 ** 4) err(path, `memory ${text} is larger than 4T; check the unit`);
}

/** Versions outside the range the my.cnf option table and the naming rules know are refused here, not in generate. */
function checkVersion(text: string, path: DocPath, err: Err): void {
  const problem = unsupportedVersion(text);
  if (problem) err(path, problem);
}

/** The collation MariaDB would pick for a character set that comes without one. */
function defaultCollation(charset: string): string {
  return charset === 'binary' ? 'binary' : `${charset}_general_ci`;
}

/**
 * docker-compose.yml holds one `<server>-db` per local server, one `<server>-exporter` per
 * server and `prometheus`: two servers whose names meet there would make generate fail, so they are a
 * validate error at the second server's name.
 */
function checkComposeNames(servers: FleetServer[], spec: ServicesFile, err: Err): void {
  const taken = new Map<string, string>([['prometheus', 'the Prometheus container']]);
  const claim = (name: string, what: string, server: FleetServer) => {
    const other = taken.get(name);
    if (other === undefined) {
      taken.set(name, what);
      return;
    }
    const path: DocPath = spec.servers?.[server.name] ? ['servers', server.name] : ['services', server.name];
    err(
      path,
      `${what} would be the docker-compose.yml service "${name}", already taken by ${other}; rename ${spec.servers?.[server.name] ? 'the server' : 'the service'}`,
      true,
    );
  };
  for (const s of servers) {
    if (s.driver === 'local') claim(`${s.name}-db`, `server "${s.name}"`, s);
    claim(`${s.name}-exporter`, `the exporter of server "${s.name}"`, s);
  }
}

function checkCharset(charset: string, collation: string, path: DocPath, err: Err): void {
  // utf8 is MariaDB's alias of utf8mb3, whose collations are named either way.
  const names = charset === 'utf8' || charset === 'utf8mb3' ? ['utf8', 'utf8mb3'] : [charset];
  const fits = (charset === 'binary' && collation === 'binary') || names.some((n) => collation.startsWith(`${n}_`));
  if (!fits) {
    const example = charset === 'utf8mb4' ? ' such as utf8mb4_uca1400_ai_ci' : ` such as ${defaultCollation(charset)}`;
    err(
      path,
      `collation "${collation}" does not belong to character set "${charset}"; use a ${charset}_* collation${example}, or change the charset`,
    );
  }
}

function resolveAccounts(
  name: string,
  svc: ServiceSpec,
  defaultHost: string,
  path: DocPath,
  err: Err,
  server: FleetServer | undefined,
): FleetAccount[] {
  const stem = sqlStem(name);
  const users = svc.users ?? [
    { name: `${stem}_app`, role: 'app' as const },
    { name: `${stem}_migrator`, role: 'migrator' as const },
  ];
  return users.map((u, i) => {
    const upath = svc.users ? [...path, 'users', i] : path;
    const problem = invalidUserName(u.name) ?? reservedUser(u.name);
    if (problem)
      err(
        svc.users ? [...upath, 'name'] : upath,
        svc.users ? problem : `${problem}; list the service's accounts under "users:" with other names`,
        !svc.users,
      );
    const host = u.host ?? defaultHost;
    const hostProblem = invalidAccountHost(host);
    if (hostProblem && u.host) err([...upath, 'host'], hostProblem);
    if (u.requireSsl === true && server?.driver === 'external' && server.tls?.mode === 'disabled')
      err(
        [...upath, 'requireSsl'],
        `account ${u.name} requires TLS, but server "${server.name}" is reached without TLS (tls mode disabled); set tls: { ca: FILE } on the server, or remove requireSsl`,
      );
    return {
      user: u.name,
      host,
      role: u.role,
      service: name,
      ...(u.passwordEnv ? { passwordEnv: u.passwordEnv } : {}),
      ...(u.maxUserConnections !== undefined ? { maxUserConnections: u.maxUserConnections } : {}),
      requireSsl: u.requireSsl ?? requireSslByDefault(host, server),
    };
  });
}

/**
 * Gives every server without an explicit serverId one derived from its name, so adding, removing or
 * reordering other services never renumbers a running server (server_id and gtid_domain_id end up
 * in binlogs and GTID positions; changing them breaks replication and point-in-time restore).
 */
function assignServerIds(servers: FleetServer[], spec: ServicesFile, err: Err): void {
  const used = new Map<number, string>();
  for (const s of servers) {
    if (s.serverId === 0) continue;
    const other = used.get(s.serverId);
    if (other)
      err(
        serverPath(s, spec, 'serverId'),
        `serverId ${s.serverId} is used by both "${other}" and "${s.name}"; each server needs its own, so change or remove one`,
      );
    else used.set(s.serverId, s.name);
  }
  // Name order (not file order) settles the rare hash collision the same way every time.
  const implicit = servers
    .filter((s) => s.serverId === 0)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const s of implicit) {
    let id = nameServerId(s.name);
    while (used.has(id)) id = id >= SERVER_ID_SPAN ? 1 : id + 1;
    s.serverId = id;
    used.set(id, s.name);
  }
  // One GTID domain per server keeps every server's binlog stream independent.
  for (const s of servers) s.gtidDomainId = s.serverId;
}

/** Implicit server ids lie in 1..SERVER_ID_SPAN: short enough to read, wide enough that names rarely collide. */
export const SERVER_ID_SPAN = 999_983;

/** A server id from a server name (FNV-1a), stable across runs and machines. */
export function nameServerId(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % SERVER_ID_SPAN) + 1;
}

function serverPath(s: FleetServer, spec: ServicesFile, key: string): DocPath {
  return spec.servers?.[s.name] ? ['servers', s.name, key] : ['services', s.name, key];
}

function checkPorts(servers: FleetServer[], spec: ServicesFile, err: Err): void {
  const seen = new Map<string, string>();
  for (const s of servers) {
    if (s.port === undefined) continue;
    const host = s.driver === 'external' ? (s.host ?? '') : 'localhost';
    const key = `${host}:${s.port}`;
    const other = seen.get(key);
    if (other) {
      err(
        serverPath(s, spec, 'port'),
        `port ${s.port} is used by both "${other}" and "${s.name}"${s.driver === 'local' ? ' on this machine' : ` on ${host}`}; give each server its own port`,
      );
    }
    seen.set(key, s.name);
  }
  const base = spec.defaults?.basePort ?? DEFAULTS.basePort;
  const localCount = servers.filter((s) => s.driver === 'local').length;
  if (base + localCount > 65535)
    err(['defaults', 'basePort'], `basePort ${base} leaves no room for ${localCount} local servers`);
}

function checkDuplicateNames(services: FleetService[], spec: ServicesFile, err: Err): void {
  const databases = new Map<string, string>();
  const accounts = new Map<string, string>();
  for (const svc of services) {
    const dbKey = `${svc.server}\u0000${svc.database.toLowerCase()}`;
    const other = databases.get(dbKey);
    const path = spec.services[svc.name]?.database ? ['services', svc.name, 'database'] : ['services', svc.name];
    if (other)
      err(
        path,
        `services "${other}" and "${svc.name}" both use database "${svc.database}" on server "${svc.server}"; each service owns its own database`,
        !spec.services[svc.name]?.database,
      );
    databases.set(dbKey, svc.name);
    svc.accounts.forEach((a, i) => {
      const key = `${svc.server}\u0000${a.user}@${a.host}`;
      const owner = accounts.get(key);
      if (owner) {
        const declared = spec.services[svc.name]?.users;
        // The outbox relay account is implicit: point at `outbox:` when it clashes with a listed user.
        const apath =
          a.role === 'outbox-relay'
            ? ['services', svc.name, 'outbox']
            : declared
              ? ['services', svc.name, 'users', i, 'name']
              : ['services', svc.name];
        const message =
          owner === svc.name
            ? a.role === 'outbox-relay'
              ? `service "${svc.name}" lists user "${a.user}", the name dbps gives its outbox relay account; rename that user`
              : `account '${a.user}'@'${a.host}' is listed twice in service "${svc.name}"; an account has one role, so remove one entry`
            : `account '${a.user}'@'${a.host}' is declared by both "${owner}" and "${svc.name}" on server "${svc.server}"; accounts belong to one service, so rename one`;
        err(apath, message, a.role === 'outbox-relay' || !declared);
      }
      accounts.set(key, svc.name);
    });
  }
  // Shadow databases after every service's own: a clash is reported at shadowDatabase, whichever comes first.
  for (const svc of services) {
    if (!svc.shadowDatabase) continue;
    const dbKey = `${svc.server}\u0000${svc.shadowDatabase.toLowerCase()}`;
    const other = databases.get(dbKey);
    if (other)
      err(
        ['services', svc.name, 'shadowDatabase'],
        `the shadow database "${svc.shadowDatabase}" of service "${svc.name}" is already the database of service "${other}" on server "${svc.server}"; rename one with "database:"`,
        true,
      );
    databases.set(dbKey, svc.name);
  }
}

/** Account names dbps or MariaDB keep for themselves. */
function reservedUser(user: string): string | undefined {
  if (/^(root|mysql|mariadb\.sys|public|dbps_.*)$/i.test(user)) {
    return `user name "${user}" is reserved (root, mysql, mariadb.sys, PUBLIC and dbps_* belong to MariaDB and dbps); give the account a name of its own`;
  }
  return undefined;
}

/**
 * TLS of an external server with its defaults: verify-full when a CA is given, otherwise required
 * over a network, and none over a socket or loopback (nothing to protect the bytes from there).
 */
function externalTls(s: ServerSpec): ServerTls {
  const ca = s.tls?.ca;
  if (s.tls?.mode) return { mode: s.tls.mode, ...(ca ? { ca } : {}) };
  if (ca) return { mode: 'verify-full', ca };
  if (s.admin?.socket || isLoopbackHost(s.host)) return { mode: 'disabled' };
  return { mode: 'required' };
}

/**
 * Accounts reachable over a network must use TLS: REQUIRE SSL unless services.yaml says otherwise,
 * on external servers that offer TLS. Local servers listen on 127.0.0.1 only, so no account there is
 * reachable over a network; a server with tls mode disabled has no TLS to require.
 */
export function requireSslByDefault(host: string, server: FleetServer | undefined): boolean {
  if (server?.driver !== 'external' || isLocalAccountHost(host)) return false;
  return server.tls !== undefined && server.tls.mode !== 'disabled';
}
