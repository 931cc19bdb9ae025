// Restores servers from a backup set: stop, move the datadir aside (never deleted), copy the
// prepared backup back, start, and with a target time replay the binlogs from the backup's
// position up to that moment, so every selected server ends at one common point in time.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { DbpsError, OperationalError } from '../errors.js';
import type { AdminSession } from '../runtime/admin.js';
import { ServerTimeoutError } from '../runtime/failures.js';
import { fanOutJobs, type Timeouts } from '../runtime/fanout.js';
import { trackScratchDir, untrackScratchDir } from '../runtime/run-dir.js';
import type { MovedAside, RestoreRecord } from '../runtime/state.js';
import { killHere } from '../util/test-kill.js';
import { archiveCandidates, readArchiveIndex } from './archive.js';
import { VOLATILE_HEADER_BYTES } from './binlog-events.js';
import { splitBinlogName } from './binlog-info.js';
import { sha256File } from './files.js';
import { type BackupManifest, type ListedSet, newHistoryId, type ServerBackup } from './manifest.js';
import { type BinlogCandidate, planReplay, type ReplayPlan } from './pitr.js';
import { type Credentials, defaultsFileText, lastErrorLine, runTool, toolEnv, writeDefaultsFile } from './proc.js';
import { watchStall } from './stall-watch.js';
import { changedBackupFiles } from './verify.js';
import { restoreWindows, windowsText } from './windows.js';

/** A local server as restore sees it. */
export interface RestoreTarget {
  server: string;
  datadir: string;
  socket: string;
  cnf?: string;
  /** Account that reaches the server over its socket (unix_socket), used for the replay and the check. */
  adminUser: string;
  /** The binlog history of the current datadir (state.json); its live binlogs belong to it. */
  history?: string;
  /** Datadirs earlier restores moved aside: their binlogs belong to older histories and can still be replayed. */
  movedAside?: MovedAside[];
  /** An unfinished restore of this server (state.json), for --resume and --rollback. */
  restore?: RestoreRecord;
  /** Bounds of the SQL steps (GTID reset, the check after the start): --timeout of the command. */
  timeouts?: Timeouts;
}

/** The parts of a server's state.json entry a restore changes. */
export interface RestoreStateEntry {
  history?: string;
  restore?: RestoreRecord;
  movedAside?: MovedAside[];
}

/** Stops and starts servers; the command wires it to the runtime driver. */
export interface ServerControl {
  stop(server: string): Promise<void>;
  start(server: string): Promise<void>;
  /** True when the server's mariadbd runs now. */
  running(server: string): Promise<boolean>;
  /** Changes the server's state.json entry (history, restore record, moved-aside datadirs). */
  update(server: string, change: (entry: RestoreStateEntry) => void): Promise<void>;
}

export interface RestoreServerResult {
  server: string;
  /** Where the previous datadir now lives. */
  movedAside: string;
  /** The binlog history the restored server begins. */
  history: string;
  gtid?: string;
  replay?: { files: string[]; from: string; until: string };
  /** `logical`: databases loaded and swapped in over SQL (movedAside and history are empty then). */
  method?: 'logical';
  /** Logical: the server whose backup was loaded (differs from `server` with --target-server). */
  from?: string;
  databases?: string[];
}

export interface RestoreProgress {
  server: string;
  phase:
    | 'plan'
    | 'checksums'
    | 'space'
    | 'stop'
    | 'copy-back'
    | 'start'
    | 'replay'
    | 'check'
    | 'done'
    | 'rollback'
    /** `restore --database`: the backup prepared in a scratch server, the database copied, the tables swapped. */
    | 'prepare'
    | 'dump'
    | 'swap';
  message?: string;
}

export interface RestoreOptions {
  setDir: string;
  manifest: BackupManifest;
  /** Every set under the backup root, oldest first (their archived binlogs feed the replay). */
  sets: ListedSet[];
  targets: RestoreTarget[];
  control: ServerControl;
  toTime?: Date;
  /** Check every file of the backups (and of the binlogs to replay) against its recorded sha256 first; default true. */
  verifyChecksums?: boolean;
  workRoot: string;
  now?: () => Date;
  onProgress?: (p: RestoreProgress) => void;
}

