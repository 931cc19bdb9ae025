// The I/O half of plan/provision for one server: observe it (catalog, password check, tables)
// in a couple of pipelined bursts, and apply statements pipelined on one connection.

import { createHash, randomBytes } from 'node:crypto';
import { OperationalError } from '../errors.js';
import type { DesiredServer } from '../fleet/desired.js';
import { LINK_PREFIX } from '../fleet/links.js';
import { passwordDigest, readCatalogWithPasswords, tableOption } from '../grants/catalog.js';
import { type ObservedEvent, type ObservedLinks, type ServerObservation, tableKey } from '../grants/diff.js';
import { nativePasswordHash, type Statement } from '../grants/sql.js';
import { accountKey } from '../grants/types.js';
import { ident } from '../sql/quote.js';
import type { AdminSession } from './admin.js';
import { ServerTimeoutError } from './failures.js';

/** Name of the server-side lock every provision takes, so two runs never interleave their DDL. */
export const PROVISION_LOCK = 'dbps_provision';

/** Takes the provision lock, waiting up to `timeoutSeconds`; an OperationalError when another run keeps it. */
export async function takeProvisionLock(
  session: AdminSession,
  timeoutSeconds: number,
  statementBoundMs = 60_000,
): Promise<void> {
  // The wait for the lock is the server's own (GET_LOCK's timeout); the statement bound comes on top.
  const rows = await session.query<{ got: number | null }>(
    'SELECT GET_LOCK(?, ?) AS got',
    [PROVISION_LOCK, timeoutSeconds],
    { timeoutMs: timeoutSeconds * 1000 + statementBoundMs },
  );
  if (Number(rows[0]?.got) !== 1) {
    throw new OperationalError(
      `server "${session.server}": another dbps provision has held the lock ${PROVISION_LOCK} for ${timeoutSeconds} s`,
      {
        server: session.server,
        hint: 'wait for it to finish and run provision again',
      },
    );
  }
}

export async function releaseProvisionLock(session: AdminSession): Promise<void> {
  await session.query('SELECT RELEASE_LOCK(?)', [PROVISION_LOCK]);
}

// JSON_TABLE turns one parameter into a row per account: one query whatever the fleet size. Its
// columns carry mysql.global_priv's own charset and collation: with the connection's (dbps's my.cnf
// sets utf8mb4_uca1400_ai_ci) the join cannot use the primary key and runs as a block-nested loop,
// N accounts x N rows, seconds at 1000 accounts. With them it is one eq_ref lookup per account.
// An account mid-rotation (`dbps rotate`: two passwords, `auth_or`) matches when either is the desired
// one, so provision neither reports it as drift nor resets it to one password.
export const PASSWORD_MISMATCH_SQL = `SELECT t.u AS user, t.h AS host
       FROM JSON_TABLE(?, '$[*]' COLUMNS (
         u VARCHAR(128) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin PATH '$[0]',
         h VARCHAR(255) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin PATH '$[1]',
         p VARCHAR(64) PATH '$[2]')) AS t
       JOIN mysql.global_priv g ON g.User = t.u AND g.Host = t.h
       WHERE NOT ((IFNULL(JSON_VALUE(g.Priv, '$.plugin'), '') IN ('mysql_native_password', '')
                   AND BINARY IFNULL(JSON_VALUE(g.Priv, '$.authentication_string'), '') = BINARY t.p)
                  OR (JSON_LENGTH(g.Priv, '$.auth_or') > 1
                      AND JSON_SEARCH(g.Priv, 'one', t.p, NULL, '$.auth_or[*].authentication_string') IS NOT NULL))`;

/**
 * Reads everything the diff needs. `passwords` maps accountKey -> clear-text password of desired
 * accounts; only their native hashes are sent, and the server answers only "differs" per account.
 */
