// dbps provision (and dbps plan, which is provision with dryRun forced): desired state from
// services.yaml, observed state from each server, the diff as typed changes, applied per server in parallel.
import { loadFleet } from '../config/load.js';
import { OperationalError, UsageError } from '../errors.js';
import { type DesiredAccount, type DesiredServer, desiredServer } from '../fleet/desired.js';
import type { Fleet, FleetServer } from '../fleet/model.js';
import { detectMoves, type MoveHint, moveOfAccount, type OrphanDatabase, withMovedOut } from '../fleet/moves.js';
import { orphanServerNames, selectServers, serverLabel } from '../fleet/select.js';
import { type Change, type Deferred, diffServer, type Orphan, type PasswordRef, tableKey } from '../grants/diff.js';
import { type PasswordLookup, statementFor } from '../grants/sql.js';
import { accountKey } from '../grants/types.js';
import type { SettingDrift } from '../mycnf/drift.js';
import { type AdminSession, adminTarget, connectAdmin } from '../runtime/admin.js';
import {
  ACCESS_DENIED_CODES,
  adminPrivilegeError,
  adminPrivilegesNeeded,
  isPrivilegeError,
  missingAdminPrivileges,
} from '../runtime/admin-privileges.js';
import { applyStatements, observeServer, releaseProvisionLock, takeProvisionLock } from '../runtime/converge.js';
import { classifyFailure, type FailureKind } from '../runtime/failures.js';
import { boundedTarget, type FanOutContext, fanOut, resolveTimeouts, type Timeouts } from '../runtime/fanout.js';
import { type JobRunner, runJobsSilently } from '../runtime/jobs.js';
import {
  ensureSecrets,
  readSecrets,
  type SecretOwner,
  type Secrets,
  secretKey,
  storedPassword,
} from '../runtime/secrets.js';
import { readSettingsDrift, recordedMemoryScale } from '../runtime/settings.js';
import { readState } from '../runtime/state.js';

export interface ProvisionOptions {
  file: string;
  stateDir: string;
  /** Service (or shared server) names from the command line; empty = the whole fleet. */
  services: string[];
  dryRun: boolean;
  prune: boolean;
  yes: boolean;
  forceDropData: boolean;
  env?: NodeJS.ProcessEnv;
  /** Seconds to wait for another provision's lock on a server. */
  lockTimeoutSeconds?: number;
  /** --timeout: seconds for connecting and for each statement (default: connect 10 s or defaults.connectTimeout, statement 60 s). */
  timeoutSeconds?: number;
  runner?: JobRunner;
  /** Set by `dbps move` for the service it is moving: its changes are applied, not held back as a move. */
  moving?: string;
}

/** A change as plans show it: the change plus its SQL with passwords masked. */
export type PlannedChange = Change & { sql: string };

export interface ChangeFailure {
  object: string;
  kind: Change['kind'];
  message: string;
}

export interface ServerProvision {
  server: string;
  label: string;
  changes: PlannedChange[];
  orphans: Orphan[];
  deferred: Deferred[];
  /** Changes executed successfully (0 for plans). */
  applied: number;
  failures: ChangeFailure[];
  /** Changes of services whose data lives elsewhere (moved or renamed): not applied, `dbps move` does it. */
  heldBack?: PlannedChange[];
  /** The server could not be planned at all (unreachable, access denied, lock held …), or stopped answering. */
  error?: { message: string; hint?: string; kind?: FailureKind };
  /** Set when the server stopped answering while changes were applied: what ran, and what is unknown. */
  interrupted?: {
    /** Objects of the changes the server confirmed. */
    applied: string[];
    /** The change that was running: it may or may not have taken effect. */
    running?: string;
    /** Changes with no answer after it (sent, not confirmed). */
    unconfirmed: number;
  };
  elapsedMs: number;
  /** plan, running local server: settings that differ from services.yaml (`dbps up --restart` applies them). */
  settingsDrift?: SettingDrift[];
}

export interface ProvisionResult {
  command: 'plan' | 'provision';
  dryRun: boolean;
  inSync: boolean;
  servers: ServerProvision[];
  /** Services whose data is elsewhere than services.yaml says, with the `dbps move` command for each. */
  moves?: MoveHint[];
  /** clean: nothing to do / all applied; findings: changes pending (plan); error: some server or change failed. */
  outcome: 'clean' | 'findings' | 'error';
}