/**
 * Archived binlogs of `server` from the chosen set and every later one, then the binlog archive's whole
 * files (`dbps binlogs pull/follow`), then the files in `datadir` and moved-aside datadirs, and last
 * the archive's copy of the server's current file (a live file of that name holds at least as much).
 */
export async function binlogCandidates(opts: {
  setId: string;
  sets: ListedSet[];
  /** The backup root, whose binlogs/ directory is the archive; none read when absent. */
  backupRoot?: string;
  server: string;
  base?: string;
  datadir: string;
  /** The binlog history of the files in `datadir`. */
  liveHistory?: string;
  liveCoveredUntil: Date;
  /** Datadirs earlier restores moved aside (newest last); their binlogs are read after the live ones. */
  movedAside?: MovedAside[];
}): Promise<BinlogCandidate[]> {
  const out: BinlogCandidate[] = [];
  for (const s of opts.sets) {
    const m = s.manifest;
    if (!m || m.id < opts.setId) continue;
    const e = m.servers.find((x) => x.server === opts.server);
    for (const b of e?.archivedBinlogs ?? []) {
      out.push({
        file: b.file,
        path: path.join(s.dir, b.path),
        source: `set ${m.id}`,
        coveredUntil: new Date(b.coveredUntil),
        ...(e?.history ? { history: e.history } : {}),
        sha256: b.sha256,
      });
    }
  }
  const archive = opts.backupRoot
    ? archiveCandidates(opts.backupRoot, await readArchiveIndex(opts.backupRoot, opts.server))
    : { whole: [], partial: [] };
  out.push(...archive.whole);
  if (opts.base) {
    const dirs = [
      { dir: opts.datadir, history: opts.liveHistory, until: opts.liveCoveredUntil, source: 'datadir' },
      ...[...(opts.movedAside ?? [])]
        .reverse()
        .map((a) => ({ dir: a.dir, history: a.history, until: new Date(a.until), source: a.dir })),
    ];
    for (const d of dirs) {
      let names: string[] = [];
      try {
        names = await readdir(d.dir);
      } catch {
        names = [];
      }
      for (const n of names.sort()) {
        if (splitBinlogName(n)?.base === opts.base) {
          out.push({
            file: n,
            path: path.join(d.dir, n),
            source: d.source,
            coveredUntil: d.until,
            live: true,
            ...(d.history ? { history: d.history } : {}),
          });
        }
      }
    }
  }
  out.push(...archive.partial);
  return out;
}