export async function observeServer(
  session: AdminSession,
  desired: DesiredServer,
  passwords: ReadonlyMap<string, string | undefined>,
  wantOrphans: boolean,
  linkPasswords: ReadonlyMap<string, string | undefined> = new Map(),
): Promise<ServerObservation & { admin: { user: string; host: string } }> {
  // Fresh for this read: the digests the server sends back are of no use to anyone else.
  const salt = randomBytes(16).toString('hex');
  const tables = new Map<string, [string, string]>();
  for (const o of desired.outboxes) tables.set(tableKey(o.database, o.table), [o.database, o.table]);
  for (const a of desired.accounts) {
    for (const g of a.grants) {
      if (g.scope.level === 'table' || g.scope.level === 'column')
        tables.set(tableKey(g.scope.database, g.scope.table), [g.scope.database, g.scope.table]);
    }
  }
  const tableList = [...tables.values()];
  // Issued with the first burst (the connector pipelines it): no extra round trip on a server without links.
  const linkServers = linkServerRows(session);
  // Awaited after the burst; a failing burst must not leave this rejection unhandled meanwhile.
  linkServers.catch(() => undefined);
  const [{ catalog, passwordDigests }, tableRows, meRows] = await Promise.all([
    readCatalogWithPasswords(session.query, session.server, salt),
    tableList.length === 0
      ? Promise.resolve([] as { db: string; tbl: string }[])
      : rowsOfTables<{ db: string; tbl: string }>(
          session,
          'TABLES',
          'TABLE_SCHEMA AS db, TABLE_NAME AS tbl',
          tableList,
        ),
    session.query<{ me: string }>('SELECT CURRENT_USER() AS me'),
  ]);
  // An account whose password is plainly the desired one (native plugin, its hash's digest equal) is
  // settled here; every other one that exists, the server's own check decides (PASSWORD_MISMATCH_SQL:
  // an `auth_or` of a rotation, another plugin, no known password), as for all of them before.
  const pluginOf = new Map(catalog.accounts.map((a) => [accountKey(a.user, a.host), a.plugin]));
  const unsettled: [string, string, string][] = [];
  for (const a of desired.accounts) {
    const key = accountKey(a.user, a.host);
    const have = passwordDigests.get(key);
    if (have === undefined) continue; // not on the server: created, not compared
    const pw = passwords.get(key);
    // No known password yet (plan before the first provision): an impossible hash, so it "differs".
    const want = pw === undefined ? '!' : nativePasswordHash(pw);
    const plugin = pluginOf.get(key) ?? '';
    if ((plugin === 'mysql_native_password' || plugin === '') && have === passwordDigest(salt, want)) continue;
    unsettled.push([a.user, a.host, want]);
  }
  const mismatchRows =
    unsettled.length === 0
      ? []
      : await session.query<{ user: string; host: string }>(PASSWORD_MISMATCH_SQL, [JSON.stringify(unsettled)]);
  const tableCounts = new Map<string, number>();
  if (wantOrphans) {
    const desiredDbs = new Set(desired.databases.map((d) => d.name));
    const others = catalog.databases.filter(
      (d) => !desiredDbs.has(d) && !/^(mysql|information_schema|performance_schema|sys)$/.test(d),
    );
    if (others.length > 0) {
      const rows = await session.query<{ db: string; n: number }>(
        `SELECT TABLE_SCHEMA AS db, COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (${others.map(() => '?').join(', ')}) GROUP BY TABLE_SCHEMA`,
        others,
      );
      for (const r of rows) tableCounts.set(String(r.db), Number(r.n));
    }
  }
  // The outbox tables' columns, so plan sees a relay broken by a renamed or dropped column.
  const existing = new Set(tableRows.map((r) => tableKey(String(r.db), String(r.tbl))));
  const outboxes = desired.outboxes.filter((o) => existing.has(tableKey(o.database, o.table)));
  const outboxColumns = new Map<string, Set<string>>(outboxes.map((o) => [tableKey(o.database, o.table), new Set()]));
  if (outboxes.length > 0) {
    const rows = await rowsOfTables<{ db: string; tbl: string; col: string }>(
      session,
      'COLUMNS',
      'TABLE_SCHEMA AS db, TABLE_NAME AS tbl, COLUMN_NAME AS col',
      outboxes.map((o) => [o.database, o.table]),
    );
    for (const r of rows) outboxColumns.get(tableKey(String(r.db), String(r.tbl)))?.add(String(r.col));
  }
  // Events under the purge-event names of the server's services: dbps's own, or a migration's of that name.
  const purgeEvents = new Map<string, ObservedEvent>();
  const candidates = desired.purgeEventCandidates;
  if (candidates.length > 0) {
    // By name only, the pairs matched here: a WHERE of one (schema AND name) term per service took
    // the server 0.14 s to plan at 10,000 services (and mysql.event is read whole either way).
    const wanted = new Set(candidates.map((c) => tableKey(c.database, c.event)));
    const names = [...new Set(candidates.map((c) => c.event))];
    const rows = await session.query<{
      db: string;
      ev: string;
      definer: string;
      body: string | null;
      iv: string | null;
      ifield: string | null;
      status: string;
      oncomp: string;
      comment: string | null;
    }>(
      `SELECT EVENT_SCHEMA AS db, EVENT_NAME AS ev, DEFINER AS definer, EVENT_DEFINITION AS body,
              INTERVAL_VALUE AS iv, INTERVAL_FIELD AS ifield, STATUS AS status, ON_COMPLETION AS oncomp,
              EVENT_COMMENT AS comment
         FROM information_schema.EVENTS WHERE EVENT_NAME IN (${names.map(() => '?').join(', ')})`,
      names,
    );
    for (const r of rows) {
      if (!wanted.has(tableKey(String(r.db), String(r.ev)))) continue;
      purgeEvents.set(tableKey(String(r.db), String(r.ev)), {
        definer: String(r.definer),
        body: String(r.body ?? ''),
        intervalValue: r.iv === null ? null : String(r.iv).trim(),
        intervalField: r.ifield === null ? null : String(r.ifield),
        status: String(r.status),
        onCompletion: String(r.oncomp),
        comment: String(r.comment ?? ''),
      });
    }
  }
  let eventScheduler: string | undefined;
  if (desired.purgeEvents.length > 0) {
    const rows = await session.query<{ s: string }>('SELECT @@GLOBAL.event_scheduler AS s');
    eventScheduler = String(rows[0]?.s ?? '');
  }
  const links = await observeLinks(session, desired, linkPasswords, await linkServers);
  const me = String(meRows[0]?.me ?? '');
  const at = me.lastIndexOf('@');
  return {
    ...(links ? { links } : {}),
    catalog,
    passwordMismatch: new Set(mismatchRows.map((r) => accountKey(String(r.user), String(r.host)))),
    existingTables: existing,
    tableCounts,
    outboxColumns,
    purgeEvents,
    ...(eventScheduler !== undefined ? { eventScheduler } : {}),
    protectedAccounts: new Set(at > 0 ? [accountKey(me.slice(0, at), me.slice(at + 1))] : []),
    admin: at > 0 ? { user: me.slice(0, at), host: me.slice(at + 1) } : { user: me, host: '' },
  };
}

