// dbps audit-grants: reads every selected server's privilege catalog (or a dump of it), computes
// effective privileges and runs the audit rules. Returns a result; never prints, never exits.
import { readFile, writeFile } from 'node:fs/promises';
import { loadFleet } from '../config/load.js';
import { DbpsError, OperationalError, UsageError } from '../errors.js';
import { desiredServer } from '../fleet/desired.js';
import type { Fleet, FleetServer } from '../fleet/model.js';
import { selectServers, serverLabel } from '../fleet/select.js';
import {
  type AdminAccount,
  type AuditSummary,
  auditCatalog,
  type FailOn,
  type Finding,
  findingsForServices,
  type PrecomputedAudit,
  precomputeAudit,
  ruleCatalog,
  type SeverityOverride,
  summarize,
} from '../grants/audit.js';
import type { Catalog } from '../grants/types.js';
import { type FailureKind, formatSeconds, type ServerTimeoutError } from '../runtime/failures.js';
import { readRotations } from '../runtime/rotations.js';
import { readState } from '../runtime/state.js';
import { VERSION } from '../version.js';

export interface AuditGrantsOptions {
  file: string;
  stateDir: string;
  /** Service (or shared server) names from the command line; empty = the whole fleet. */
  services: string[];
  failOn: FailOn;
  severity: Record<string, SeverityOverride>;
  /** Write the catalogs read from the servers to this file. */
  dump?: string;
  /** Audit this dump instead of live servers. */
  fromDump?: string;
  /** Milliseconds one server may take, connect and catalog read together (default 30 s). */
  timeoutMs?: number;
  /** The audit's clock (tests). */
  now?: () => Date;
  /** Bound on connecting alone when --timeout was not given (defaults.connectTimeout, else 10 s). */
  connectTimeoutMs?: number;
}

/** Default for --timeout: a catalog of thousands of accounts reads in well under a second. */
export const DEFAULT_SERVER_TIMEOUT_MS = 30_000;

export interface ServerAuditStatus {
  server: string;
  label: string;
  /** `unreachable` covers every server that could not be read (see `reason`); its findings are unknown. */
  status: 'audited' | 'unreachable';
  /** Why it was not read: no connection, its TLS failed, the admin lacks privileges, no answer in time, anything else. */
  reason?: 'connect' | 'tls' | 'access' | 'timeout' | 'error';
  version?: string;
  error?: string;
  hint?: string;
}

export interface AuditGrantsResult {
  command: 'audit-grants';
  fleet: string;
  /** services.yaml as named on the command line (SARIF locations point into it). */
  file: string;
  toolVersion: string;
  /** Services in view, in fleet order. */
  services: string[];
  servers: ServerAuditStatus[];
  findings: Finding[];
  summary: AuditSummary;
  rules: ReturnType<typeof ruleCatalog>;
  /** Line of each service's entry in services.yaml, for SARIF locations. */
  serviceLines: Record<string, number>;
  dumpWritten?: string;
  /** clean: nothing at or above --fail-on; findings: something is; unreachable: a server could not be read. */
  outcome: 'clean' | 'findings' | 'unreachable';
}

/** One server's catalog as a dump keeps it (never a password hash: the reader does not select them). */
export interface CatalogDumpEntry {
  server: string;
  /** The account dbps read the catalog as (CURRENT_USER()), so an offline audit knows it as internal. */
  adminAccounts?: AdminAccount[];
  /** Older dumps: user names of socket admins, read as user@localhost via unix_socket only. */
  adminUsers?: string[];
  catalog: Catalog;
}

export interface CatalogDump {
  version: 1;
  kind: 'dbps-catalog-dump';
  fleet: string;
  createdAt: string;
  servers: CatalogDumpEntry[];
}