/** Restores the targets; refuses before stopping anything when a server cannot be brought to `toTime`. */
export async function restoreFromSet(opts: RestoreOptions): Promise<RestoreServerResult[]> {
  const now = opts.now ?? (() => new Date());
  const progress = (p: RestoreProgress) => opts.onProgress?.(p);
  const entries = new Map<string, ServerBackup>();
  for (const t of opts.targets) {
    const e = opts.manifest.servers.find((x) => x.server === t.server);
    if (!e)
      throw new OperationalError(`backup set ${opts.manifest.id} holds no backup of server "${t.server}"`, {
        server: t.server,
        hint: 'choose another set (`dbps backups list`)',
      });
    if (e.status !== 'ok' || !e.path) {
      throw new OperationalError(
        `the backup of server "${t.server}" in set ${opts.manifest.id} failed (${e.reason ?? 'no files'}) and cannot be restored`,
        {
          server: t.server,
          hint: 'restore it from an older set, or leave it out of the service list',
        },
      );
    }
    // The GTID seeds the restored server's gtid_binlog_state; one that does not parse would fail only
    // after the datadir moved, so it is refused here while everything still runs.
    const gtid = e.binlog?.gtid;
    if (gtid !== undefined && gtid !== '' && !/^\d+-\d+-\d+(,\s*\d+-\d+-\d+)*$/.test(gtid))
      throw new OperationalError(
        `the manifest of set ${opts.manifest.id} records GTID "${gtid.slice(0, 80)}" for server "${t.server}", which is not a GTID list (domain-server-sequence); nothing was stopped`,
        { server: t.server, hint: 'the manifest was edited or damaged: restore another set (`dbps backups list`)' },
      );
    const inSet = path.resolve(opts.setDir, e.path);
    if (!inSet.startsWith(`${path.resolve(opts.setDir)}${path.sep}`))
      throw new OperationalError(
        `the manifest of set ${opts.manifest.id} names ${e.path} for server "${t.server}", outside the set directory; nothing was stopped`,
        { server: t.server, hint: 'the manifest was edited or damaged: restore another set (`dbps backups list`)' },
      );
    entries.set(t.server, e);
  }

  // Plan every replay first: refusing after servers were stopped would leave the fleet down.
  const plans = new Map<string, ReplayPlan>();
  if (opts.toTime) {
    const planTime = now();
    for (const t of opts.targets) {
      progress({ server: t.server, phase: 'plan' });
      const e = entries.get(t.server)!;
      const candidates = await binlogCandidates({
        setId: opts.manifest.id,
        sets: opts.sets,
        backupRoot: path.dirname(opts.setDir),
        server: t.server,
        ...(e.binlogBase ? { base: e.binlogBase } : {}),
        datadir: t.datadir,
        ...(t.history ? { liveHistory: t.history } : {}),
        liveCoveredUntil: planTime,
        ...(t.movedAside ? { movedAside: t.movedAside } : {}),
      });
      const outcome = planReplay(
        t.server,
        e.binlog,
        new Date(e.copyEndedAt ?? e.endedAt),
        candidates,
        opts.toTime,
        e.history,
      );
      if (!outcome.ok) {
        const manifests = opts.sets.filter((x) => x.manifest).map((x) => x.manifest!);
        const window = windowsText(
          restoreWindows(manifests, () => candidates),
          t.server,
        );
        throw new OperationalError(outcome.reason, {
          server: t.server,
          hint: `server "${t.server}" can be restored to ${window} (sets, archived binlogs and the live ones); pick a time inside, or archive more with \`dbps binlogs pull\``,
        });
      }
      await refuseForks(t.server, outcome.plan, candidates);
      plans.set(t.server, outcome.plan);
    }
  }

  // A set known to be damaged is refused while every server still runs: each backup file, and each
  // archived binlog the replay will read, must still match the sha256 taken when it was written.
  if (opts.verifyChecksums !== false) {
    for (const t of opts.targets) {
      progress({ server: t.server, phase: 'checksums' });
      const e = entries.get(t.server)!;
      const bad = await changedBackupFiles(opts.setDir, e);
      for (const f of plans.get(t.server)?.files ?? []) {
        if (f.sha256 && (await sha256File(f.path).catch(() => undefined)) !== f.sha256) bad.push(f.path);
      }
      if (bad.length)
        throw new OperationalError(
          `server "${t.server}": backup set ${opts.manifest.id} is damaged: ${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ` and ${bad.length - 3} more` : ''} no longer match${bad.length === 1 ? 'es' : ''} the sha256 recorded at backup time; nothing was stopped`,
          {
            server: t.server,
            hint: 'restore from another set (`dbps backups list`), or pass --no-verify-checksums to restore it anyway',
          },
        );
    }
  }

  // Enough room for the copy (and the unpacked archive) before anything is stopped: a copy-back that
  // runs out of space leaves a half-written datadir.
  for (const t of opts.targets) {
    progress({ server: t.server, phase: 'space' });
    await checkFreeSpace(t, entries.get(t.server)!);
  }

  const stamp = now()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  // The record and the new history come before the stop: a restore killed from here on is refused by
  // `up` and `status` (never started as if healthy) and finished by --resume or undone by --rollback.
  const records = new Map<string, RestoreRecord>();
  for (const t of opts.targets) {
    const record: RestoreRecord = {
      set: opts.manifest.id,
      root: path.dirname(opts.setDir),
      ...(opts.toTime ? { toTime: opts.toTime.toISOString() } : {}),
      phase: 'stop',
      movedAside: freeAsideName(`${t.datadir}.before-restore-${stamp}`),
      history: newHistoryId(now()),
      ...(t.history ? { previousHistory: t.history } : {}),
      stoppedAt: now().toISOString(),
      wasRunning: await opts.control.running(t.server),
      pid: process.pid,
    };
    records.set(t.server, record);
    await opts.control.update(t.server, (x) => {
      x.restore = record;
      x.history = record.history;
    });
  }
  // Every server at once through the fleet fan-out (one outcome each, failures classified once); a
  // server that fails rolls itself back, and the others are still finished.
  const outcomes = await fanOutJobs(
    opts.targets.map((t) => ({ server: t.server, label: t.server })),
    async (index) => {
      const t = opts.targets[index]!;
      const e = entries.get(t.server)!;
      const record = records.get(t.server)!;
      try {
        progress({ server: t.server, phase: 'stop' });
        await opts.control.stop(t.server);
        killHere('restore:stop');
        record.stoppedAt = now().toISOString();
        record.phase = 'copy-back';
        await opts.control.update(t.server, (x) => {
          x.restore = record;
        });
        await rename(t.datadir, record.movedAside);
        const plan = plans.get(t.server);
        // The live binlogs were read from the datadir before it moved; read them where it is now.
        if (plan) for (const f of plan.files) if (f.source === 'datadir') f.path = path.join(record.movedAside, f.file);
        return await finishOne(t, e, record, plan, opts, progress);
      } catch (err) {
        throw await rollBackAfter(t, record, opts.control, err, progress);
      }
    },
    {},
  );
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length === 1) throw failed[0]!.error;
  if (failed.length > 1) {
    const first = failed[0]!.error;
    throw new OperationalError(
      `restore failed on ${failed.length} servers, each rolled back: ${failed.map((f) => `${f.server}: ${f.failure.message}`).join('; ')}`,
      {
        hint:
          first instanceof DbpsError && first.hint
            ? first.hint
            : 'see each server above; rerun the restore once they are fixed',
        cause: first,
      },
    );
  }
  return outcomes.map((o) => (o as Extract<typeof o, { ok: true }>).value);
}