/** Up to this many databases, tables are looked up database by database; beyond, in one scan. */
const TABLE_LOOKUP_DATABASES = 64;

/**
 * The rows of `view` (information_schema.TABLES or COLUMNS, selected as `select`, which names the
 * database `db` and the table `tbl`) of the tables in `wanted` ([database, table]). information_schema
 * looks in one database only for `TABLE_SCHEMA = constant`: one OR term per table scanned every
 * database of the server (0.13 s at 10,000 databases for 7 tables; COLUMNS opens the tables it finds).
 * So a few databases are one UNION ALL branch each; many are one scan that skips unwanted names
 * before opening anything, which no branch per database would beat.
 */
async function rowsOfTables<T extends { db: unknown; tbl: unknown }>(
  session: AdminSession,
  view: 'TABLES' | 'COLUMNS',
  select: string,
  wanted: [string, string][],
): Promise<T[]> {
  const byDatabase = new Map<string, string[]>();
  for (const [db, table] of wanted) {
    const tables = byDatabase.get(db) ?? [];
    if (!tables.includes(table)) tables.push(table);
    byDatabase.set(db, tables);
  }
  const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');
  let rows: T[];
  if (byDatabase.size <= TABLE_LOOKUP_DATABASES) {
    const branches = [...byDatabase.values()].map(
      (tables) =>
        `SELECT ${select} FROM information_schema.${view} WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (${marks(tables.length)})`,
    );
    rows = await session.query<T>(
      branches.join(' UNION ALL '),
      [...byDatabase].flatMap(([db, tables]) => [db, ...tables]),
    );
  } else {
    const tables = [...new Set(wanted.map(([, t]) => t))];
    rows = await session.query<T>(
      `SELECT ${select} FROM information_schema.${view} WHERE TABLE_SCHEMA IN (${marks(byDatabase.size)}) AND TABLE_NAME IN (${marks(tables.length)})`,
      [...byDatabase.keys(), ...tables],
    );
  }
  // Both forms can return pairs nobody asked for (another database's table of a wanted name).
  const keys = new Set(wanted.map(([db, t]) => tableKey(db, t)));
  return rows.filter((r) => keys.has(tableKey(String(r.db), String(r.tbl))));
}

interface LinkServerRow {
  name: string;
  host: string;
  port: number;
  db: string;
  user: string;
  hash: string | null;
}

/** dbps_link_* entries of mysql.servers, with their password as a SHA-256 (compared, never kept). */
function linkServerRows(session: AdminSession): Promise<LinkServerRow[]> {
  return session.query<LinkServerRow>(
    'SELECT Server_name AS name, Host AS host, Port AS port, Db AS db, Username AS user, SHA2(Password, 256) AS hash FROM mysql.servers WHERE Server_name LIKE ?',
    [`${LINK_PREFIX.replace(/_/g, '\\_')}%`],
  );
}

/**
 * Link objects on a reader's server: dbps_link_* CREATE SERVER entries (always: one cheap query), and,
 * when the server has a link or such an entry, the engine, dbps's CONNECT tables and the views over
 * them. The stored password is compared as its SHA-256: the clear text is never read back.
 */
