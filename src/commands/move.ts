// dbps move: services.yaml says where a service lives; when its data is still elsewhere (the service was
// moved to another server, or renamed), this copies it there with a short write pause, and `--finish`
// drops the old copy. Returns a result; never prints. Runs under the fleet lock (the CLI takes it).

import { toolEnv } from '../backup/proc.js';
import { loadFleet } from '../config/load.js';
import { OperationalError, UsageError } from '../errors.js';
import type { Fleet, FleetServer, FleetService } from '../fleet/model.js';
import type { MovedAccount, MoveRecord } from '../fleet/moves.js';
import { MOVED_OUT_PRIVILEGES } from '../fleet/moves.js';
import { BACKUP_USER, MONITOR_USER } from '../fleet/roles.js';
import { orphanServerNames } from '../fleet/select.js';
import { statementFor } from '../grants/sql.js';
import { type AdminSession, adminTarget, connectAdmin } from '../runtime/admin.js';
import {
  binlogEnd,
  catchUpState,
  copyDatabase,
  createReplicationUser,
  dropReplicationUser,
  type MoveEndpoint,
  startCatchUp,
  stopCatchUp,
  waitApplied,
} from '../runtime/move-copy.js';
import { forgetSecrets, readSecrets, storedPassword, storeSecrets } from '../runtime/secrets.js';
import { readState, updateState } from '../runtime/state.js';
import { account as accountSql, dbPattern, dbPatternText, ident } from '../sql/quote.js';
import { count } from '../util/count.js';
import { quoted } from '../util/printable.js';
import { didYouMean, someNames } from '../util/suggest.js';
import { killHere } from '../util/test-kill.js';

export interface MoveOptions {
  file: string;
  stateDir: string;
  /** The service (its current name), or for a rename the old name whose data is left. */
  name: string;
  /** `own`, a server, or (rename) the new service; checked against services.yaml, which decides. */
  to?: string;
  finish: boolean;
  yes: boolean;
  env?: NodeJS.ProcessEnv;
  /** How long open transactions of the service on the source may finish before their connections are killed. */
  graceMs?: number;
  /** Upper bound of the catch-up (replica lag under a second). */
  catchUpTimeoutMs?: number;
  onProgress?: (text: string) => void;
}

export interface MoveResult {
  command: 'move';
  action: 'moved' | 'finished';
  service: string;
  from: { server: string; database: string };
  to: { server: string; database: string };
  /** Bytes of the dump streamed into the target. */
  bytes?: number;
  /** Milliseconds the service could not write: from blocking its accounts on the source to the target taking writes. */
  writePauseMs?: number;
  /** Connections of the service on the source that were still open at the cut-over and were killed. */
  killedConnections?: number;
  /** Milliseconds of the whole move. */
  elapsedMs: number;
  /** What to run next. */
  next: string;
  warnings: string[];
}

const MYSQL_SYSTEM = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

/** Moves a service's data to where services.yaml puts it, or (--finish) drops the old read-only copy. */
export async function run(opts: MoveOptions): Promise<MoveResult> {
  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  const state = await readState(opts.stateDir);
  const env = opts.env ?? process.env;
  const { service, renamedFrom } = resolveService(fleet, opts);
  const record = state.moves?.[service.name];
  if (opts.finish) return finish(fleet, opts, service, record, env);
  if (record?.phase === 'moved')
    throw new UsageError(`${quoted(service.name)} was moved to ${record.to.server} already`, {
      hint: `\`dbps move ${service.name} --finish --yes\` drops its old read-only copy on ${record.from.server}`,
    });
  return move(fleet, opts, service, renamedFrom, record, env);
}