/** The services selected by the command line (undefined = all); server names select their services. */
function selectedServices(fleet: Fleet, names: string[]): Set<string> | undefined {
  if (names.length === 0) return undefined;
  const out = new Set<string>();
  for (const n of names) {
    if (fleet.services.some((s) => s.name === n)) out.add(n);
    else for (const s of fleet.servers.find((x) => x.name === n)?.services ?? []) out.add(s);
  }
  return out;
}

/** The accounts whose password dbps generates and keeps in secrets.env. */
function generatedOwners(desired: DesiredServer[]): SecretOwner[] {
  return desired.flatMap((d) =>
    d.accounts.filter((a) => !a.passwordEnv).map((a) => ({ server: d.server, user: a.user })),
  );
}

/** `'user'@'host'` (external) or the OS user's socket account (local), for messages before CURRENT_USER() is known. */
function adminName(fleet: Fleet, server: FleetServer): string {
  void fleet;
  return server.driver === 'external' && server.admin ? `'${server.admin.user}'` : 'the socket admin account';
}

function passwordRef(server: string, a: DesiredAccount): PasswordRef {
  return a.passwordEnv
    ? { source: 'env', name: a.passwordEnv }
    : { source: 'generated', name: secretKey(server, a.user) };
}

/** Plans (dryRun) or provisions the selected part of the fleet. Never prints; errors per server land in the result. */
export async function run(opts: ProvisionOptions): Promise<ProvisionResult> {
  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  const servers = selectServers(fleet, opts.services);
  const services = selectedServices(fleet, opts.services);
  if (opts.prune && services)
    throw new UsageError('--prune needs the whole fleet in view; run it without service names');
  if (opts.prune && !opts.dryRun && !opts.yes) {
    throw new UsageError(
      '--prune drops accounts and databases that are not in services.yaml; add --yes to confirm (see them first with `dbps plan`)',
    );
  }
  const env = opts.env ?? process.env;
  const state = await readState(opts.stateDir);
  const records = Object.values(state.moves ?? {});
  const desired = servers.map((s) => withMovedOut(desiredServer(fleet, s), records));

  // Generated passwords are created and stored once, before any server is touched, so that
  // every server (and a concurrent provision) uses the same secret.
  const owners = [...generatedOwners(desired), ...linkTargetOwners(desired)];
  // The whole fleet decides whether an old-form secrets.env key is ambiguous, not only the selection.
  const fleetOwners =
    servers.length === fleet.servers.length
      ? owners
      : generatedOwners(fleet.servers.map((s) => desiredServer(fleet, s)));
  const secrets: Secrets = opts.dryRun
    ? await readSecrets(opts.stateDir)
    : await ensureSecrets(opts.stateDir, owners, fleetOwners);

  // Moves are found across servers (the data left on one, the service now on another): every server's
  // diff is in before any server applies, so provision never creates an empty copy of a moved service.
  // Clues by server (a server run in both passes reports twice: the later report counts).
  const clues = new Map<string, MoveClues>();
  const stateServers = Object.keys(state.servers);
  const detect = () =>
    detectMoves({
      fleet,
      orphanDatabases: [...clues.values()].flatMap((p) => p.orphanDatabases),
      missingDatabases: [...clues.values()].flatMap((p) => p.missingDatabases),
      orphanServers: orphanServerNames(fleet, stateServers),
      stateServers,
      moves: state.moves ?? {},
    }).filter((h) => h.service !== opts.moving);
  const runner = opts.runner ?? runJobsSilently;
  const timeouts = resolveTimeouts(fleet, opts.timeoutSeconds);
  const indexOf = new Map(servers.map((s, i) => [s.name, i]));
  // Every server through the fleet fan-out: each wait bounded, failures classified once.
  const runPass = async (indexes: number[], links: LinkPass | undefined): Promise<ServerProvision[]> => {
    const meeting = rendezvous(indexes.length);
    const hints = meeting.all.then((parts) => {
      for (const p of parts) if (p) clues.set(p.server, p);
      return detect();
    });
    const outcomes = await fanOut(
      indexes.map((i) => servers[i]!),
      async (ctx) => {
        const i = indexOf.get(ctx.server.name)!;
        const meet = meeting.seat();
        try {
          return await provisionServer(
            fleet,
            servers[i]!,
            desired[i]!,
            secrets,
            fleetOwners,
            env,
            opts,
            services,
            ctx,
            { meet, hints },
            links,
          );
        } finally {
          meet(undefined);
        }
      },
      {
        fleet,
        stateDir: opts.stateDir,
        env,
        timeouts,
        runner,
        describe: (r: ServerProvision) => summaryLine(r, opts.dryRun),
      },
    );
    return outcomes.map((o, k) => (o.ok ? o.value : errorResult(servers[indexes[k]!]!, o.error, o.elapsedMs)));
  };
  // Links are made in a second pass: the CONNECT table reads its columns from the target through the
  // link account, which the first pass creates on the target's server. A plan runs readers once, in that pass.
  const readers = servers.map((_, i) => i).filter((i) => desired[i]!.links.length > 0);
  const first = servers.map((_, i) => i).filter((i) => !opts.dryRun || !readers.includes(i));
  const results: ServerProvision[] = new Array<ServerProvision>(servers.length);
  (await runPass(first, undefined)).forEach((r, k) => {
    results[first[k]!] = r;
  });
  if (readers.length > 0) {
    const links = await linkPass(fleet, desired, readers, opts.stateDir, timeouts);
    (await runPass(readers, links)).forEach((r, k) => {
      const i = readers[k]!;
      results[i] = results[i] ? mergePasses(results[i]!, r) : r;
    });
  }
  const pending = results.reduce((n, r) => n + r.changes.length - r.applied, 0);
  const failed = results.some((r) => r.error || r.failures.length > 0);
  // A deferred grant (its table does not exist yet) is desired state not reached, and a blocking
  // deferred item (an outbox table missing a column) is drift dbps cannot repair: neither is in sync.
  const deferred = results.reduce((n, r) => n + r.deferred.length, 0);
  // Settings that differ from services.yaml are drift too (applied by `dbps up --restart`, not provision).
  const settings = results.filter((r) => r.settingsDrift?.length).length;
  const moves = detect();
  const waiting = moves.some((m) => m.kind !== 'moved-out');
  const inSync =
    !failed && deferred === 0 && !waiting && settings === 0 && results.every((r) => r.changes.length === 0);
  return {
    command: opts.dryRun ? 'plan' : 'provision',
    dryRun: opts.dryRun,
    inSync,
    servers: results,
    moves,
    outcome: failed
      ? 'error'
      : opts.dryRun && (pending > 0 || deferred > 0 || waiting || settings > 0)
        ? 'findings'
        : 'clean',
  };
}