/** Copy-back, start, replay and check of one server whose datadir is moved aside and whose record is written. */
async function finishOne(
  t: RestoreTarget,
  e: ServerBackup,
  record: RestoreRecord,
  plan: ReplayPlan | undefined,
  opts: { setDir: string; workRoot: string; control: ServerControl },
  progress: (p: RestoreProgress) => void,
): Promise<RestoreServerResult> {
  const phase = async (p: RestoreRecord['phase']) => {
    record.phase = p;
    await opts.control.update(t.server, (x) => {
      if (x.restore) x.restore.phase = p;
    });
  };
  progress({ server: t.server, phase: 'copy-back' });
  await rm(t.datadir, { recursive: true, force: true });
  await mkdir(t.datadir, { recursive: true, mode: 0o700 });
  killHere('restore:copy-back');
  await copyBack(t, path.join(opts.setDir, e.path!), e.prepared, opts.workRoot);
  await phase('start');
  killHere('restore:start');
  progress({ server: t.server, phase: 'start' });
  await opts.control.start(t.server);
  await resetGtidState(t, e.binlog?.gtid);
  const result: RestoreServerResult = {
    server: t.server,
    movedAside: record.movedAside,
    history: record.history,
    ...(e.binlog?.gtid ? { gtid: e.binlog.gtid } : {}),
  };
  if (plan) {
    await phase('replay');
    killHere('restore:replay');
    progress({
      server: t.server,
      phase: 'replay',
      message: `${plan.files.length} binlog file(s) up to ${plan.stopDatetimeUtc} UTC`,
    });
    await replay(t, plan);
    result.replay = {
      files: plan.files.map((f) => `${f.file} (${f.source})`),
      from: `${plan.startFile}:${plan.startPosition}`,
      until: `${plan.stopDatetimeUtc}Z`,
    };
  }
  await phase('check');
  progress({ server: t.server, phase: 'check' });
  result.gtid = await checkServer(t);
  killHere('restore:done');
  await opts.control.update(t.server, (x) => {
    delete x.restore;
    x.movedAside = [
      ...(x.movedAside ?? []),
      {
        dir: record.movedAside,
        ...(record.previousHistory ? { history: record.previousHistory } : {}),
        until: record.stoppedAt,
      },
    ];
  });
  progress({ server: t.server, phase: 'done' });
  return result;
}