/** The service in services.yaml the command is about, and the old name of a rename. */
function resolveService(fleet: Fleet, opts: MoveOptions): { service: FleetService; renamedFrom?: string } {
  const names = fleet.services.map((s) => s.name);
  const named = fleet.services.find((s) => s.name === opts.name);
  if (named) {
    if (opts.to !== undefined) {
      const own = named.server === named.name && named.isolation === 'instance';
      const agrees = opts.to === 'own' ? own : opts.to === named.server;
      if (!agrees)
        throw new UsageError(
          `services.yaml puts ${quoted(named.name)} on ${own ? 'its own instance' : `server ${quoted(named.server)}`}, not ${opts.to === 'own' ? 'its own instance' : quoted(opts.to)}`,
          {
            hint: `services.yaml says where each service lives: edit it (${opts.to === 'own' ? 'remove `server:`' : `server: ${opts.to}`}), then run \`dbps move ${named.name}\``,
          },
        );
    }
    return { service: named };
  }
  // A rename: the old name is not in services.yaml any more, and --to names the new service.
  if (opts.to === undefined)
    throw new UsageError(`${quoted(opts.name)} is not a service in ${fleet.file}${didYouMean(opts.name, names)}`, {
      hint: `after a rename, name the new service: \`dbps move ${opts.name} --to <new name>\` (services: ${someNames(names)})`,
    });
  const renamed = fleet.services.find((s) => s.name === opts.to);
  if (!renamed)
    throw new UsageError(`--to ${quoted(opts.to)} is not a service in ${fleet.file}${didYouMean(opts.to, names)}`, {
      hint: `for a rename, --to names the service's new name in services.yaml (services: ${someNames(names)})`,
    });
  return { service: renamed, renamedFrom: opts.name };
}

/** A fleet server's endpoint (local: its socket and TCP port from state.json; external: services.yaml). */
async function fleetEndpoint(fleet: Fleet, server: FleetServer, stateDir: string, env: NodeJS.ProcessEnv) {
  const admin = await adminTarget(fleet, server, stateDir, env);
  if (server.driver === 'external')
    return {
      server: server.name,
      admin,
      replicationAddress: { host: server.host ?? '127.0.0.1', port: server.port ?? 3306 },
      local: false,
    } satisfies MoveEndpoint;
  const entry = (await readState(stateDir)).servers[server.name]!;
  return {
    server: server.name,
    admin,
    replicationAddress: { host: '127.0.0.1', port: entry.port },
    local: true,
  } satisfies MoveEndpoint;
}

/** An orphan local server's endpoint (the old own instance of a moved or renamed service). */
async function orphanEndpoint(stateDir: string, name: string): Promise<MoveEndpoint> {
  const entry = (await readState(stateDir)).servers[name];
  if (!entry) throw new OperationalError(`server "${name}" is not in the state dir`);
  return {
    server: name,
    admin: { server: name, socketPath: entry.socket, user: entry.adminUser },
    replicationAddress: { host: '127.0.0.1', port: entry.port },
    local: true,
  };
}

async function connect(e: MoveEndpoint, role: 'source' | 'target', service: string): Promise<AdminSession> {
  try {
    return await connectAdmin(e.admin);
  } catch (err) {
    const hint =
      role === 'target'
        ? `start it first: \`dbps up ${service}\``
        : e.local
          ? 'the old server must run for its data to be copied: `dbps status` shows it; an old own instance that was stopped can be started again by putting the service back in services.yaml for a moment and running `dbps up`'
          : 'check that the server runs and the host and port are right';
    throw new OperationalError((err as Error).message, { server: e.server, hint });
  }
}

async function tableCount(s: AdminSession, db: string): Promise<number | undefined> {
  const rows = await s.query<{ n: number }>(
    'SELECT COUNT(t.TABLE_NAME) AS n FROM information_schema.SCHEMATA s LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME WHERE s.SCHEMA_NAME = ? GROUP BY s.SCHEMA_NAME',
    [db],
  );
  return rows[0] ? Number(rows[0].n) : undefined;
}

interface Source {
  endpoint: MoveEndpoint;
  database: string;
  orphanServer: boolean;
}

