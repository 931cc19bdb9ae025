// .dbps/state.json: what dbps knows about the local servers it runs (ports, paths, admin user).
// Written atomically; the only file under the state dir that several commands share.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { OperationalError } from '../errors.js';
import type { MoveRecord } from '../fleet/moves.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { serverFiles } from './paths.js';

export interface LocalServerState {
  port: number;
  /** Directory holding everything of this server (datadir, socket, pid file, logs, my.cnf). */
  dir: string;
  datadir: string;
  socket: string;
  pidFile: string;
  logError: string;
  cnf: string;
  /** Database user that authenticates over the socket with unix_socket (the OS user who ran `up`). */
  adminUser: string;
  /** mariadbd version the datadir was created with. */
  version?: string;
  /** Temporary directory of the server (inside `dir`). */
  tmpdir?: string;
  /** Short directory holding the socket when `dir` is too deep for a Unix socket path; removed by `down --destroy`. */
  socketDir?: string;
  /** Pid of the last start, a fallback when the pid file is gone. */
  pid?: number;
  /** `running` after `up`, `stopped` after `down`: status exits 3 when a server that should run does not. */
  wanted?: 'running' | 'stopped';
  /** ISO time of the last successful start. */
  startedAt?: string;
  /** --memory-scale of the last start: settings drift is measured against the my.cnf of that scale. */
  memoryScale?: number;
  /**
   * Id of the datadir's binary-log history: binlog names restart at every restore, so backups and
   * archived binlogs carry this id and point-in-time replay chains only files of one history.
   * Set by `dbps backup` when missing and renewed by `dbps restore`.
   */
  history?: string;
  /**
   * Present while a restore of this server is unfinished: written before the datadir is moved aside and
   * removed when the restored server has been checked (or rolled back). `up` and `status` refuse the
   * server while it is here; `dbps restore --resume` / `--rollback` finish it.
   */
  restore?: RestoreRecord;
  /** Datadirs earlier restores moved aside, with the binlog history their binlogs belong to (point-in-time replay reads them). */
  movedAside?: MovedAside[];
}

/** A restore in progress, as recorded in state.json. */
export interface RestoreRecord {
  /** Backup set id and its root directory (--dest). */
  set: string;
  root: string;
  toTime?: string;
  phase: 'stop' | 'copy-back' | 'start' | 'replay' | 'check';
  /** Where the previous datadir was moved. */
  movedAside: string;
  /** The history the restored datadir begins, and the one of the datadir moved aside. */
  history: string;
  previousHistory?: string;
  /** When the server was stopped: the moved-aside binlogs cover everything before this moment. */
  stoppedAt: string;
  /** Whether the server ran before the restore stopped it (a rollback starts it again). */
  wasRunning: boolean;
  pid: number;
}

/** A datadir moved aside by a restore. */
export interface MovedAside {
  dir: string;
  history?: string;
  /** Every binlog event in it happened before this moment. */
  until: string;
}

export interface FleetState {
  version: 1;
  servers: Record<string, LocalServerState>;
  /** Services being moved (`dbps move`), or moved with their old copy kept until `dbps move --finish`. */
  moves?: Record<string, MoveRecord>;
}

export function statePath(stateDir: string): string {
  return path.join(stateDir, 'state.json');
}

/** Reads state.json; a missing file is an empty state. */
export async function readState(stateDir: string): Promise<FleetState> {
  let text: string;
  let parsed: FleetState;
  try {
    text = await readFile(statePath(stateDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, servers: {} };
    throw new OperationalError(`cannot read ${statePath(stateDir)}: ${(e as Error).message}`);
  }
  try {
    parsed = JSON.parse(text) as FleetState;
    if (parsed.version !== 1 || typeof parsed.servers !== 'object') throw new Error('unexpected shape');
  } catch (e) {
    throw new OperationalError(`${statePath(stateDir)} is damaged (${(e as Error).message})`, {
      hint: 'move it aside; `dbps up` rebuilds it from the server directories',
    });
  }
  for (const [name, entry] of Object.entries(parsed.servers)) checkEntryPaths(stateDir, name, entry);
  return parsed;
}

/**
 * Every path of a server entry must be the one this state dir gives it: a project copied with `cp -a`
 * (or a hand-edited state.json) would otherwise stop, restore or back up another project's servers.
 */
function checkEntryPaths(stateDir: string, name: string, entry: LocalServerState): void {
  const want = serverFiles(stateDir, name);
  // The socket is not compared: where it lives may change between dbps versions (short-path directories),
  // while every other path lies under the server's directory, which a copied project cannot share.
  const inside = (p: string) => p === want.dir || p.startsWith(`${want.dir}${path.sep}`);
  const wrong: [string, string | undefined][] = [
    ['dir', entry.dir === want.dir ? undefined : entry.dir],
    ['datadir', entry.datadir === want.datadir ? undefined : entry.datadir],
    ['pidFile', entry.pidFile === want.pidFile ? undefined : entry.pidFile],
    ['cnf', entry.cnf === want.cnf ? undefined : entry.cnf],
    ['logError', entry.logError === want.logError ? undefined : entry.logError],
    ['tmpdir', entry.tmpdir === undefined || entry.tmpdir === want.tmpdir ? undefined : entry.tmpdir],
    ['restore.movedAside', entry.restore && !inside(entry.restore.movedAside) ? entry.restore.movedAside : undefined],
    ...(entry.movedAside ?? []).map((a): [string, string | undefined] => [
      'movedAside',
      inside(a.dir) ? undefined : a.dir,
    ]),
  ];
  const bad = wrong.find(([, v]) => v !== undefined);
  if (bad)
    throw new OperationalError(
      `${statePath(stateDir)}: server "${name}" has ${bad[0]} ${bad[1]}, outside this state dir (expected under ${want.dir}); this project was probably copied or moved, and dbps will not act on another project's servers`,
      {
        hint: `stop the servers where the project was first started (\`dbps down\` there), then move ${statePath(stateDir)} aside here and run \`dbps up\``,
      },
    );
}

/**
 * Re-reads state.json, applies a change and writes it back, so keys written by other commands since
 * our read are kept (several servers' outcomes land one after another during a parallel `up`).
 */
export function updateState(stateDir: string, change: (state: FleetState) => void): Promise<FleetState> {
  // Serialised within this process: parallel read-modify-write cycles would lose each other's changes.
  const next = stateUpdates.then(async () => {
    const state = await readState(stateDir);
    change(state);
    await writeState(stateDir, state);
    return state;
  });
  stateUpdates = next.catch(() => undefined);
  return next;
}

let stateUpdates: Promise<unknown> = Promise.resolve();

/** Writes state.json atomically (temp file + rename). */
export async function writeState(stateDir: string, state: FleetState): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(statePath(stateDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
