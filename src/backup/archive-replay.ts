// Point-in-time for servers dbps does not run (and for any server restored from a logical dump): the
// archived binlogs of the server, from the dump's consistent position up to a moment, replayed into a
// target server as an admin. The restore of a logical set calls this after the load and before the
// swap; `rewriteDb` sends the events into the databases the load filled.
import { OperationalError } from '../errors.js';
import { archiveCandidates, readArchiveIndex } from './archive.js';
import type { BinlogPosition } from './binlog-info.js';
import { planReplay, type ReplayPlan } from './pitr.js';
import type { Credentials } from './proc.js';
import { replayPlan } from './restore.js';
import { coverageEnd } from './windows.js';

export interface ArchiveReplayOptions {
  /** The server whose binlogs are replayed (its archive under the backup root). */
  server: string;
  backupRoot: string;
  /** The consistent position of the dump (mariadb-dump's own header), where the replay starts. */
  from: BinlogPosition;
  /** When the dump's snapshot was taken: no moment before it can be reached. */
  pointAt: Date;
  toTime: Date;
  /** The binlog history the dump belongs to; by default the one whose files hold `from.file`, newest first. */
  history?: string;
  /** Where the events go: an admin of the target server. */
  target: Credentials;
  /** The replay must make progress within this (--timeout's statement bound); unset: no bound. */
  statementTimeoutMs?: number;
  /**
   * The databases to replay, each into the database named beside it (a logical restore's scratch
   * copy): events of every other database are left out. Without it every event is replayed as is.
   */
  databases?: Record<string, string>;
}

/** Plans the replay from the archive alone; refuses (naming the window) when the archive does not cover it. */
export async function planArchiveReplay(opts: Omit<ArchiveReplayOptions, 'target'>): Promise<ReplayPlan> {
  const index = await readArchiveIndex(opts.backupRoot, opts.server);
  const { whole, partial } = archiveCandidates(opts.backupRoot, index);
  const candidates = [...whole, ...partial];
  const history =
    opts.history ??
    [...index.histories]
      .reverse()
      .sort((a, b) => (a.id === index.current ? -1 : b.id === index.current ? 1 : 0))
      .find((h) => h.files.some((f) => f.file === opts.from.file))?.id;
  const outcome = planReplay(opts.server, opts.from, opts.pointAt, candidates, opts.toTime, history);
  if (!outcome.ok) {
    const reach = coverageEnd(opts.from.file, candidates, history);
    const window = reach
      ? `${opts.pointAt.toISOString()} → ${reach.toISOString()}`
      : `nothing after the dump (no archived binlog holds ${opts.from.file})`;
    throw new OperationalError(outcome.reason, {
      server: opts.server,
      hint: `the archive covers ${window}; pick a time inside, or archive more with \`dbps binlogs pull ${opts.server}\``,
    });
  }
  return outcome.plan;
}

/**
 * Replays the archived binlogs of `server` from `from` up to `toTime` into `target`, without logging
 * them again there. With `databases`, one pass per database (mariadb-binlog keeps one --database),
 * each rewritten into its target database.
 */
export async function replayArchivedBinlogs(
  opts: ArchiveReplayOptions,
): Promise<{ files: string[]; from: string; until: string }> {
  const plan = await planArchiveReplay(opts);
  const passes = opts.databases ? Object.entries(opts.databases) : [undefined];
  for (const pass of passes) {
    await replayPlan(opts.server, plan, opts.target, {
      skipBinlog: true,
      ...(opts.statementTimeoutMs ? { statementTimeoutMs: opts.statementTimeoutMs } : {}),
      ...(pass ? { database: pass[0], rewriteDb: { [pass[0]]: pass[1] } } : {}),
    });
  }
  return {
    files: plan.files.map((f) => f.file),
    from: `${plan.startFile}:${plan.startPosition}`,
    until: opts.toTime.toISOString(),
  };
}
