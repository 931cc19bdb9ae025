// Restores servers from a backup set: stop, move the datadir aside (never deleted), copy the
// prepared backup back, start, and with a target time replay the binlogs from the backup's
// position up to that moment, so every selected server ends at one common point in time.
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { OperationalError } from '../errors.js';
import { splitBinlogName } from './binlog-info.js';
import { sha256File } from './files.js';
import { type BackupManifest, type ListedSet, newHistoryId, type ServerBackup } from './manifest.js';
import { type BinlogCandidate, planReplay, type ReplayPlan } from './pitr.js';
import { defaultsFileText, lastErrorLine, runTool, toolEnv, writeDefaultsFile } from './proc.js';
import { changedBackupFiles } from './verify.js';

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
}

/** Stops and starts servers; the command wires it to the runtime driver. */
export interface ServerControl {
  stop(server: string): Promise<void>;
  start(server: string): Promise<void>;
  /** Records the restored datadir's new binlog history (state.json), before it starts writing binlogs. */
  setHistory(server: string, history: string): Promise<void>;
}

export interface RestoreServerResult {
  server: string;
  /** Where the previous datadir now lives. */
  movedAside: string;
  /** The binlog history the restored server begins. */
  history: string;
  gtid?: string;
  replay?: { files: string[]; from: string; until: string };
}

export interface RestoreProgress {
  server: string;
  phase: 'plan' | 'checksums' | 'stop' | 'copy-back' | 'start' | 'replay' | 'check' | 'done';
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

/** Archived binlogs of `server` from the chosen set and every later one, then the files in `datadir`. */
export async function binlogCandidates(opts: {
  setId: string;
  sets: ListedSet[];
  server: string;
  base?: string;
  datadir: string;
  /** The binlog history of the files in `datadir`. */
  liveHistory?: string;
  liveCoveredUntil: Date;
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
  if (opts.base) {
    let names: string[] = [];
    try {
      names = await readdir(opts.datadir);
    } catch {
      names = [];
    }
    for (const n of names.sort()) {
      if (splitBinlogName(n)?.base === opts.base) {
        out.push({
          file: n,
          path: path.join(opts.datadir, n),
          source: 'datadir',
          coveredUntil: opts.liveCoveredUntil,
          ...(opts.liveHistory ? { history: opts.liveHistory } : {}),
        });
      }
    }
  }
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
        server: t.server,
        ...(e.binlogBase ? { base: e.binlogBase } : {}),
        datadir: t.datadir,
        ...(t.history ? { liveHistory: t.history } : {}),
        liveCoveredUntil: planTime,
      });
      const outcome = planReplay(
        t.server,
        e.binlog,
        new Date(e.copyEndedAt ?? e.endedAt),
        candidates,
        opts.toTime,
        e.history,
      );
      if (!outcome.ok)
        throw new OperationalError(outcome.reason, {
          server: t.server,
          hint: 'pick a time the archived binlogs cover, or a set taken before that time',
        });
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

  const stamp = now()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const results: RestoreServerResult[] = [];
  await Promise.all(
    opts.targets.map(async (t) => {
      progress({ server: t.server, phase: 'stop' });
      await opts.control.stop(t.server);
    }),
  );
  await Promise.all(
    opts.targets.map(async (t) => {
      const e = entries.get(t.server)!;
      const aside = `${t.datadir}.before-restore-${stamp}`;
      await rename(t.datadir, aside);
      progress({ server: t.server, phase: 'copy-back' });
      await copyBack(t, path.join(opts.setDir, e.path!), e.prepared, opts.workRoot);
      // The restored datadir begins a new binlog history (its binlog names restart), recorded before
      // the server writes its first binlog so no later backup mixes it with the one moved aside.
      const history = newHistoryId(now());
      await opts.control.setHistory(t.server, history);
      progress({ server: t.server, phase: 'start' });
      await opts.control.start(t.server);
      await resetGtidState(t, e.binlog?.gtid);
      const result: RestoreServerResult = {
        server: t.server,
        movedAside: aside,
        history,
        ...(e.binlog?.gtid ? { gtid: e.binlog.gtid } : {}),
      };
      const plan = plans.get(t.server);
      if (plan) {
        // The live binlogs were read from the datadir before it moved; read them where it is now.
        for (const f of plan.files) if (f.source === 'datadir') f.path = path.join(aside, f.file);
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
      progress({ server: t.server, phase: 'check' });
      result.gtid = await checkServer(t);
      progress({ server: t.server, phase: 'done' });
      results.push(result);
    }),
  );
  return opts.targets.map((t) => results.find((r) => r.server === t.server)!);
}

async function copyBack(t: RestoreTarget, src: string, prepared: boolean, workRoot: string): Promise<void> {
  await mkdir(workRoot, { recursive: true });
  const work = await mkdtemp(path.join(workRoot, `restore-${t.server}-`));
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
  }
}

async function adminSession(t: RestoreTarget) {
  const { createConnection } = await import('mariadb');
  return createConnection({ socketPath: t.socket, user: t.adminUser, connectTimeout: 10_000 });
}

/**
 * A restored datadir starts with an empty binlog, so the server would hand out GTID sequence
 * numbers again from 1; seeding gtid_binlog_state with the backup's GTID keeps them increasing.
 */
async function resetGtidState(t: RestoreTarget, gtid: string | undefined): Promise<void> {
  if (!gtid) return;
  const c = await adminSession(t);
  try {
    const logBin = (await c.query('SELECT @@log_bin AS b')) as { b: number }[];
    if (Number(logBin[0]?.b) !== 1) return;
    await c.query('RESET MASTER');
    await c.query('SET GLOBAL gtid_binlog_state = ?', [gtid]);
  } finally {
    await c.end().catch(() => c.destroy());
  }
}

async function checkServer(t: RestoreTarget): Promise<string | undefined> {
  let c: import('mariadb').Connection;
  try {
    c = await adminSession(t);
  } catch (e) {
    throw new OperationalError(`server "${t.server}" does not answer after the restore (${(e as Error).message})`, {
      server: t.server,
    });
  }
  try {
    const rows = (await c.query('SELECT @@gtid_binlog_pos AS g')) as { g: string }[];
    return rows[0]?.g || undefined;
  } finally {
    await c.end().catch(() => c!.destroy());
  }
}

/** mariadb-binlog (TZ=UTC so --stop-datetime means UTC) piped into the mariadb client as admin. */
async function replay(t: RestoreTarget, plan: ReplayPlan): Promise<void> {
  const cred = await writeDefaultsFile(defaultsFileText({ user: t.adminUser, socket: t.socket }, ['client']));
  try {
    await new Promise<void>((resolve, reject) => {
      const env = toolEnv({ TZ: 'UTC' });
      const reader = spawn(
        'mariadb-binlog',
        [
          '--no-defaults',
          `--start-position=${plan.startPosition}`,
          `--stop-datetime=${plan.stopDatetimeUtc}`,
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
        if (code !== 0) return fail(`mariadb: ${lastErrorLine(clientErr)}`);
        done();
      });
    });
  } finally {
    await cred.remove();
  }
}