/** What one server's diff tells the move detection. */
interface MoveClues {
  server: string;
  orphanDatabases: OrphanDatabase[];
  missingDatabases: { server: string; database: string }[];
}

/** N parties each take a seat and report once (undefined = nothing to report); `all` settles when all have. */
function rendezvous(n: number): {
  seat(): (clues: MoveClues | undefined) => void;
  all: Promise<(MoveClues | undefined)[]>;
} {
  const parts: (MoveClues | undefined)[] = [];
  let left = n;
  let done: (v: (MoveClues | undefined)[]) => void = () => undefined;
  const all = new Promise<(MoveClues | undefined)[]>((resolve) => {
    done = resolve;
  });
  if (n === 0) done([]);
  return {
    seat() {
      let reported = false;
      return (clues) => {
        if (reported) return;
        reported = true;
        parts.push(clues);
        if (--left === 0) done(parts);
      };
    },
    all,
  };
}

/** What the link pass knows: every target server's address and which of the linked tables exist there. */
interface LinkPass {
  addressOf(server: string): { host: string; port: number } | undefined;
  targetTables: ReadonlySet<string>;
  /** Target servers whose tables could not be read (down, unreachable): their links wait. */
  unreachable: ReadonlySet<string>;
}

/** The link accounts' secrets on their target servers (created with the selection's own). */
function linkTargetOwners(desired: DesiredServer[]): SecretOwner[] {
  return desired.flatMap((d) => d.links.map((l) => ({ server: l.target.server, user: l.user })));
}

/**
 * Addresses of the link targets as the readers' servers reach them (a local server: 127.0.0.1 and the
 * port `up` gave it; an external one: its host and port), and which linked tables exist there, read
 * with one small query per target server (an unreachable target leaves its links deferred).
 */