/** Where the service's data is now: a recorded unfinished move, its old own instance, or a server holding its database. */
async function findSource(
  fleet: Fleet,
  opts: MoveOptions,
  service: FleetService,
  renamedFrom: string | undefined,
  record: MoveRecord | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Source> {
  const state = await readState(opts.stateDir);
  const orphans = orphanServerNames(fleet, Object.keys(state.servers));
  const oldName = renamedFrom ?? service.name;
  if (record?.phase === 'copying') {
    const server = fleet.servers.find((s) => s.name === record.from.server);
    return {
      endpoint: server
        ? await fleetEndpoint(fleet, server, opts.stateDir, env)
        : await orphanEndpoint(opts.stateDir, record.from.server),
      database: record.from.database,
      orphanServer: !server,
    };
  }
  if (orphans.includes(oldName) && oldName !== service.server) {
    const endpoint = await orphanEndpoint(opts.stateDir, oldName);
    const s = await connect(endpoint, 'source', service.name);
    try {
      const wanted = renamedFrom ?? service.database;
      if ((await tableCount(s, wanted)) !== undefined) return { endpoint, database: wanted, orphanServer: true };
      // The old service may have named its database itself: the one database of its own instance.
      const dbs = (await s.query<{ n: string }>('SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA'))
        .map((r) => r.n)
        .filter((n) => !MYSQL_SYSTEM.has(n));
      if (dbs.length === 1) return { endpoint, database: dbs[0]!, orphanServer: true };
      throw new OperationalError(
        `server "${oldName}" holds ${dbs.length === 0 ? 'no database' : count(dbs.length, 'database')}, none named ${wanted}: dbps cannot tell which is ${oldName}'s`,
        { server: oldName },
      );
    } finally {
      await s.close();
    }
  }
  const wanted = renamedFrom ?? service.database;
  const found: Source[] = [];
  for (const server of fleet.servers) {
    if (!renamedFrom && server.name === service.server) continue;
    if (server.driver === 'local' && !state.servers[server.name]) continue;
    const endpoint = await fleetEndpoint(fleet, server, opts.stateDir, env);
    let s: AdminSession;
    try {
      s = await connectAdmin(endpoint.admin);
    } catch {
      continue;
    }
    try {
      const declared = fleet.services.some((x) => x.server === server.name && x.database === wanted);
      const n = await tableCount(s, wanted);
      if (n !== undefined && n > 0 && !declared) found.push({ endpoint, database: wanted, orphanServer: false });
    } finally {
      await s.close();
    }
  }
  if (found.length === 1) return found[0]!;
  if (found.length > 1)
    throw new OperationalError(
      `database ${wanted} with tables is on ${found.map((f) => f.endpoint.server).join(' and ')}: dbps will not guess which copy is ${oldName}'s`,
      { hint: 'drop the stale copy by hand, then run `dbps move` again' },
    );
  throw new UsageError(
    `no copy of ${renamedFrom ? quoted(renamedFrom) : `${quoted(service.name)}'s data`} found outside ${service.server}: nothing to move`,
    { hint: '`dbps plan` shows what dbps sees; a new service only needs `dbps provision`' },
  );
}

/** The accounts holding privileges on the source database: the service's own (they become read-only there). */
async function sourceAccounts(
  s: AdminSession,
  database: string,
  service: FleetService,
  oldName: string,
): Promise<MovedAccount[]> {
  const rows = await s.query<{ User: string; Host: string }>(
    'SELECT DISTINCT User, Host FROM mysql.db WHERE Db = ? UNION SELECT DISTINCT User, Host FROM mysql.tables_priv WHERE Db = ?',
    [dbPatternText(database), database],
  );
  const out: MovedAccount[] = [];
  for (const r of rows) {
    const mapped = targetAccountFor(r.User, service, oldName);
    // Only the service's accounts: another service's declared read of this data is not the service's to move.
    if (!mapped) continue;
    out.push({
      user: r.User,
      host: r.Host,
      role: mapped.role,
      ...(mapped.passwordEnv ? { passwordEnv: mapped.passwordEnv } : {}),
      requireSsl: mapped.requireSsl,
    });
  }
  return out;
}

/** The service's account (in services.yaml) an account of the old copy becomes: same name, or old prefix → new. */
function targetAccountFor(user: string, service: FleetService, oldName: string) {
  const direct = service.accounts.find((a) => a.user === user);
  if (direct) return direct;
  if (oldName !== service.name && user.startsWith(`${oldName}_`)) {
    const renamed = `${service.name}_${user.slice(oldName.length + 1)}`;
    return service.accounts.find((a) => a.user === renamed);
  }
  return undefined;
}

/** The old copy stays, read-only for the service's accounts, until --finish; false (and a warning) when that failed. */
async function makeReadOnly(
  src: AdminSession,
  accounts: readonly MovedAccount[],
  from: { server: string; database: string },
  service: string,
  warnings: string[],
): Promise<boolean> {
  try {
    for (const a of accounts) {
      const who = accountSql(a.user, a.host);
      await src.query(`REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${who}`);
      await src.query(`GRANT ${MOVED_OUT_PRIVILEGES.join(', ')} ON ${dbPattern(from.database)}.* TO ${who}`);
    }
    await lockAccounts(src, accounts, false);
    return true;
  } catch (e) {
    warnings.push(
      `server "${from.server}": the old copy could not be made read-only (${(e as Error).message}); ${service}'s accounts there stay locked`,
    );
    return false;
  }
}

/** True when every one of the accounts is locked (the cut-over of an interrupted move had begun). */
async function allLocked(s: AdminSession, accounts: readonly MovedAccount[]): Promise<boolean> {
  for (const a of accounts) {
    const [row] = await s.query<{ l: string | null }>(
      "SELECT JSON_VALUE(Priv, '$.account_locked') AS l FROM mysql.global_priv WHERE User = ? AND Host = ?",
      [a.user, a.host],
    );
    // JSON_VALUE gives a JSON true as `1` on 10.11 (`true` elsewhere).
    if (!['1', 'true'].includes(String(row?.l))) return false;
  }
  return accounts.length > 0;
}

async function lockAccounts(s: AdminSession, accounts: readonly MovedAccount[], lock: boolean): Promise<void> {
  for (const a of accounts)
    await s.query(`ALTER USER ${accountSql(a.user, a.host)} ACCOUNT ${lock ? 'LOCK' : 'UNLOCK'}`);
}

/** Waits up to graceMs for the accounts' open transactions, then kills their connections; returns how many were killed. */
async function endSessions(s: AdminSession, accounts: readonly MovedAccount[], graceMs: number): Promise<number> {
  if (accounts.length === 0) return 0;
  const users = [...new Set(accounts.map((a) => a.user))];
  const marks = users.map(() => '?').join(', ');
  const sessions = () =>
    s.query<{ id: number; command: string; queryId: number; trx: string | null }>(
      `SELECT p.ID AS id, p.COMMAND AS command, p.QUERY_ID AS queryId, MIN(t.trx_id) AS trx FROM information_schema.PROCESSLIST p LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID WHERE p.USER IN (${marks}) AND p.ID <> CONNECTION_ID() GROUP BY p.ID, p.COMMAND, p.QUERY_ID`,
      users,
    );
  // What is in flight when the accounts were locked gets the grace: a statement running (done when the
  // session has moved on to another statement or holds no transaction), or a transaction left open
  // between statements (done when it is committed or rolled back). A busy client's later statements do
  // not extend it: they are applied to the target with the last events anyway.
  const until = Date.now() + graceMs;
  let open = await sessions();
  const pending = new Map(
    open
      .filter((x) => x.trx !== null || x.command === 'Query')
      .map((x) => [Number(x.id), { queryId: Number(x.queryId), idleInTrx: x.command === 'Sleep' }]),
  );
  while (pending.size > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 10));
    open = await sessions();
    const now = new Map(open.map((x) => [Number(x.id), x]));
    for (const [id, p] of pending) {
      const cur = now.get(id);
      if (!cur || cur.trx === null || (!p.idleInTrx && Number(cur.queryId) !== p.queryId)) pending.delete(id);
    }
  }
  const ids = [...new Set(open.map((x) => Number(x.id)))];
  for (const id of ids) await s.query(`KILL CONNECTION ${id}`).catch(() => undefined);
  // KILL only marks a connection: wait (bounded) until those have rolled back and gone. New logins of the
  // locked accounts are refused; one caught mid-handshake is not waited for.
  const gone = Date.now() + 10_000;
  const killedIds = new Set(ids);
  while (Date.now() < gone && (await sessions()).some((x) => killedIds.has(Number(x.id))))
    await new Promise((r) => setTimeout(r, 10));
  return ids.length;
}