/** Audits the selected part of the fleet; a server that cannot be read is reported, the others still audited. */
export async function run(opts: AuditGrantsOptions): Promise<AuditGrantsResult> {
  if (opts.dump && opts.fromDump)
    throw new UsageError('--dump and --from-dump exclude each other: one reads servers, the other replaces them');
  // The connector and catalog modules load (most of a small audit's start-up) while services.yaml's
  // cache and the state dir are read; nothing here depends on the servers yet.
  const modules = opts.fromDump ? undefined : liveModules();
  modules?.catch(() => undefined);
  const rotationsRead = readRotations(opts.stateDir);
  const stateRead = opts.fromDump ? undefined : readState(opts.stateDir);
  const linesRead = readFile(opts.file, 'utf8').catch(() => undefined);
  for (const p of [rotationsRead, stateRead]) p?.catch(() => undefined);
  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  const servers = selectServers(fleet, opts.services);
  const services = selectedServices(fleet, opts.services);
  const known = new Set(ruleCatalog().map((r) => r.id));
  for (const rule of Object.keys(opts.severity)) {
    if (!known.has(rule))
      throw new UsageError(`--severity: no rule "${rule}"`, { hint: `rules: ${[...known].join(', ')}` });
  }

  const timeoutMs = opts.timeoutMs ?? DEFAULT_SERVER_TIMEOUT_MS;
  const entries: (LiveEntry | ServerFailure)[] = opts.fromDump
    ? await entriesFromDump(opts.fromDump, fleet, servers)
    : await readServers(fleet, servers, opts.stateDir, timeoutMs, opts.connectTimeoutMs, modules!);

  // Unfinished password rotations are recorded in the state dir (dbps rotate), not on the servers.
  const rotations = await rotationsRead;
  const now = opts.now?.() ?? new Date();
  // A moved service's old copy (kept read-only until `dbps move --finish`) is known, not an orphan.
  const moves = stateRead ? Object.values((await stateRead).moves ?? {}) : [];
  const statuses: ServerAuditStatus[] = [];
  const findings: Finding[] = [];
  const readable: CatalogDumpEntry[] = [];
  servers.forEach((server, i) => {
    const entry = entries[i]!;
    if ('error' in entry) {
      statuses.push({
        server: server.name,
        label: serverLabel(server),
        status: 'unreachable',
        reason: entry.reason,
        error: entry.error.message,
        ...(entry.error instanceof DbpsError && entry.error.hint ? { hint: entry.error.hint } : {}),
      });
      return;
    }
    // The dump keeps what was read, never the work done on it.
    const { precomputed, ...read } = entry;
    readable.push(read);
    statuses.push({
      server: server.name,
      label: serverLabel(server),
      status: 'audited',
      version: entry.catalog.version,
    });
    findings.push(
      ...auditCatalog(fleet, server, entry.catalog, {
        moves,
        adminAccounts: entry.adminAccounts ?? [],
        adminUsers: entry.adminUsers ?? [],
        severity: opts.severity,
        ...(precomputed ? { precomputed } : {}),
        rotations,
        now,
      }),
    );
  });

  let dumpWritten: string | undefined;
  if (opts.dump) {
    const dump: CatalogDump = {
      version: 1,
      kind: 'dbps-catalog-dump',
      fleet: fleet.name,
      createdAt: new Date().toISOString(),
      servers: readable,
    };
    await writeFile(opts.dump, `${JSON.stringify(dump, null, 2)}\n`);
    dumpWritten = opts.dump;
  }

  const shown = findingsForServices(findings, services);
  const unreachable = statuses.filter((s) => s.status === 'unreachable').length;
  const summary = summarize(shown, opts.failOn, statuses.length - unreachable, unreachable);
  return {
    command: 'audit-grants',
    fleet: fleet.name,
    file: opts.file,
    toolVersion: VERSION,
    services: services ?? fleet.services.map((s) => s.name),
    servers: statuses,
    findings: shown,
    summary,
    rules: ruleCatalog(),
    serviceLines: serviceLines(await linesRead, fleet),
    ...(dumpWritten ? { dumpWritten } : {}),
    outcome: unreachable > 0 ? 'unreachable' : summary.failing > 0 ? 'findings' : 'clean',
  };
}

/** 0 clean, 1 findings at or above --fail-on, 3 a server could not be read. */
export function auditExitCode(r: AuditGrantsResult): number {
  return r.outcome === 'unreachable' ? 3 : r.outcome === 'findings' ? 1 : 0;
}

// Server names on the command line stand for the services on them, as in provision.
function selectedServices(fleet: Fleet, names: string[]): string[] | undefined {
  if (names.length === 0) return undefined;
  const out = new Set<string>();
  for (const n of names) {
    if (fleet.services.some((s) => s.name === n)) out.add(n);
    else for (const s of fleet.servers.find((x) => x.name === n)?.services ?? []) out.add(s);
  }
  return fleet.services.map((s) => s.name).filter((s) => out.has(s));
}