/**
 * Puts the moved-aside datadir back after a failed restore and starts the server on it again; returns
 * the error to report (the original one, saying that it was rolled back, or why the rollback failed too).
 */
async function rollBackAfter(
  t: RestoreTarget,
  record: RestoreRecord,
  control: ServerControl,
  err: unknown,
  progress: (p: RestoreProgress) => void,
): Promise<DbpsError> {
  const why = err instanceof Error ? err.message : String(err);
  progress({ server: t.server, phase: 'rollback', message: why });
  try {
    await rollBack(t, record, control);
  } catch (e) {
    return new OperationalError(
      `server "${t.server}": restore failed (${why}) and putting the previous datadir back failed too (${(e as Error).message})`,
      {
        server: t.server,
        hint: `fix that, then run \`dbps restore --rollback\` (the previous datadir is ${record.movedAside})`,
      },
    );
  }
  return new OperationalError(
    `server "${t.server}": restore from set ${record.set} failed (${why}); rolled back: the server has its previous data again`,
    {
      server: t.server,
      ...(err instanceof DbpsError && err.hint ? { hint: err.hint } : {}),
    },
  );
}

/**
 * A moved-aside name no earlier restore used: two restores within one second (a --resume and the next
 * restore) would otherwise aim at the same directory, and the rename fails with ENOTEMPTY.
 */
function freeAsideName(wanted: string): string {
  if (!existsSync(wanted)) return wanted;
  for (let n = 2; ; n++) if (!existsSync(`${wanted}-${n}`)) return `${wanted}-${n}`;
}

/** Undoes a restore: stops the server, puts the moved-aside datadir back, restores its history, starts it if it ran. */
export async function rollBack(t: RestoreTarget, record: RestoreRecord, control: ServerControl): Promise<void> {
  await control.stop(t.server);
  if (existsSync(record.movedAside)) {
    await rm(t.datadir, { recursive: true, force: true });
    await rename(record.movedAside, t.datadir);
  } else if (!existsSync(path.join(t.datadir, 'mysql'))) {
    throw new OperationalError(`server "${t.server}": the previous datadir ${record.movedAside} is gone`, {
      server: t.server,
      hint: 'finish the restore with `dbps restore --resume` instead',
    });
  }
  await control.update(t.server, (x) => {
    delete x.restore;
    if (record.previousHistory) x.history = record.previousHistory;
    else delete x.history;
  });
  if (record.wasRunning) await control.start(t.server);
}