async function linkPass(
  fleet: Fleet,
  desired: DesiredServer[],
  readers: number[],
  stateDir: string,
  timeouts: Timeouts,
): Promise<LinkPass> {
  const state = await readState(stateDir);
  const targets = new Map<string, [string, string][]>();
  for (const i of readers)
    for (const l of desired[i]!.links)
      targets.set(l.target.server, [
        ...(targets.get(l.target.server) ?? []),
        ...l.tables.map((t): [string, string] => [l.target.database, t.remote]),
      ]);
  const addresses = new Map<string, { host: string; port: number }>();
  const tables = new Set<string>();
  const unreachable = new Set<string>();
  await Promise.all(
    [...targets].map(async ([name, wanted]) => {
      const server = fleet.servers.find((s) => s.name === name);
      if (!server) return;
      const port = server.driver === 'local' ? state.servers[name]?.port : (server.port ?? 3306);
      const host = server.driver === 'local' ? '127.0.0.1' : server.host;
      if (port !== undefined && host !== undefined) addresses.set(name, { host, port });
      let session: AdminSession | undefined;
      try {
        session = await connectAdmin(boundedTarget(await adminTarget(fleet, server, stateDir), timeouts));
        const rows = await session.query<{ db: string; tbl: string }>(
          `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl FROM information_schema.TABLES WHERE ${wanted.map(() => '(TABLE_SCHEMA = ? AND TABLE_NAME = ?)').join(' OR ')}`,
          wanted.flat(),
        );
        for (const r of rows) tables.add(`${name}\u0000${tableKey(String(r.db), String(r.tbl))}`);
      } catch {
        // Unreachable or not started: its links stay deferred, and its own pass reports why.
        unreachable.add(name);
      } finally {
        await session?.close();
      }
    }),
  );
  return { addressOf: (server) => addresses.get(server), targetTables: tables, unreachable };
}

/** One server's two passes as one result: what both applied, and what the second still sees. */
function mergePasses(a: ServerProvision, b: ServerProvision): ServerProvision {
  const error = b.error ?? a.error;
  return {
    ...b,
    changes: [...a.changes, ...b.changes],
    applied: a.applied + b.applied,
    failures: [...a.failures, ...b.failures],
    ...(error ? { error } : {}),
    elapsedMs: a.elapsedMs + b.elapsedMs,
  };
}

/** One line per server for progress displays. */
/** A local server's settings drift for plan (the same reading as `dbps status`); none for external servers. */
async function planSettings(
  session: AdminSession,
  fleet: Fleet,
  server: FleetServer,
  stateDir: string,
  env: NodeJS.ProcessEnv,
): Promise<SettingDrift[] | undefined> {
  if (server.driver !== 'local') return undefined;
  const entry = (await readState(stateDir)).servers[server.name];
  return readSettingsDrift(session, fleet, server, entry, recordedMemoryScale(entry, env));
}

export function summaryLine(r: ServerProvision, dryRun: boolean): string {
  if (r.error) return `failed: ${r.error.message}`;
  if (r.changes.length === 0) return 'no changes';
  if (dryRun) return `${r.changes.length} change${r.changes.length === 1 ? '' : 's'} pending`;
  return `${r.applied} of ${r.changes.length} change${r.changes.length === 1 ? '' : 's'} applied${r.failures.length ? `, ${r.failures.length} failed` : ''}`;
}

function errorResult(server: FleetServer, e: unknown, elapsedMs: number): ServerProvision {
  const failure = classifyFailure(server.name, e);
  const hint = e instanceof UsageError ? e.hint : failure.hint;
  const message = failure.message;
  return {
    server: server.name,
    label: serverLabel(server),
    changes: [],
    orphans: [],
    deferred: [],
    heldBack: [],
    applied: 0,
    failures: [],
    error: { message, kind: failure.kind, ...(hint ? { hint } : {}) },
    elapsedMs,
  };
}