// Loaded only for live servers, so that --from-dump never loads the connector.
function liveModules() {
  return Promise.all([import('../runtime/fanout.js'), import('../grants/catalog.js'), import('mariadb')]);
}

/** A catalog read from a live server, with the audit work already done while the server answered. */
type LiveEntry = CatalogDumpEntry & { precomputed?: PrecomputedAudit };

interface ServerFailure {
  server: string;
  reason: NonNullable<ServerAuditStatus['reason']>;
  error: Error;
}

/**
 * Every server's catalog and the account dbps read it as, through the fleet fan-out. Never throws for
 * one server: whatever goes wrong (no connection, missing privileges, no answer before the deadline,
 * anything else) becomes a failure of that server alone, so the others are still audited and the command exits 3.
 */
async function readServers(
  fleet: Fleet,
  servers: FleetServer[],
  stateDir: string,
  timeoutMs: number,
  connectTimeoutMs: number | undefined,
  modules: ReturnType<typeof liveModules>,
): Promise<(LiveEntry | ServerFailure)[]> {
  const [{ fanOut, resolveTimeouts }, { readCatalog, readObjects }] = await modules;
  const connectMs = Math.min(resolveTimeouts(fleet).connectMs, connectTimeoutMs ?? timeoutMs, timeoutMs);
  const outcomes = await fanOut(
    servers,
    async (ctx): Promise<LiveEntry> => {
      // Two sessions: the server reads the objects (information_schema, its slowest part) on one
      // thread while another reads the privilege tables. The second is only a speed-up: an admin
      // allowed one connection (MAX_USER_CONNECTIONS 1) reads everything on the first.
      const opening = Promise.allSettled([ctx.open(), ctx.open()]);
      // The desired state needs only services.yaml: worked out while the server accepts the sessions.
      const desired = desiredServer(fleet, ctx.server);
      const [first, second] = await opening;
      // Either one may be the one refused: the server takes them in whichever order they arrive.
      const opened = [first, second].flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      if (opened.length === 0) throw (first as PromiseRejectedResult).reason;
      const main = opened[0]!;
      const other = opened[1] ?? main;
      const query = main.query.bind(main);
      // All sent at once (pipelined); the privilege tables answer first, and the desired state and
      // effective privileges are worked out while the server still reads the objects.
      const grantsRead = readCatalog(query, ctx.server.name);
      const objectsRead = readObjects(other.query.bind(other));
      const meRead = query<{ me: string }>('SELECT CURRENT_USER() AS me');
      objectsRead.catch(() => undefined); // awaited below, after the grants
      meRead.catch(() => undefined);
      const grants = await grantsRead;
      const precomputed = precomputeAudit(fleet, ctx.server, grants, desired);
      const [objects, me] = await Promise.all([objectsRead, meRead]);
      const catalog = { ...grants, ...objects };
      // The account dbps itself logs in with (the configured external admin, or the socket admin of
      // `dbps up`), exactly as the server matched it: internal, whatever the OS user running dbps.
      const admin = splitAccount(String(me[0]?.me ?? ''));
      return { server: ctx.server.name, adminAccounts: admin ? [admin] : [], catalog, precomputed };
    },
    // --timeout keeps its meaning: one server's connect and catalog read together.
    { fleet, stateDir, timeouts: { connectMs, statementMs: timeoutMs }, deadlineMs: timeoutMs },
  );
  return outcomes.map((o, i) => (o.ok ? o.value : serverFailure(servers[i]!, o.error, o.failure.kind, timeoutMs)));
}

/** `user@host` from CURRENT_USER(): the host follows the last `@` (user names may hold one). */
function splitAccount(text: string): AdminAccount | undefined {
  const at = text.lastIndexOf('@');
  return at > 0 || (at === 0 && text.length > 1) ? { user: text.slice(0, at), host: text.slice(at + 1) } : undefined;
}