/** Finishes an interrupted restore from its record: a fresh copy-back of the same set, start, the same replay, check. */
export async function resumeRestore(opts: {
  target: RestoreTarget;
  record: RestoreRecord;
  setDir: string;
  manifest: BackupManifest;
  sets: ListedSet[];
  control: ServerControl;
  workRoot: string;
  onProgress?: (p: RestoreProgress) => void;
}): Promise<RestoreServerResult> {
  const { target: t, record } = opts;
  const progress = (p: RestoreProgress) => opts.onProgress?.(p);
  const e = opts.manifest.servers.find((x) => x.server === t.server);
  if (e?.status !== 'ok' || !e.path)
    throw new OperationalError(`server "${t.server}": backup set ${record.set} no longer holds a usable backup of it`, {
      server: t.server,
      hint: 'run `dbps restore --rollback` to put the previous datadir back',
    });
  let plan: ReplayPlan | undefined;
  if (record.toTime) {
    // The binlogs that were live before the restore are in the moved-aside datadir, of the previous history.
    const candidates = await binlogCandidates({
      setId: record.set,
      sets: opts.sets,
      backupRoot: record.root,
      server: t.server,
      ...(e.binlogBase ? { base: e.binlogBase } : {}),
      datadir: existsSync(record.movedAside) ? record.movedAside : t.datadir,
      ...(record.previousHistory ? { liveHistory: record.previousHistory } : {}),
      liveCoveredUntil: new Date(record.stoppedAt),
      ...(t.movedAside ? { movedAside: t.movedAside } : {}),
    });
    const outcome = planReplay(
      t.server,
      e.binlog,
      new Date(e.copyEndedAt ?? e.endedAt),
      candidates,
      new Date(record.toTime),
      e.history,
    );
    if (!outcome.ok)
      throw new OperationalError(outcome.reason, {
        server: t.server,
        hint: 'run `dbps restore --rollback` to put the previous datadir back',
      });
    await refuseForks(t.server, outcome.plan, candidates);
    plan = outcome.plan;
  }
  progress({ server: t.server, phase: 'stop' });
  await opts.control.stop(t.server);
  if (!existsSync(record.movedAside)) {
    // Killed before the datadir moved: it is still the previous one, intact. Move it aside now.
    record.stoppedAt = new Date().toISOString();
    if (existsSync(t.datadir)) await rename(t.datadir, record.movedAside);
    if (plan) for (const f of plan.files) if (f.source === 'datadir') f.path = path.join(record.movedAside, f.file);
  }
  return finishOne(t, e, record, plan, opts, progress);
}

/**
 * Two binlog files of one name and one history must be one file (an archived copy is a prefix of the
 * live one). Different contents mean the history forked (a server ran on a datadir that kept an old
 * history id), and replaying either would build a state that never existed.
 */
async function refuseForks(server: string, plan: ReplayPlan, candidates: BinlogCandidate[]): Promise<void> {
  for (const f of plan.files) {
    for (const c of candidates) {
      if (c === f || c.file !== f.file || c.history !== f.history || c.path === f.path) continue;
      if (!(await samePrefix(f.path, c.path)))
        throw new OperationalError(
          `server "${server}": binlog ${f.file} of history ${f.history ?? 'untagged'} exists twice with different contents, ${f.path} (${f.source}) and ${c.path} (${c.source}): the binlog history forked, so neither is replayed; nothing was stopped`,
          {
            server,
            hint: 'restore without --to-time, or to a time covered by a set taken after the fork (`dbps backups list`)',
          },
        );
    }
  }
}

/** True when the shorter file is a prefix of the longer one. */
async function samePrefix(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  if (!sa || !sb) return true;
  const n = Math.min(sa.size, sb.size);
  if (n === 0) return true;
  const [ha, hb] = await Promise.all([a, b].map((f) => prefixHash(f, n)));
  return ha === hb;
}