async function observeLinks(
  session: AdminSession,
  desired: DesiredServer,
  linkPasswords: ReadonlyMap<string, string | undefined>,
  serverRows: LinkServerRow[],
): Promise<ObservedLinks | undefined> {
  const sha = (pw: string | undefined) =>
    pw === undefined ? '!' : createHash('sha256').update(pw, 'utf8').digest('hex');
  if (desired.links.length === 0 && serverRows.length === 0) return undefined;
  // CONNECT tables of this server's service databases; SHOW CREATE TABLE for the CONNECTION, which is
  // kept only when it names a dbps_link_* server (so a hand-made table's password is never held here).
  const dbs = [...new Set(desired.databases.map((d) => d.name))];
  const [engineRows, connectRows] = await Promise.all([
    session.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM information_schema.ENGINES WHERE ENGINE = 'CONNECT' AND SUPPORT IN ('YES', 'DEFAULT')",
    ),
    dbs.length === 0
      ? Promise.resolve([] as { db: string; tbl: string }[])
      : session.query<{ db: string; tbl: string }>(
          `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl FROM information_schema.TABLES WHERE ENGINE = 'CONNECT' AND TABLE_SCHEMA IN (${dbs.map(() => '?').join(', ')})`,
          dbs,
        ),
  ]);
  const tables = new Map<string, { connection: string }>();
  await Promise.all(
    connectRows.map(async (r) => {
      const rows = await session.query<Record<string, unknown>>(
        `SHOW CREATE TABLE ${ident(String(r.db))}.${ident(String(r.tbl))}`,
      );
      const connection = tableOption(String(rows[0]?.['Create Table'] ?? ''), 'CONNECTION') ?? '';
      if (connection.startsWith(LINK_PREFIX)) tables.set(tableKey(String(r.db), String(r.tbl)), { connection });
    }),
  );
  const tableDbs = [...new Set([...tables.keys()].map((k) => k.slice(0, k.indexOf('.'))))];
  // Views that are desired link views, or sit in a database holding a dbps link table (maybe reading it).
  const viewNames = desired.links.flatMap((l) => l.tables.map((t) => [l.database, t.view]));
  const where = [
    ...viewNames.map(() => '(TABLE_SCHEMA = ? AND TABLE_NAME = ?)'),
    ...(tableDbs.length > 0 ? [`TABLE_SCHEMA IN (${tableDbs.map(() => '?').join(', ')})`] : []),
  ];
  const viewRows =
    where.length === 0
      ? []
      : await session.query<{ db: string; v: string; definer: string; security: string; def: string }>(
          `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS v, DEFINER AS definer, SECURITY_TYPE AS security, VIEW_DEFINITION AS def FROM information_schema.VIEWS WHERE ${where.join(' OR ')}`,
          [...viewNames.flat(), ...tableDbs],
        );
  return {
    connectEngine: Number(engineRows[0]?.n ?? 0) > 0,
    servers: new Map(
      serverRows.map((r) => [
        String(r.name),
        {
          host: String(r.host),
          port: Number(r.port),
          database: String(r.db),
          user: String(r.user),
          passwordOk: String(r.hash ?? '') === sha(linkPasswords.get(String(r.name))),
        },
      ]),
    ),
    tables,
    views: new Map(
      viewRows.map((r) => [
        tableKey(String(r.db), String(r.v)),
        { definer: String(r.definer), security: String(r.security), definition: String(r.def ?? '') },
      ]),
    ),
  };
}

export interface StatementFailure {
  index: number;
  /** The server's own message (never the connector's, which would repeat the SQL). */
  message: string;
  code?: string;
  /** No answer came: the server stopped answering (a timeout) before this statement's reply. */
  unanswered?: boolean;
}

/**
 * Runs statements in order on one connection without waiting for each reply (the connector
 * pipelines them), so N statements cost about one round trip plus the server's own work.
 * A failing statement does not stop the others; failures come back by index.
 */
export async function applyStatements(session: AdminSession, statements: Statement[]): Promise<StatementFailure[]> {
  // session.query bounds every statement (a hung server or a cut link fails them, never hangs).
  const settled = await Promise.allSettled(statements.map((s) => session.query(s.sql, s.params)));
  const failures: StatementFailure[] = [];
  settled.forEach((r, index) => {
    if (r.status === 'rejected') {
      if (r.reason instanceof ServerTimeoutError) {
        failures.push({ index, message: r.reason.message, code: 'TIMEOUT', unanswered: true });
        return;
      }
      const e = ((r.reason as { cause?: unknown }).cause ?? r.reason) as {
        sqlMessage?: string;
        code?: string;
        message?: string;
      };
      failures.push({
        index,
        message: e.sqlMessage ?? e.code ?? 'statement failed',
        ...(e.code ? { code: e.code } : {}),
      });
    }
  });
  return failures;
}
