// dbps rotate: a service's password changed without downtime, in two steps. The first adds a new
// password beside the old one (both log in; secrets.env and `dbps env` give the new one), the service's
// instances are redeployed at their pace, and `--finish` drops the old password once no session opened
// before the first step remains. Returns a result; never prints, never exits.
import { loadFleet } from '../config/load.js';
import { OperationalError, UsageError } from '../errors.js';
import { findService } from '../fleet/account-choice.js';
import { type DesiredAccount, desiredServer } from '../fleet/desired.js';
import { serverOf } from '../fleet/model.js';
import {
  addPasswordStatement,
  finishPasswordStatement,
  type RotationRecord,
  type SessionRow,
  sessionsBeforeRotation,
} from '../grants/rotation.js';
import { nativePasswordHash } from '../grants/sql.js';
import type { AdminSession } from '../runtime/admin.js';
import { type ServerFailure, ServerTimeoutError } from '../runtime/failures.js';
import { fanOut, resolveTimeouts } from '../runtime/fanout.js';
import { readRotations, saveRotation } from '../runtime/rotations.js';
import { generatePassword, readSecrets, storedPassword, storeSecrets } from '../runtime/secrets.js';
import { quoted } from '../util/printable.js';

export interface RotateOptions {
  file: string;
  stateDir: string;
  service: string;
  /** One account of the service; default every account of the service. */
  user?: string;
  finish: boolean;
  /** With --finish: drop the old password even while sessions opened before the first step remain. */
  force: boolean;
  timeoutSeconds?: number;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

export interface AccountRotation {
  user: string;
  host: string;
  source: 'generated' | 'env';
  /** started: both passwords log in now; already-started: an earlier first step stands; finished: the old one is gone; refused: --finish found old sessions; not-started: nothing to finish. */
  status: 'started' | 'already-started' | 'finished' | 'refused' | 'not-started';
  startedAt?: string;
  /** Sessions of the account opened before the first step (instances not redeployed yet). */
  oldSessions?: number;
  /** Ids of some of them (at most 10), for SHOW PROCESSLIST / KILL. */
  oldSessionIds?: number[];
}

export interface RotateResult {
  command: 'rotate';
  service: string;
  server: string;
  step: 'start' | 'finish';
  accounts: AccountRotation[];
  failure?: ServerFailure;
  /** ok: done; refused: --finish found old sessions (exit 3); failed: the server failed (exit 3). */
  outcome: 'ok' | 'refused' | 'failed';
}

interface AuthRow {
  plugin: string | null;
  auth: string | null;
  alternatives: number | null;
}

/** Runs one step of the rotation for the service's accounts on its server. */
export async function run(opts: RotateOptions): Promise<RotateResult> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? (() => new Date());
  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  const service = findService(fleet, opts.service);
  const server = serverOf(fleet, service);
  const desired = desiredServer(fleet, server).accounts.filter((a) =>
    opts.user === undefined ? a.service === service.name : a.user === opts.user,
  );
  if (desired.length === 0) {
    const names = service.accounts.map((a) => a.user);
    throw new UsageError(`${quoted(opts.user ?? '')} is not an account of service ${quoted(service.name)}`, {
      hint: `its accounts: ${names.join(', ')}`,
    });
  }
  for (const a of desired) {
    if (a.passwordEnv && !env[a.passwordEnv])
      throw new UsageError(
        `${a.passwordEnv} (password of '${a.user}'@'${a.host}') is not set: a passwordEnv account rotates to the variable's new value`,
        { hint: `export ${a.passwordEnv}=<the new password> and run \`dbps rotate ${service.name}\` again` },
      );
  }
  const records = await readRotations(opts.stateDir);
  const recordOf = (a: DesiredAccount) =>
    records.find((r) => r.server === server.name && r.user === a.user && r.host === a.host);
  const secrets = await readSecrets(opts.stateDir);
  const timeouts = resolveTimeouts(fleet, opts.timeoutSeconds);