function prefixHash(file: string, bytes: number): Promise<string> {
  // A copy streamed from the server while the file was open differs from the file itself only in
  // the "in use" flag of its format description event: those bytes are left out of the comparison.
  const [skipFrom, skipTo] = VOLATILE_HEADER_BYTES;
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let offset = 0;
    createReadStream(file, { start: 0, end: bytes - 1 })
      .on('data', (d) => {
        const chunk = Buffer.from(d as Buffer);
        for (let i = Math.max(skipFrom, offset); i < Math.min(skipTo, offset + chunk.length); i++)
          chunk[i - offset] = 0;
        offset += chunk.length;
        h.update(chunk);
      })
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Refuses, before anything is stopped, a restore whose copy would not fit on the datadir's file system. */
async function checkFreeSpace(t: RestoreTarget, e: ServerBackup): Promise<void> {
  if (!e.sizeBytes) return;
  // A compressed or unprepared backup is first unpacked or copied into the work dir, then copied back.
  const factor = e.path?.endsWith('.tar.zst') ? 4 : e.prepared ? 1 : 2;
  const need = e.sizeBytes * factor + 64 * 1024 * 1024;
  let free: number;
  try {
    const fs = await statfs(path.dirname(t.datadir));
    free = Number(fs.bavail) * Number(fs.bsize);
  } catch {
    return;
  }
  if (free < need)
    throw new OperationalError(
      `server "${t.server}": restoring needs about ${Math.ceil(need / 1048576)} MiB free on the file system of ${path.dirname(t.datadir)}, which has ${Math.floor(free / 1048576)} MiB; nothing was stopped`,
      {
        server: t.server,
        hint: 'free some space (old `.before-restore-*` datadirs, `dbps backups prune`), then run the restore again',
      },
    );
}

async function copyBack(t: RestoreTarget, src: string, prepared: boolean, workRoot: string): Promise<void> {
  await mkdir(workRoot, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(path.join(workRoot, `restore-${t.server}-`));
  // A killed dbps leaves this copy of the backup behind: the next start removes it (as verify's).
  trackScratchDir(work);
  try {
    let dir = src;
    if (src.endsWith('.tar.zst') || !prepared) {
      dir = path.join(work, 'backup');
      if (src.endsWith('.tar.zst')) {
        await mkdir(dir);
        const x = await runTool('sh', [
          '-c',
          'zstd -q -d -c "$1" | tar -C "$2" --strip-components=1 -xf -',
          'sh',
          src,
          dir,
        ]);
        if (x.code !== 0)
          throw new OperationalError(`server "${t.server}": cannot unpack ${src}: ${lastErrorLine(x.stderrTail)}`, {
            server: t.server,
          });
      } else {
        await cp(src, dir, { recursive: true });
      }
      if (!prepared) {
        const p = await runTool('mariadb-backup', ['--prepare', `--target-dir=${dir}`, '--use-memory=128M']);
        if (p.code !== 0)
          throw new OperationalError(
            `server "${t.server}": mariadb-backup --prepare failed: ${lastErrorLine(p.stderrTail)}`,
            { server: t.server },
          );
      }
    }
    await mkdir(t.datadir, { recursive: true, mode: 0o700 });
    const r = await runTool('mariadb-backup', [
      t.cnf ? `--defaults-file=${t.cnf}` : '--no-defaults',
      '--copy-back',
      `--target-dir=${dir}`,
      `--datadir=${t.datadir}`,
    ]);
    if (r.code !== 0) {
      throw new OperationalError(
        `server "${t.server}": mariadb-backup --copy-back failed: ${lastErrorLine(r.stderrTail)}`,
        {
          server: t.server,
          hint: `the previous datadir is untouched beside ${t.datadir} (.before-restore-*)`,
        },
      );
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    untrackScratchDir(work);
  }
}

async function adminSession(t: RestoreTarget): Promise<AdminSession> {
  const { connectAdmin } = await import('../runtime/admin.js');
  return connectAdmin({
    server: t.server,
    socketPath: t.socket,
    user: t.adminUser,
    connectTimeout: t.timeouts?.connectMs ?? 10_000,
    ...(t.timeouts ? { statementTimeout: t.timeouts.statementMs } : {}),
  });
}

/**
 * A restored datadir starts with an empty binlog, so the server would hand out GTID sequence
 * numbers again from 1; seeding gtid_binlog_state with the backup's GTID keeps them increasing.
 */
async function resetGtidState(t: RestoreTarget, gtid: string | undefined): Promise<void> {
  if (!gtid) return;
  const c = await adminSession(t);
  try {
    const logBin = await c.query<{ b: number }>('SELECT @@log_bin AS b');
    if (Number(logBin[0]?.b) !== 1) return;
    await c.query('RESET MASTER');
    await c.query('SET GLOBAL gtid_binlog_state = ?', [gtid]);
  } finally {
    await c.close();
  }
}

async function checkServer(t: RestoreTarget): Promise<string | undefined> {
  let c: AdminSession;
  try {
    c = await adminSession(t);
  } catch (e) {
    throw new OperationalError(`server "${t.server}" does not answer after the restore (${(e as Error).message})`, {
      server: t.server,
    });
  }
  try {
    const rows = await c.query<{ g: string }>('SELECT @@gtid_binlog_pos AS g');
    return rows[0]?.g || undefined;
  } finally {
    await c.close();
  }
}

/** mariadb-binlog (TZ=UTC so --stop-datetime means UTC) piped into the mariadb client as admin. */
function replay(t: RestoreTarget, plan: ReplayPlan): Promise<void> {
  return replayPlan(
    t.server,
    plan,
    { user: t.adminUser, socket: t.socket },
    t.timeouts ? { statementTimeoutMs: t.timeouts.statementMs } : {},
  );
}

/**
 * Runs a replay plan into a server as `target` (an admin: the events set GTIDs and server ids).
 * `rewriteDb` maps database names of the events to others (mariadb-binlog --rewrite-db), and
 * `database` keeps the events of one database only.
 */
export async function replayPlan(
  server: string,
  plan: ReplayPlan,
  target: Credentials,
  opts: {
    rewriteDb?: Record<string, string>;
    database?: string;
    skipBinlog?: boolean;
    /** The client must read or write something within this (a server that stopped answering): --timeout. */
    statementTimeoutMs?: number;
  } = {},
): Promise<void> {
  const t = { server };
  const extra = [
    ...Object.entries(opts.rewriteDb ?? {}).map(([from, to]) => `--rewrite-db=${from}->${to}`),
    ...(opts.database ? [`--database=${opts.database}`] : []),
  ];
  // Replayed into a server that keeps running (a logical restore), the events must not be logged again
  // under their original GTIDs: the server's own GTID sequence would go backwards.
  const cred = await writeDefaultsFile(
    defaultsFileText(
      target,
      ['client'],
      undefined,
      opts.skipBinlog ? [['init-command', 'SET SESSION sql_log_bin=0']] : [],
    ),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const env = toolEnv({ TZ: 'UTC' });
      const reader = spawn(
        'mariadb-binlog',
        [
          '--no-defaults',
          `--start-position=${plan.startPosition}`,
          `--stop-datetime=${plan.stopDatetimeUtc}`,
          ...extra,
          ...plan.files.map((f) => f.path),
        ],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const client = spawn('mariadb', [`--defaults-file=${cred.path}`, '--binary-mode', '--batch'], {
        env,
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let readerErr = '';
      let clientErr = '';
      reader.stderr.on('data', (d: Buffer) => (readerErr = (readerErr + d.toString()).slice(-4096)));
      client.stderr.on('data', (d: Buffer) => (clientErr = (clientErr + d.toString()).slice(-4096)));
      reader.stdout.pipe(client.stdin);
      client.stdin.on('error', () => undefined);
      // Bounded like a dump's load: the client reads the events and writes them to the server, so a
      // client that does neither for the statement bound waits on a server that stopped answering.
      const stall = watchStall(client.pid, opts.statementTimeoutMs, () => {
        client.kill('SIGKILL');
        reader.kill('SIGKILL');
      });
      let readerCode: number | null = null;
      let pending = 2;
      const fail = (what: string) =>
        reject(
          new OperationalError(`server "${t.server}": replaying binlogs failed: ${what}`, {
            server: t.server,
            hint: 'the restored data is at the backup point; the previous datadir is kept beside it',
          }),
        );
      reader.on('error', (e) => fail(`cannot run mariadb-binlog (${e.message})`));
      client.on('error', (e) => fail(`cannot run mariadb (${e.message})`));
      const done = () => {
        if (--pending > 0) return;
        if (readerCode !== 0) return fail(`mariadb-binlog: ${lastErrorLine(readerErr)}`);
        resolve();
      };
      reader.on('close', (code) => {
        readerCode = code;
        done();
      });
      client.on('close', (code) => {
        stall.stop();
        if (stall.stalled)
          return reject(
            new ServerTimeoutError(
              server,
              'statement',
              opts.statementTimeoutMs!,
              'the mariadb client replaying binlogs',
            ),
          );
        if (code !== 0) return fail(`mariadb: ${lastErrorLine(clientErr)}`);
        done();
      });
    });
  } finally {
    await cred.remove();
  }
}