async function provisionServer(
  fleet: Fleet,
  server: FleetServer,
  desired: DesiredServer,
  secrets: Secrets,
  owners: readonly SecretOwner[],
  env: NodeJS.ProcessEnv,
  opts: ProvisionOptions,
  services: Set<string> | undefined,
  ctx: FanOutContext,
  moves: { meet: (clues: MoveClues | undefined) => void; hints: Promise<MoveHint[]> },
  links?: LinkPass,
): Promise<ServerProvision> {
  const progress = ctx.progress;
  const started = Date.now();
  // The CREATE SERVER password of a link is its account's secret on the target server.
  const linkPasswords = new Map(
    desired.links.map((l) => [l.serverName, storedPassword(secrets, l.target.server, l.user, owners)]),
  );
  const passwords = new Map<string, string | undefined>();
  const missingEnv: string[] = [];
  for (const a of desired.accounts) {
    if (services && a.service && !services.has(a.service)) continue;
    // An empty passwordEnv value counts as unset: applying it would give the account an empty password.
    const pw = a.passwordEnv ? env[a.passwordEnv] || undefined : storedPassword(secrets, server.name, a.user, owners);
    if (a.passwordEnv && pw === undefined)
      missingEnv.push(
        `${a.passwordEnv} (password of '${a.user}'@'${a.host}') is ${env[a.passwordEnv] === '' ? 'empty' : 'not set'}`,
      );
    passwords.set(accountKey(a.user, a.host), pw);
  }
  if (missingEnv.length > 0) {
    return errorResult(
      server,
      new OperationalError(
        `server "${server.name}": environment variable${missingEnv.length === 1 ? '' : 's'} ${missingEnv.join(', ')}`,
        {
          server: server.name,
          hint: 'export it with a non-empty value, or remove passwordEnv so dbps generates and stores a password',
        },
      ),
      Date.now() - started,
    );
  }

  let session: AdminSession | undefined;
  let locked = false;
  try {
    progress('connecting');
    session = await ctx.open();
    // The lock and the catalog read leave in one burst: the server runs a session's statements in
    // order, so the catalog is read once the lock is held (one round trip less per server). When the
    // lock is not had, the reads that followed it are harmless and their answers are dropped.
    const locking = opts.dryRun
      ? undefined
      : takeProvisionLock(session, opts.lockTimeoutSeconds ?? 60, ctx.timeouts.statementMs);
    locking?.catch(() => undefined);
    progress('reading the catalog');
    const needed = adminPrivilegesNeeded(desired, opts.prune);
    const observing = observeServer(session, desired, passwords, !services, linkPasswords);
    observing.catch(() => undefined);
    if (locking) {
      await locking;
      locked = true;
    }
    let observed: Awaited<ReturnType<typeof observeServer>>;
    try {
      observed = await observing;
    } catch (e) {
      // Not even allowed to read the mysql.* catalog.
      if (isPrivilegeError(e)) throw adminPrivilegeError(server.name, adminName(fleet, server), needed, undefined);
      throw e;
    }
    const adminAccount = accountKey(observed.admin.user, observed.admin.host);
    const missing = missingAdminPrivileges(observed.catalog, observed.admin, needed);
    const diff = diffServer(desired, observed, {
      ...(services ? { services } : {}),
      prune: opts.prune,
      forceDropData: opts.forceDropData,
      passwordOf: (a) => passwordRef(server.name, a),
      ...(links
        ? {
            links: {
              ...links,
              passwordOf: (l) => ({ source: 'generated' as const, name: secretKey(l.target.server, l.user) }),
            },
          }
        : {}),
    });
    const lookup: PasswordLookup = (c) => {
      const pw =
        c.kind === 'create-link-server' ? linkPasswords.get(c.serverName) : passwords.get(accountKey(c.user, c.host));
      if (pw === undefined)
        throw new OperationalError(
          c.kind === 'create-link-server'
            ? `server "${server.name}": no password known for the link account ${c.user} (provision its target server first)`
            : `server "${server.name}": no password known for '${c.user}'@'${c.host}'`,
          { server: server.name },
        );
      return pw;
    };
    moves.meet({
      server: server.name,
      orphanDatabases: diff.orphans
        .filter((o) => o.kind === 'database')
        .map((o) => ({ server: server.name, database: o.object.slice('database '.length), tables: o.tables ?? 0 })),
      missingDatabases: diff.changes
        .filter((c) => c.kind === 'create-database')
        .map((c) => ({ server: server.name, database: c.database })),
    });
    // A moved or renamed service's changes on its new server wait for `dbps move` (it provisions them at cut-over).
    const found = (await moves.hints).filter((h) => h.kind !== 'moved-out');
    const waiting = new Set(found.filter((h) => h.to.server === server.name).map((h) => h.service));
    // And the data itself is never pruned while it waits to be moved (--prune --force-drop-data).
    const dataOf = (c: Change) =>
      (c.kind === 'drop-database' &&
        found.some((h) => h.from.server === server.name && h.from.database === c.database)) ||
      (c.kind === 'drop-user' && moveOfAccount(found, fleet, server.name, c.user) !== undefined);
    for (const o of diff.orphans) {
      if (o.kind !== 'user') continue;
      const user = /^'((?:[^']|'')*)'@/.exec(o.object)?.[1]?.replace(/''/g, "'");
      const h = user === undefined ? undefined : moveOfAccount(found, fleet, server.name, user);
      if (h) o.kept = `${h.service}'s account until it is moved (\`${h.command}\`)`;
    }
    const held = diff.changes.filter((c) => (c.service !== undefined && waiting.has(c.service)) || dataOf(c));
    diff.changes = diff.changes.filter((c) => !held.includes(c));
    const planned: PlannedChange[] = diff.changes.map((c) => ({ ...c, sql: statementFor(c, () => '').display }));
    const settingsDrift = opts.dryRun ? await planSettings(session, fleet, server, opts.stateDir, env) : undefined;
    const result: ServerProvision = {
      server: server.name,
      label: serverLabel(server),
      changes: planned,
      orphans: diff.orphans,
      deferred: diff.deferred,
      heldBack: held.map((c) => ({ ...c, sql: statementFor(c, () => '').display })),
      applied: 0,
      failures: [],
      elapsedMs: 0,
      ...(settingsDrift?.length ? { settingsDrift } : {}),
    };
    // One sentence for a weak admin account, before any DDL (plan says it too: the plan could not be applied).
    if (diff.changes.length > 0 && missing.length > 0)
      throw adminPrivilegeError(server.name, adminAccount, needed, missing);
    if (!opts.dryRun && diff.changes.length > 0) {
      progress(`applying ${diff.changes.length} change${diff.changes.length === 1 ? '' : 's'}`);
      const statements = diff.changes.map((c) => statementFor(c, lookup));
      const failures = await applyStatements(session, statements);
      result.applied = diff.changes.length - failures.length;
      const unanswered = failures.filter((f) => f.unanswered);
      if (unanswered.length > 0) {
        // The server stopped answering mid-way: say what it confirmed, and which change may have run.
        const failed = new Set(failures.map((f) => f.index));
        const first = unanswered[0]!;
        result.interrupted = {
          applied: diff.changes.filter((_, i) => !failed.has(i)).map((c) => c.object),
          running: diff.changes[first.index]!.object,
          unconfirmed: unanswered.length - 1,
        };
        result.error = {
          message: `${first.message}: ${result.applied} of ${diff.changes.length} change${diff.changes.length === 1 ? '' : 's'} applied, ${result.interrupted.running} was running (it may or may not have taken effect)${unanswered.length > 1 ? `, ${unanswered.length - 1} more not confirmed` : ''}`,
          kind: 'timeout',
          hint: 'run `dbps provision` again once the server answers: it applies what is still missing',
        };
        failures.splice(0, failures.length, ...failures.filter((f) => !f.unanswered));
      }
      // A privilege the check above could not see (e.g. a role not enabled): still one sentence, not one per change.
      const denied = failures.filter((f) => f.code !== undefined && ACCESS_DENIED_CODES.has(f.code));
      if (denied.length > 1) {
        const e = adminPrivilegeError(server.name, adminAccount, needed, undefined);
        result.error = {
          message: `${e.message} (${denied.length} changes were refused)`,
          ...(e.hint ? { hint: e.hint } : {}),
        };
        failures.splice(0, failures.length, ...failures.filter((f) => !denied.includes(f)));
      }
      result.failures = failures.map((f) => {
        const c = diff.changes[f.index]!;
        return {
          object: c.object,
          kind: c.kind,
          message: `server "${server.name}": ${c.kind} ${c.object} failed: ${f.message}`,
        };
      });
    }
    result.elapsedMs = Date.now() - started;
    return result;
  } catch (e) {
    return errorResult(server, e, Date.now() - started);
  } finally {
    // The fan-out closes the session; the lock goes with it, released first when the server still answers.
    if (session && locked) await releaseProvisionLock(session).catch(() => undefined);
  }
}