  const [outcome] = await fanOut(
    [server],
    async (ctx) => {
      const session = await ctx.open();
      const out: AccountRotation[] = [];
      for (const a of desired) {
        const source = a.passwordEnv ? 'env' : 'generated';
        const [row] = await session.query<AuthRow>(
          `SELECT JSON_VALUE(Priv, '$.plugin') AS plugin, JSON_VALUE(Priv, '$.authentication_string') AS auth,
                  JSON_LENGTH(Priv, '$.auth_or') AS alternatives
             FROM mysql.global_priv WHERE User = ? AND Host = ?`,
          [a.user, a.host],
        );
        if (!row)
          throw new OperationalError(`server "${server.name}": account '${a.user}'@'${a.host}' does not exist`, {
            server: server.name,
            hint: `run \`dbps provision ${service.name}\` first`,
          });
        const dual = Number(row.alternatives ?? 0) > 1;
        const record = recordOf(a);
        if (opts.finish) out.push(await finishOne(session, a, source, record, dual, opts, env));
        else
          out.push(
            await startOne(session, a, source, record, dual, row, opts, env, secrets, now, server.name, service.name),
          );
      }
      return out;
    },
    { fleet, stateDir: opts.stateDir, env, timeouts },
  );
  const base = {
    command: 'rotate' as const,
    service: service.name,
    server: server.name,
    step: opts.finish ? ('finish' as const) : ('start' as const),
  };
  if (!outcome!.ok) {
    // Bad input found on the server (an unchanged passwordEnv) is still bad input: exit 2.
    if (outcome!.error instanceof UsageError) throw outcome!.error;
    return { ...base, accounts: [], failure: outcome!.failure, outcome: 'failed' };
  }
  const accounts = outcome!.value;
  return { ...base, accounts, outcome: accounts.some((a) => a.status === 'refused') ? 'refused' : 'ok' };
}

async function startOne(
  session: AdminSession,
  a: DesiredAccount,
  source: 'generated' | 'env',
  record: RotationRecord | undefined,
  dual: boolean,
  row: AuthRow,
  opts: RotateOptions,
  env: NodeJS.ProcessEnv,
  secrets: Map<string, string>,
  now: () => Date,
  server: string,
  service: string,
): Promise<AccountRotation> {
  const key = { server, user: a.user, host: a.host };
  if (dual && record?.phase === 'added')
    return { user: a.user, host: a.host, source, status: 'already-started', startedAt: record.startedAt };
  if (dual && !record)
    throw new OperationalError(
      `server "${server}": '${a.user}'@'${a.host}' already has two passwords, set outside dbps rotate`,
      {
        server,
        hint: 'give it one password again (ALTER USER ... IDENTIFIED BY ...) or finish it with `dbps rotate --finish --force`',
      },
    );
  if (row.plugin !== 'mysql_native_password' || !row.auth)
    throw new OperationalError(
      `server "${server}": '${a.user}'@'${a.host}' does not log in with mysql_native_password (plugin ${row.plugin ?? 'none'}); dbps rotates only passwords it set`,
      { server, hint: `run \`dbps provision ${service}\` to give it its password first` },
    );
  // The new password: a recorded first step that did not reach the server keeps the one it stored.
  let password: string;
  if (source === 'env') {
    password = env[a.passwordEnv!]!;
    if (nativePasswordHash(password) === row.auth)
      throw new UsageError(
        `${a.passwordEnv} still holds the current password of '${a.user}'@'${a.host}': nothing to rotate`,
        { hint: `set ${a.passwordEnv} to the new password, then run \`dbps rotate ${service}\`` },
      );
  } else if (record?.phase === 'adding') {
    password = storedPassword(secrets, server, a.user) ?? generatePassword();
  } else {
    password = generatePassword();
  }
  const [ids] = await session.query<{ id: number; started: number }>(
    "SELECT CONNECTION_ID() AS id, UNIX_TIMESTAMP() - (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME') AS started",
  );
  const started: RotationRecord = {
    server,
    service,
    user: a.user,
    host: a.host,
    source,
    startedAt: record?.startedAt ?? now().toISOString(),
    phase: 'adding',
    firstConnectionId: record?.firstConnectionId ?? Number(ids!.id),
    serverStartedAt: record?.serverStartedAt ?? Math.round(Number(ids!.started)),
  };
  // Recorded first, then stored, then applied: a run killed in between is finished by the next one.
  await saveRotation(opts.stateDir, key, started);
  const old = storedPassword(secrets, server, a.user);
  if (source === 'generated') await storeSecrets(opts.stateDir, [{ owner: { server, user: a.user }, password }]);
  const statement = addPasswordStatement(a.user, a.host, row.auth, password);
  try {
    await session.query(statement.sql, statement.params);
  } catch (e) {
    // No answer: it may have been applied, so the record stays and the next `dbps rotate` completes it.
    if (e instanceof ServerTimeoutError) throw e;
    // The server refused it: nothing changed there, so the old password is stored again.
    if (source === 'generated' && old !== undefined)
      await storeSecrets(opts.stateDir, [{ owner: { server, user: a.user }, password: old }]);
    await saveRotation(opts.stateDir, key, undefined);
    throw e;
  }
  await saveRotation(opts.stateDir, key, { ...started, phase: 'added' });
  return { user: a.user, host: a.host, source, status: 'started', startedAt: started.startedAt };
}

