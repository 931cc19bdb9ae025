// dbps provision (and dbps plan, which is provision with dryRun forced): desired state from
// services.yaml, observed state from each server, the diff as typed changes, applied per server in parallel.
import { loadFleet } from '../config/load.js';
import { OperationalError, UsageError } from '../errors.js';
import { type DesiredAccount, type DesiredServer, desiredServer } from '../fleet/desired.js';
import type { Fleet, FleetServer } from '../fleet/model.js';
import { selectServers, serverLabel } from '../fleet/select.js';
import { type Change, type Deferred, diffServer, type Orphan, type PasswordRef } from '../grants/diff.js';
import { type PasswordLookup, statementFor } from '../grants/sql.js';
import { accountKey } from '../grants/types.js';
import type { AdminSession } from '../runtime/admin.js';
import {
  ACCESS_DENIED_CODES,
  adminPrivilegeError,
  adminPrivilegesNeeded,
  isPrivilegeError,
  missingAdminPrivileges,
} from '../runtime/admin-privileges.js';
import { applyStatements, observeServer, releaseProvisionLock, takeProvisionLock } from '../runtime/converge.js';
import { classifyFailure, type FailureKind } from '../runtime/failures.js';
import { type FanOutContext, fanOut, resolveTimeouts } from '../runtime/fanout.js';
import { type JobRunner, runJobsSilently } from '../runtime/jobs.js';
import {
  ensureSecrets,
  readSecrets,
  type SecretOwner,
  type Secrets,
  secretKey,
  storedPassword,
} from '../runtime/secrets.js';

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
}

export interface ProvisionResult {
  command: 'plan' | 'provision';
  dryRun: boolean;
  inSync: boolean;
  servers: ServerProvision[];
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
  const desired = servers.map((s) => desiredServer(fleet, s));

  // Generated passwords are created and stored once, before any server is touched, so that
  // every server (and a concurrent provision) uses the same secret.
  const owners = generatedOwners(desired);
  // The whole fleet decides whether an old-form secrets.env key is ambiguous, not only the selection.
  const fleetOwners =
    servers.length === fleet.servers.length
      ? owners
      : generatedOwners(fleet.servers.map((s) => desiredServer(fleet, s)));
  const secrets: Secrets = opts.dryRun
    ? await readSecrets(opts.stateDir)
    : await ensureSecrets(opts.stateDir, owners, fleetOwners);

  const timeouts = resolveTimeouts(fleet, opts.timeoutSeconds);
  const index = new Map(servers.map((s, i) => [s.name, i]));
  const outcomes = await fanOut(
    servers,
    (ctx) =>
      provisionServer(
        fleet,
        ctx.server,
        desired[index.get(ctx.server.name)!]!,
        secrets,
        fleetOwners,
        env,
        opts,
        services,
        ctx,
      ),
    {
      fleet,
      stateDir: opts.stateDir,
      env,
      timeouts,
      runner: opts.runner ?? runJobsSilently,
      describe: (r: ServerProvision) => summaryLine(r, opts.dryRun),
    },
  );
  const results = outcomes.map((o, i) => (o.ok ? o.value : errorResult(servers[i]!, o.error, o.elapsedMs)));
  const pending = results.reduce((n, r) => n + r.changes.length - r.applied, 0);
  const failed = results.some((r) => r.error || r.failures.length > 0);
  // A deferred grant (its table does not exist yet) is desired state not reached, and a blocking
  // deferred item (an outbox table missing a column) is drift dbps cannot repair: neither is in sync.
  const deferred = results.reduce((n, r) => n + r.deferred.length, 0);
  const inSync = !failed && deferred === 0 && results.every((r) => r.changes.length === 0);
  return {
    command: opts.dryRun ? 'plan' : 'provision',
    dryRun: opts.dryRun,
    inSync,
    servers: results,
    outcome: failed ? 'error' : opts.dryRun && (pending > 0 || deferred > 0) ? 'findings' : 'clean',
  };
}

/** One line per server for progress displays. */
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
): Promise<ServerProvision> {
  const progress = ctx.progress;
  const started = Date.now();
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
    if (!opts.dryRun) {
      await takeProvisionLock(session, opts.lockTimeoutSeconds ?? 60, ctx.timeouts.statementMs);
      locked = true;
    }
    progress('reading the catalog');
    const needed = adminPrivilegesNeeded(desired, opts.prune);
    let observed: Awaited<ReturnType<typeof observeServer>>;
    try {
      observed = await observeServer(session, desired, passwords, !services);
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
    });
    const lookup: PasswordLookup = (c) => {
      const pw = passwords.get(accountKey(c.user, c.host));
      if (pw === undefined)
        throw new OperationalError(`server "${server.name}": no password known for '${c.user}'@'${c.host}'`, {
          server: server.name,
        });
      return pw;
    };
    const planned: PlannedChange[] = diff.changes.map((c) => ({ ...c, sql: statementFor(c, () => '').display }));
    const result: ServerProvision = {
      server: server.name,
      label: serverLabel(server),
      changes: planned,
      orphans: diff.orphans,
      deferred: diff.deferred,
      applied: 0,
      failures: [],
      elapsedMs: 0,
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