// One sentence naming the server and what went wrong, and the way out.
function serverFailure(server: FleetServer, e: unknown, kind: FailureKind, timeoutMs: number): ServerFailure {
  const name = server.name;
  if (kind === 'timeout') {
    return {
      server: name,
      reason: 'timeout',
      error: new OperationalError(
        `server "${name}" did not answer the catalog read within ${formatSeconds((e as ServerTimeoutError).timeoutMs ?? timeoutMs)}, so it was not audited`,
        {
          server: name,
          hint: 'check that the server is not hung or locked (SHOW PROCESSLIST), or raise --timeout',
        },
      ),
    };
  }
  const cause = (e as { cause?: { errno?: number; sqlMessage?: string } }).cause;
  const errno = cause?.errno ?? (e as { errno?: number }).errno;
  // 1142 table / 1143 column / 1044 database access denied, 1227 missing global privilege.
  if (errno === 1142 || errno === 1143 || errno === 1044 || errno === 1227) {
    const who = server.driver === 'external' ? `admin user ${server.admin?.user ?? '?'}` : 'admin account';
    const text = cause?.sqlMessage ?? (e as Error).message;
    const named = /user '((?:[^']|'')*)'@'((?:[^']|'')*)'/.exec(text);
    const account = named ? `'${named[1]}'@'${named[2]}'` : '<admin account>';
    return {
      server: name,
      reason: 'access',
      error: new OperationalError(
        `server "${name}": the ${who} cannot read the privilege tables (${text}), so it was not audited`,
        {
          server: name,
          hint: `give it read access to the catalog (GRANT SELECT ON mysql.* TO ${account};) or name an admin account that has it in services.yaml`,
        },
      ),
    };
  }
  if (kind === 'tls') return { server: name, reason: 'tls', error: e as Error };
  if (kind === 'unreachable' || kind === 'tls-required' || (e instanceof DbpsError && e.exitCode === 3))
    return { server: name, reason: 'connect', error: e as Error };
  return {
    server: name,
    reason: 'error',
    error: new OperationalError(`server "${name}" could not be audited: ${(e as Error)?.message ?? String(e)}`, {
      server: name,
      hint: 'rerun with -v for details; if the server is healthy this is a bug in dbps, please report it',
    }),
  };
}

async function entriesFromDump(file: string, fleet: Fleet, servers: FleetServer[]): Promise<CatalogDumpEntry[]> {
  let dump: CatalogDump;
  try {
    dump = JSON.parse(await readFile(file, 'utf8')) as CatalogDump;
  } catch (e) {
    throw new UsageError(
      `--from-dump ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not a JSON document (${(e as Error).message})`}`,
    );
  }
  if (dump?.kind !== 'dbps-catalog-dump' || dump.version !== 1 || !Array.isArray(dump.servers)) {
    throw new UsageError(`--from-dump ${file} is not a dbps catalog dump (version 1)`, {
      hint: 'write one with `dbps audit-grants --dump FILE`',
    });
  }
  return servers.map((s) => {
    const entry = dump.servers.find((e) => e.server === s.name);
    if (!entry || !isCatalog(entry.catalog)) {
      throw new UsageError(`--from-dump ${file} has no catalog for server "${s.name}" of fleet ${fleet.name}`, {
        hint: 'dump again with `dbps audit-grants --dump FILE` after the server was added, or name only the services the dump covers',
      });
    }
    return {
      server: s.name,
      adminAccounts: Array.isArray(entry.adminAccounts)
        ? entry.adminAccounts.filter((a) => typeof a?.user === 'string' && typeof a?.host === 'string')
        : [],
      adminUsers: Array.isArray(entry.adminUsers) ? entry.adminUsers.filter((u) => typeof u === 'string') : [],
      catalog: entry.catalog,
    };
  });
}

function isCatalog(c: unknown): c is Catalog {
  const k = c as Catalog;
  return (
    typeof k === 'object' &&
    k !== null &&
    typeof k.version === 'string' &&
    [
      k.accounts,
      k.databases,
      k.dbGrants,
      k.tableGrants,
      k.columnGrants,
      k.routineGrants,
      k.proxyGrants,
      k.roleGrants,
    ].every(Array.isArray)
  );
}

// The services: block is read with a plain scan; a line number only helps SARIF viewers point somewhere.
function serviceLines(text: string | undefined, fleet: Fleet): Record<string, number> {
  const lines: Record<string, number> = {};
  if (text === undefined) return lines;
  const names = new Set(fleet.services.map((s) => s.name));
  const rows = text.split('\n');
  const start = rows.findIndex((l) => /^services\s*:/.test(l));
  if (start < 0) return lines;
  for (let i = start + 1; i < rows.length && !/^\S/.test(rows[i] ?? ''); i++) {
    const m = /^\s+([A-Za-z0-9_-]+)\s*:/.exec(rows[i]!);
    if (m && names.has(m[1]!) && lines[m[1]!] === undefined) lines[m[1]!] = i + 1;
  }
  return lines;
}