async function finishOne(
  session: AdminSession,
  a: DesiredAccount,
  source: 'generated' | 'env',
  record: RotationRecord | undefined,
  dual: boolean,
  opts: RotateOptions,
  env: NodeJS.ProcessEnv,
): Promise<AccountRotation> {
  const key = { server: record?.server ?? '', user: a.user, host: a.host };
  if (!record && !dual) return { user: a.user, host: a.host, source, status: 'not-started' };
  const server = session.server;
  if (record && !dual)
    throw new OperationalError(
      `server "${server}": the first step of the rotation of '${a.user}'@'${a.host}' did not reach the server (it still has one password)`,
      { server, hint: `run \`dbps rotate ${record.service}\` again to add the new password, then --finish` },
    );
  let old: SessionRow[] = [];
  if (record) {
    const [sessions, [up]] = await Promise.all([
      session.query<SessionRow>('SELECT ID AS id, USER AS user FROM information_schema.PROCESSLIST WHERE USER = ?', [
        a.user,
      ]),
      session.query<{ started: number }>(
        "SELECT UNIX_TIMESTAMP() - (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME') AS started",
      ),
    ]);
    old = sessionsBeforeRotation(
      record,
      sessions.map((s) => ({ id: Number(s.id), user: String(s.user) })),
      Math.round(Number(up!.started)),
    );
  }
  const base = {
    user: a.user,
    host: a.host,
    source,
    ...(record ? { startedAt: record.startedAt } : {}),
    oldSessions: old.length,
    ...(old.length ? { oldSessionIds: old.slice(0, 10).map((s) => s.id) } : {}),
  };
  if (old.length > 0 && !opts.force) return { ...base, status: 'refused' };
  const secrets = await readSecrets(opts.stateDir);
  const password = source === 'env' ? env[a.passwordEnv!]! : storedPassword(secrets, server, a.user);
  if (!password)
    throw new OperationalError(`server "${server}": no stored password for '${a.user}'@'${a.host}' to keep`, {
      server,
      hint: 'run `dbps provision` to give the account its password',
    });
  const statement = finishPasswordStatement(a.user, a.host, password);
  await session.query(statement.sql, statement.params);
  if (record) await saveRotation(opts.stateDir, { ...key, server: record.server }, undefined);
  return { ...base, status: 'finished' };
}

/** 0 done, 3 refused (old sessions remain) or the server failed. */
export function rotateExitCode(r: RotateResult): number {
  return r.outcome === 'ok' ? 0 : 3;
}