async function move(
  fleet: Fleet,
  opts: MoveOptions,
  service: FleetService,
  renamedFrom: string | undefined,
  record: MoveRecord | undefined,
  env: NodeJS.ProcessEnv,
): Promise<MoveResult> {
  const began = Date.now();
  const progress = opts.onProgress ?? (() => undefined);
  const oldName = renamedFrom ?? service.name;
  const targetServer = fleet.servers.find((s) => s.name === service.server)!;
  if (targetServer.driver === 'local' && !(await readState(opts.stateDir)).servers[targetServer.name])
    throw new OperationalError(
      `server "${targetServer.name}" (where services.yaml puts ${service.name}) has never been started`,
      {
        server: targetServer.name,
        hint: `start it first: \`dbps up ${service.name}\`, then \`dbps move ${opts.name}${renamedFrom ? ` --to ${service.name}` : ''}\``,
      },
    );
  const target = await fleetEndpoint(fleet, targetServer, opts.stateDir, env);
  const source = await findSource(fleet, opts, service, renamedFrom, record, env);
  const sameServer = source.endpoint.server === target.server;
  const from = { server: source.endpoint.server, database: source.database };
  const to = { server: target.server, database: service.database };
  if (sameServer && from.database === to.database)
    throw new UsageError(`${quoted(service.name)}'s data is already where services.yaml puts it`);
  const retry = `the source (${from.server}, database ${from.database}) is writable and intact; fix the cause and run \`dbps move ${opts.name}${renamedFrom ? ` --to ${service.name}` : ''}\` again`;

  progress(`connecting to ${from.server} and ${to.server}`);
  const src = await connect(source.endpoint, 'source', service.name);
  let tgt: AdminSession | undefined;
  const warnings: string[] = [];
  let accounts: MovedAccount[] = [];
  let createdTarget = false;
  let locked = false;
  let replicating = false;
  let keepRecord = false;
  try {
    tgt = await connect(target, 'target', service.name);
    accounts = await sourceAccounts(src, from.database, service, oldName);
    if (record?.phase === 'copying') {
      // An earlier run stopped half way (dbps was killed): undo it, or finish it if it had switched already.
      // Only the service's own accounts count: dbps_backup holds dump grants on every service database
      // of a server from its first provision, moved or not.
      const users = record.accounts.map((a) => a.user);
      const [granted] = await tgt.query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM mysql.db WHERE Db = ? AND User NOT IN (?, ?)${users.length ? ` AND User IN (${users.map(() => '?').join(', ')})` : ''}`,
        [dbPatternText(to.database), BACKUP_USER, MONITOR_USER, ...users],
      );
      if (Number(granted?.n) > 0) {
        // Accounts on the new copy: that run had provisioned the new server. With the old accounts still
        // locked nothing wrote to the old copy since, so the new one is the live one: record the move.
        if (!(await allLocked(src, record.accounts))) {
          keepRecord = true;
          throw new OperationalError(
            `server "${to.server}": an interrupted move of ${service.name} had provisioned its accounts here, but its accounts on ${from.server} are not locked: dbps cannot tell which copy took the last writes`,
            {
              server: to.server,
              hint: `compare the two copies (\`dbps connect ${service.name} --admin\`), drop the stale one by hand, and remove the "moves" entry of ${service.name} from .dbps/state.json`,
            },
          );
        }
        progress('finishing the cut-over of an earlier, interrupted move');
        await updateState(opts.stateDir, (st) => {
          const r = st.moves?.[service.name];
          if (r) {
            r.phase = 'moved';
            r.movedAt = new Date().toISOString();
          }
        });
        await makeReadOnly(src, record.accounts, from, service.name, warnings);
        await dropReplicationUser(src).catch(() => undefined);
        warnings.push(`finished an interrupted move of ${service.name}; its write pause was not measured`);
        return {
          command: 'move',
          action: 'moved',
          service: service.name,
          from,
          to,
          elapsedMs: Date.now() - began,
          next: `\`dbps move ${service.name} --finish --yes\` drops the old copy`,
          warnings,
        };
      }
      progress('undoing what an earlier, unfinished move left');
      await lockAccounts(src, record.accounts, false).catch(() => undefined);
      await stopCatchUp(tgt);
      await tgt.query(`DROP DATABASE IF EXISTS ${ident(to.database)}`);
    }
    const present = await tableCount(tgt, to.database);
    if (present !== undefined && present > 0)
      throw new OperationalError(
        `server "${to.server}": database ${to.database} already holds ${present} table${present === 1 ? '' : 's'}; dbps moves only into an empty one`,
        {
          server: to.server,
          hint: `see what is in it (\`dbps connect ${service.name} --admin\`); drop it if it is a stray copy, then run the move again`,
        },
      );
    const [logBin] = await src.query<{ b: number; f: string }>('SELECT @@log_bin AS b, @@binlog_format AS f');
    const online = !sameServer;
    if (online && (Number(logBin?.b) !== 1 || String(logBin?.f).toUpperCase() !== 'ROW'))
      throw new OperationalError(
        `server "${from.server}": the binary log is ${Number(logBin?.b) === 1 ? `in ${logBin?.f} format` : 'off'}; a move catches up from a ROW binlog`,
        {
          server: from.server,
          hint: 'set log_bin and binlog_format=ROW on it (dbps sets both on the servers it runs)',
        },
      );
    if (online) {
      const [ids] = await src.query<{ id: number }>('SELECT @@server_id AS id');
      const [tid] = await tgt.query<{ id: number }>('SELECT @@server_id AS id');
      if (Number(ids?.id) === Number(tid?.id))
        throw new OperationalError(
          `servers "${from.server}" and "${to.server}" have the same server_id ${ids?.id}; replication needs them to differ`,
        );
    }

    await updateState(opts.stateDir, (st) => {
      st.moves ??= {};
      st.moves[service.name] = {
        service: service.name,
        from: { ...from, orphanServer: source.orphanServer, charset: service.charset, collation: service.collation },
        to,
        accounts,
        phase: 'copying',
        startedAt: new Date(began).toISOString(),
      };
    });
    const create = statementFor(
      {
        kind: 'create-database',
        server: to.server,
        service: service.name,
        object: `database ${to.database}`,
        reason: `${service.name} moves here`,
        destructive: false,
        database: to.database,
        charset: service.charset,
        collation: service.collation,
      },
      () => '',
    );
    await tgt.query(create.sql, create.params);
    createdTarget = true;

    let pauseStart: number | undefined;
    let killed = 0;
    const cutOff = async () => {
      progress(`cut-over: blocking ${service.name}'s accounts on ${from.server}`);
      pauseStart = Date.now();
      await lockAccounts(src, accounts, true);
      locked = true;
      killed = await endSessions(src, accounts, opts.graceMs ?? 1000);
    };

    let bytes = 0;
    if (online) {
      const host = source.endpoint.local && target.local ? '127.0.0.1' : '%';
      const login = await createReplicationUser(src, host);
      progress(`copying database ${from.database} from ${from.server} (consistent snapshot)`);
      const copy = await copyDatabase(source.endpoint, from.database, target, to.database, {
        binlog: true,
        env: toolEnv({}, env),
        onProgress: (b) => progress(`copied ${(b / 1024 / 1024).toFixed(0)} MiB`),
      });
      bytes = copy.bytes;
      if (!copy.point) throw new OperationalError(`server "${from.server}": the dump carries no binlog position`);
      progress(`catching up from ${from.server}'s binlog (${copy.point.file}:${copy.point.position})`);
      await startCatchUp(tgt, source.endpoint, login, copy.point, from.database, to.database);
      replicating = true;
      killHere('move:catch-up');
      const deadline = Date.now() + (opts.catchUpTimeoutMs ?? 600_000);
      let lastNote = Date.now();
      for (;;) {
        const st = await catchUpState(tgt);
        if (st.error)
          throw new OperationalError(`server "${to.server}": catching up from ${from.server} failed: ${st.error}`, {
            server: to.server,
          });
        if (st.ioRunning === 'Yes' && st.sqlRunning === 'Yes' && st.secondsBehind !== null && st.secondsBehind < 1) {
          const end = await binlogEnd(src);
          // Under a second behind and the rest small: what is left is applied inside the write pause.
          if (end && (await waitApplied(tgt, end, 1))) break;
        }
        if (Date.now() > deadline)
          throw new OperationalError(
            `server "${to.server}": still ${st.secondsBehind ?? '?'} s behind ${from.server} after the catch-up timeout`,
            {
              server: to.server,
              hint: 'try at a quieter time, or raise DBPS_MOVE_TIMEOUT (seconds)',
            },
          );
        if (Date.now() - lastNote > 5000) {
          lastNote = Date.now();
          progress(`catching up: ${st.secondsBehind ?? '?'} s behind`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await cutOff();
      const end = await binlogEnd(src);
      if (!end || !(await waitApplied(tgt, end, 30)))
        throw new OperationalError(
          `server "${to.server}": the last events of ${from.server} were not applied within 30 s`,
          { server: to.server },
        );
      const st = await catchUpState(tgt);
      if (st.error)
        throw new OperationalError(`server "${to.server}": catching up failed: ${st.error}`, { server: to.server });
      await stopCatchUp(tgt);
      replicating = false;
    } else {
      // One server (a rename on a shared server): no binlog to follow, so the copy happens inside the pause.
      await cutOff();
      progress(`copying database ${from.database} to ${to.database}`);
      bytes = (
        await copyDatabase(source.endpoint, from.database, target, to.database, {
          binlog: false,
          env: toolEnv({}, env),
          onProgress: (b) => progress(`copied ${(b / 1024 / 1024).toFixed(0)} MiB`),
        })
      ).bytes;
    }

    // The passwords follow the accounts: the new server's keys get the values the old ones had.
    const secrets = await readSecrets(opts.stateDir);
    const carried: { owner: { server: string; user: string }; password: string }[] = [];
    for (const a of accounts) {
      if (a.passwordEnv) continue;
      const pw = storedPassword(secrets, from.server, a.user);
      const next = targetAccountFor(a.user, service, oldName);
      if (pw !== undefined && next) carried.push({ owner: { server: to.server, user: next.user }, password: pw });
    }
    await storeSecrets(opts.stateDir, carried);
    progress(`provisioning ${service.name}'s accounts on ${to.server}`);
    const { run: provision } = await import('./provision.js');
    const prov = await provision({
      file: opts.file,
      stateDir: opts.stateDir,
      services: [service.name],
      dryRun: false,
      prune: false,
      yes: false,
      forceDropData: false,
      env,
      moving: service.name,
    });
    const failure = prov.servers.find((s) => s.error || s.failures.length > 0);
    if (failure)
      throw new OperationalError(
        failure.error?.message ?? failure.failures[0]?.message ?? `server "${to.server}": provisioning failed`,
        { server: to.server },
      );
    const writePauseMs = Date.now() - (pauseStart ?? Date.now());
    createdTarget = false;
    killHere('move:switched');
    await updateState(opts.stateDir, (st) => {
      const r = st.moves?.[service.name];
      if (r) {
        r.phase = 'moved';
        r.movedAt = new Date().toISOString();
        r.writePauseMs = writePauseMs;
      }
    });

    progress(`making ${from.database} on ${from.server} read-only`);
    if (await makeReadOnly(src, accounts, from, service.name, warnings)) locked = false;
    if (online) await dropReplicationUser(src).catch(() => undefined);
    return {
      command: 'move',
      action: 'moved',
      service: service.name,
      from,
      to,
      bytes,
      writePauseMs,
      killedConnections: killed,
      elapsedMs: Date.now() - began,
      next: `point ${service.name} at ${to.server} (\`dbps env ${service.name}\`), then \`dbps move ${service.name} --finish --yes\` drops the old copy`,
      warnings,
    };
  } catch (e) {
    // Neither copy is known to be the live one: change nothing, say so.
    if (keepRecord) throw e;
    // Nothing lost: the source gets its writers back, the partial copy and the replica go.
    if (replicating && tgt) await stopCatchUp(tgt).catch(() => undefined);
    if (createdTarget && tgt && !(sameServer && from.database === to.database))
      await tgt.query(`DROP DATABASE IF EXISTS ${ident(to.database)}`).catch(() => undefined);
    if (locked) await lockAccounts(src, accounts, false).catch(() => undefined);
    await dropReplicationUser(src).catch(() => undefined);
    await updateState(opts.stateDir, (st) => {
      if (st.moves?.[service.name]?.phase === 'copying') delete st.moves[service.name];
      if (st.moves && Object.keys(st.moves).length === 0) delete st.moves;
    }).catch(() => undefined);
    if (e instanceof UsageError) throw e;
    const err = e instanceof OperationalError ? e : new OperationalError(String((e as Error).message ?? e));
    throw new OperationalError(`move of ${service.name} failed: ${err.message}`, {
      ...(err.server ? { server: err.server } : {}),
      hint: err.hint ? `${err.hint}; ${retry}` : retry,
    });
  } finally {
    await tgt?.close();
    await src.close();
  }
}

async function finish(
  fleet: Fleet,
  opts: MoveOptions,
  service: FleetService,
  record: MoveRecord | undefined,
  env: NodeJS.ProcessEnv,
): Promise<MoveResult> {
  const began = Date.now();
  if (record?.phase !== 'moved')
    throw new UsageError(
      record
        ? `the move of ${quoted(service.name)} has not finished copying`
        : `${quoted(service.name)} has no move to finish`,
      {
        hint: record ? `run \`dbps move ${service.name}\` first` : '`dbps plan` shows services whose data is elsewhere',
      },
    );
  const server = fleet.servers.find((s) => s.name === record.from.server);
  const endpoint = server
    ? await fleetEndpoint(fleet, server, opts.stateDir, env)
    : await orphanEndpoint(opts.stateDir, record.from.server);
  const s = await connect(endpoint, 'source', service.name);
  try {
    const tables = (await tableCount(s, record.from.database)) ?? 0;
    if (!opts.yes)
      throw new UsageError(
        `--finish drops database ${record.from.database} on ${record.from.server} (${tables} table${tables === 1 ? '' : 's'}, the old copy of ${service.name}); add --yes to confirm`,
        { hint: `${service.name} runs on ${record.to.server} since ${record.movedAt ?? 'the move'}` },
      );
    opts.onProgress?.(`dropping database ${record.from.database} on ${record.from.server}`);
    await s.query(`DROP DATABASE IF EXISTS ${ident(record.from.database)}`);
    for (const a of record.accounts) {
      // Same name and host on the same server means the service still lives there (a rename on one server).
      if (
        record.from.server === record.to.server &&
        service.accounts.some((x) => x.user === a.user && x.host === a.host)
      )
        continue;
      await s.query(`DROP USER IF EXISTS ${accountSql(a.user, a.host)}`);
    }
  } finally {
    await s.close();
  }
  await forgetSecrets(
    opts.stateDir,
    record.accounts
      .filter(
        (a) => !a.passwordEnv && !(record.from.server === record.to.server && record.from.server === service.server),
      )
      .map((a) => ({ server: record.from.server, user: a.user })),
  );
  await updateState(opts.stateDir, (st) => {
    if (st.moves) delete st.moves[service.name];
    if (st.moves && Object.keys(st.moves).length === 0) delete st.moves;
  });
  return {
    command: 'move',
    action: 'finished',
    service: service.name,
    from: { server: record.from.server, database: record.from.database },
    to: record.to,
    elapsedMs: Date.now() - began,
    next: record.from.orphanServer
      ? `server ${record.from.server} holds no service now: \`dbps down ${record.from.server} --destroy --yes\` removes it`
      : 'nothing: the move is done',
    warnings: [],
  };
}
