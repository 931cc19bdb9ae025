// The local driver: one mariadbd process per server on this machine, everything under
// <stateDir>/servers/<name>/, started detached so it outlives dbps, administered over its socket.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, cp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { OperationalError } from '../errors.js';
import type { FleetServer } from '../fleet/model.js';
import { driftRemedy, localSized, type SettingDrift } from '../mycnf/drift.js';
import { renderMyCnf } from '../mycnf/render.js';
import { someNames } from '../util/suggest.js';
import { parseVersion, type ServerVersion } from '../util/version.js';
import { type AdminSession, connectAdmin } from './admin.js';
import { mariadbdVersion, requireBinary } from './binaries.js';
import type { Driver, DriverContext, ServerProbe, StartAction, StartOutcome, StopOutcome } from './driver.js';
import { readHealth } from './health.js';
import { ensureServerCert } from './local-certs.js';
import { type ServerFiles, serverFiles } from './paths.js';
import { portFree } from './ports.js';
import {
  isServerProcess,
  processAlive,
  processStopped,
  readPidFile,
  signal,
  sleep,
  spawnDetached,
  tailFile,
  waitForExit,
} from './process.js';
import { diesWithParent, privateDir, trackChild, untrackChild } from './run-dir.js';
import { chownTree, openPathTo, type ServerUser, serverUser } from './server-user.js';
import { applyDynamicSettings, readSettingsDrift, recordedMemoryScale } from './settings.js';
import { type LocalServerState, readState, updateState } from './state.js';
import { readTlsStatus } from './tls-status.js';

const execFileAsync = promisify(execFile);
const BIND_ADDRESS = '127.0.0.1';

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** mariadb-install-db's bootstrap (no network, seconds long) as root needs this; as anyone else it runs as that user. */
function userArgs(): string[] {
  return isRoot() ? ['--user=root'] : [];
}

/**
 * The database account that reaches the server over its socket with unix_socket authentication:
 * mariadb-install-db creates root@localhost for root and <user>@localhost for anyone else.
 */
export function socketAdminUser(): string {
  return isRoot() ? 'root' : os.userInfo().username;
}

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** The pid of this server's mariadbd when one runs (pid file first, then the recorded pid). */
async function runningPid(files: ServerFiles, entry: LocalServerState | undefined): Promise<number | undefined> {
  for (const pid of [await readPidFile(files.pidFile), entry?.pid]) {
    if (pid && isServerProcess(pid, files.cnf)) return pid;
  }
  return undefined;
}

/** The pid of a local server's running mariadbd, or undefined (doctor: a port held by our own server is fine). */
export function localServerPid(
  stateDir: string,
  name: string,
  entry: LocalServerState | undefined,
): Promise<number | undefined> {
  return runningPid(serverFiles(stateDir, name), entry);
}

/** An admin session over the socket, or undefined when the server does not answer (yet). */
async function trySocket(
  server: string,
  socket: string,
  user: string,
  connectTimeout = 5000,
  statementTimeout?: number,
): Promise<AdminSession | undefined> {
  if (!existsSync(socket)) return undefined;
  try {
    return await connectAdmin({
      server,
      socketPath: socket,
      user,
      connectTimeout,
      ...(statementTimeout ? { statementTimeout } : {}),
    });
  } catch {
    return undefined;
  }
}

async function answers(server: string, socket: string, user: string): Promise<boolean> {
  const session = await trySocket(server, socket, user);
  if (!session) return false;
  await session.close();
  return true;
}

async function logTail(files: ServerFiles): Promise<string> {
  const lines = await tailFile(files.logError, 8);
  return lines.length ? `; last lines of ${files.logError}:\n  ${lines.join('\n  ')}` : `; ${files.logError} is empty`;
}

/** Removes what a killed server leaves behind (pid file, socket and its lock) so the next start is not refused. */
async function clearLeftovers(files: ServerFiles): Promise<void> {
  await Promise.all([files.pidFile, files.socket, `${files.socket}.lock`].map((f) => rm(f, { force: true })));
}

/**
 * The short socket directory in /tmp has a predictable name, so another local user could create it
 * first and put a fake server behind the socket: it is made exclusively (0700, never through a
 * symlink) and refused unless it is a directory of this user that nobody else can enter.
 */
async function claimSocketDir(server: string, dir: string, runAs: ServerUser | undefined): Promise<void> {
  try {
    privateDir(dir, runAs?.uid);
  } catch (e) {
    if (!(e instanceof OperationalError)) throw e;
    throw new OperationalError(`server "${server}": socket directory ${e.message}`, {
      server,
      hint: `remove ${dir} (find out who made it: \`ls -ld ${dir}\`), or use a shorter state dir path (--state-dir) so the socket stays under it`,
      cause: e,
    });
  }
  if (runAs) await chown(dir, runAs.uid, runAs.gid);
}

/** Where the pristine datadir for one mariadbd version is kept (shared by every server of the state dir). */
export function templateDir(stateDir: string, version: ServerVersion): string {
  return path.join(path.resolve(stateDir), 'templates', version.text.replace(/[^0-9A-Za-z.+-]/g, '_'));
}

const templates = new Map<string, Promise<string>>();

/** After `down --destroy` left no server, the pristine datadirs go too: nothing of the fleet stays behind. */
export async function removeTemplatesIfUnused(stateDir: string): Promise<void> {
  const state = await readState(stateDir);
  if (Object.keys(state.servers).length === 0)
    await rm(path.join(path.resolve(stateDir), 'templates'), { recursive: true, force: true });
}

/**
 * A freshly bootstrapped datadir for this mariadbd version, made once per state dir and copied for each
 * new server: one mariadb-install-db instead of one per server keeps a cold `up` of many servers
 * close to the time of one. Built in a scratch directory and renamed into place only when complete.
 */
async function pristineDatadir(stateDir: string, version: ServerVersion, env: NodeJS.ProcessEnv): Promise<string> {
  const dir = templateDir(stateDir, version);
  const data = path.join(dir, 'data');
  if (existsSync(path.join(data, 'mysql'))) return data;
  let pending = templates.get(dir);
  if (!pending) {
    pending = bootstrapTemplate(dir, env).finally(() => templates.delete(dir));
    templates.set(dir, pending);
  }
  return pending;
}

async function bootstrapTemplate(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const installDb = requireBinary('mariadb-install-db', env);
  const partial = `${dir}.partial-${process.pid}`;
  const log = `${dir}.install.log`;
  // A bootstrap killed midway left its own partial copy: remove those of dead processes.
  const prefix = `${path.basename(dir)}.partial-`;
  for (const name of await readdir(path.dirname(dir)).catch(() => [] as string[])) {
    const pid = Number(name.slice(prefix.length));
    if (name.startsWith(prefix) && Number.isInteger(pid) && pid > 0 && !processAlive(pid))
      await rm(path.join(path.dirname(dir), name), { recursive: true, force: true });
  }
  await rm(partial, { recursive: true, force: true });
  await mkdir(path.join(partial, 'tmp'), { recursive: true, mode: 0o700 });
  try {
    // Its own process group (mariadb-install-db is a script that runs mariadbd --bootstrap), killed
    // as a whole by a fatal signal; pdeathsig ends the script when dbps is killed outright.
    const [file, argv] = diesWithParent(installDb, [
      // --no-defaults: /etc/mysql/my.cnf belongs to the machine's own MariaDB and must not leak in.
      '--no-defaults',
      ...userArgs(),
      `--datadir=${path.join(partial, 'data')}`,
      // A private --tmpdir: bootstraps running side by side trip over each other's temporary tables in /tmp.
      `--tmpdir=${path.join(partial, 'tmp')}`,
      // Small redo log: the template is copied per server, and each server resizes it to its profile at first start.
      '--innodb-log-file-size=8M',
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
      '--skip-name-resolve',
    ]);
    // `detached` is passed through to spawn; the typings of execFile omit it.
    const options = {
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...env, LC_ALL: 'C' },
      encoding: 'utf8' as const,
      detached: true,
    };
    const pending = execFileAsync(file, argv, options);
    trackChild(pending.child.pid, { group: true });
    const { stdout, stderr } = await pending.finally(() => untrackChild(pending.child.pid));
    await writeFile(log, `${stdout}${stderr}`, { mode: 0o600 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number | string };
    await writeFile(log, `${err.stdout ?? ''}${err.stderr ?? ''}`, { mode: 0o600 }).catch(() => undefined);
    await rm(partial, { recursive: true, force: true });
    const lines = await tailFile(log, 8);
    throw new OperationalError(
      `mariadb-install-db failed (exit ${err.code ?? '?'}); last lines of ${log}:\n  ${lines.join('\n  ')}`,
      {
        hint: `check that ${path.dirname(dir)} is writable, then run \`dbps up\` again`,
        cause: e,
      },
    );
  }
  await rm(path.join(partial, 'tmp'), { recursive: true, force: true });
  try {
    await rename(partial, dir);
  } catch {
    // Another dbps finished the same template first; theirs is as good as ours.
    await rm(partial, { recursive: true, force: true });
  }
  return path.join(dir, 'data');
}

/** Gives a new server its datadir: a copy of the version's pristine datadir, renamed into place when complete. */
async function initialiseDatadir(
  server: FleetServer,
  files: ServerFiles,
  stateDir: string,
  version: ServerVersion,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  let template: string;
  try {
    template = await pristineDatadir(stateDir, version, env);
  } catch (e) {
    if (e instanceof OperationalError)
      throw new OperationalError(`server "${server.name}": ${e.message}`, {
        server: server.name,
        ...(e.hint ? { hint: e.hint } : {}),
        cause: e,
      });
    throw e;
  }
  const partial = `${files.datadir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await cp(template, partial, { recursive: true });
  await rename(partial, files.datadir);
}

async function waitUntilReady(
  server: FleetServer,
  files: ServerFiles,
  adminUser: string,
  exited: () => boolean,
  pidAlive: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await answers(server.name, files.socket, adminUser)) return;
    if (exited() || !pidAlive()) {
      throw new OperationalError(`server "${server.name}": mariadbd exited during start-up${await logTail(files)}`, {
        server: server.name,
        hint: `read ${files.logError}; fix the cause and run \`dbps up\` again`,
      });
    }
    if (Date.now() > deadline) {
      throw new OperationalError(
        `server "${server.name}": mariadbd did not accept connections on ${files.socket} within ${Math.round(timeoutMs / 1000)} s${await logTail(files)}`,
        {
          server: server.name,
          hint: `it may still be recovering: check \`dbps status\` and ${files.logError} (DBPS_START_TIMEOUT raises the limit)`,
        },
      );
    }
    await sleep(100);
  }
}

/** How long one probe of a running server may take before dbps says it is waiting. */
const LIVE_PROBE_MS = 2000;

/**
 * A mariadbd an earlier `up` started: it answers at once, or it is still starting or recovering (wait
 * up to the start timeout, saying so), or it is stopped or hung (exit 3 naming the pid and the way out).
 * Its error log is not quoted then: its last lines are the aborted handshakes of these very probes.
 */
async function waitForLiveServer(
  ctx: DriverContext,
  server: FleetServer,
  files: ServerFiles,
  adminUser: string,
  pid: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting = false;
  const notAnswering = (why: string, stillRecovering = '') =>
    new OperationalError(`server "${server.name}": its mariadbd (pid ${pid}) is running but does not answer (${why})`, {
      server: server.name,
      hint: `${stillRecovering}if it is stopped, \`kill -CONT ${pid}\` resumes it; otherwise \`dbps down ${server.name}\` then \`dbps up ${server.name}\` (its log: ${files.logError})`,
    });
  for (;;) {
    if (processStopped(pid)) throw notAnswering('the process is stopped by a signal');
    const probe = Math.max(200, Math.min(LIVE_PROBE_MS, deadline - Date.now()));
    const session = await trySocket(server.name, files.socket, adminUser, probe);
    if (session) {
      await session.close();
      return;
    }
    if (!processAlive(pid)) {
      throw new OperationalError(`server "${server.name}": mariadbd exited during start-up${await logTail(files)}`, {
        server: server.name,
        hint: `read ${files.logError}; fix the cause and run \`dbps up\` again`,
      });
    }
    if (Date.now() >= deadline)
      throw notAnswering(
        `no answer on ${files.socket} within ${Math.round(timeoutMs / 1000)} s`,
        'a long crash recovery may still be running (DBPS_START_TIMEOUT raises the limit, see `dbps status`); ',
      );
    if (!waiting) {
      waiting = true;
      ctx.progress(
        `mariadbd (pid ${pid}) is running but does not answer yet; waiting up to ${Math.round(timeoutMs / 1000)} s`,
      );
    }
    await sleep(250);
  }
}

/**
 * A running server keeps its certificate until it is renewed here (under RENEW_DAYS left, or new
 * names): FLUSH SSL makes the server load the new files without a restart.
 */
async function renewRunningCert(
  server: FleetServer,
  files: ServerFiles,
  fleetName: string,
  stateDir: string,
  adminUser: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const tls = await ensureServerCert(stateDir, fleetName, server.name, files.dir);
  if (!tls.renewed) return;
  const runAs = await serverUser(env);
  if (runAs) await chownTree(path.dirname(tls.files.cert), runAs);
  const session = await trySocket(server.name, files.socket, adminUser);
  if (!session) return;
  try {
    await session.query('FLUSH SSL');
  } finally {
    await session.close();
  }
}

/** Writes the server's my.cnf (0600) for the mariadbd that runs it; an option it does not know is exit 3. */
async function writeMyCnf(
  ctx: DriverContext,
  server: FleetServer,
  files: ServerFiles,
  port: number,
  version: ServerVersion,
  memoryScale: number,
): Promise<void> {
  // Every local server offers TLS to clients over TCP (dbps itself uses the socket).
  const tls = await ensureServerCert(ctx.stateDir, ctx.fleet.name, server.name, files.dir);
  let cnfText: string;
  try {
    cnfText = renderMyCnf(ctx.fleet, localSized(server), {
      version,
      memoryScale,
      tls: tls.files,
      paths: {
        port,
        bindAddress: BIND_ADDRESS,
        datadir: files.datadir,
        socket: files.socket,
        pidFile: files.pidFile,
        logError: files.logError,
        tmpdir: files.tmpdir,
        secureFilePriv: files.files,
      },
    });
  } catch (e) {
    throw new OperationalError(
      `server "${server.name}": cannot write its my.cnf for MariaDB ${version.text}: ${(e as Error).message}`,
      {
        server: server.name,
        cause: e,
      },
    );
  }
  await writeFile(files.cnf, cnfText, { mode: 0o600 });
}

export const localDriver: Driver = {
  async start(server, ctx, opts): Promise<StartOutcome> {
    const began = Date.now();
    const files = serverFiles(ctx.stateDir, server.name);
    const entry = ctx.state.servers[server.name];
    const adminUser = entry?.adminUser ?? socketAdminUser();
    const startTimeout = seconds(ctx.env, 'DBPS_START_TIMEOUT', 120) * 1000;
    const port = opts.port ?? entry?.port;
    if (port === undefined) throw new Error(`no port chosen for local server ${server.name}`);

    const livePid = await runningPid(files, entry);
    // The memory scale the server's my.cnf is rendered with: the command's, or the one it runs with.
    let scale = opts.memoryScale;
    let restartFor: SettingDrift[] | undefined;
    if (livePid) {
      // Still coming up (or recovering) from an earlier `up`: give it the start timeout, not a clash error.
      await waitForLiveServer(ctx, server, files, adminUser, livePid, startTimeout);
      await updateState(ctx.stateDir, (s) => {
        const e = s.servers[server.name];
        if (e) {
          e.wanted = 'running';
          e.pid = livePid;
        }
      });
      await renewRunningCert(server, files, ctx.fleet.name, ctx.stateDir, adminUser, ctx.env);
      const running: StartOutcome = {
        server: server.name,
        action: 'already-running',
        port: entry?.port ?? port,
        socket: files.socket,
        pid: livePid,
        seconds: 0,
        ...(entry?.version ? { version: entry.version } : {}),
      };
      if (!entry?.version) return running;
      scale = opts.memoryScaleExplicit ? opts.memoryScale : recordedMemoryScale(entry, ctx.env);
      const session = await trySocket(server.name, files.socket, adminUser);
      if (!session) return running;
      try {
        const drift = (await readSettingsDrift(session, ctx.fleet, server, entry, scale)) ?? [];
        if (drift.length === 0) return running;
        if (!opts.restart) return { ...running, pendingSettings: drift };
        // The new values go into my.cnf first, so they hold across any later restart.
        await writeMyCnf(ctx, server, files, entry.port ?? port, parseVersion(entry.version), scale);
        if (driftRemedy(drift) === 'set-global') {
          ctx.progress(`applying ${drift.length} setting${drift.length === 1 ? '' : 's'} with SET GLOBAL`);
          const left = await applyDynamicSettings(session, ctx.fleet, server, entry, scale, drift);
          return {
            ...running,
            action: 'reconfigured',
            seconds: (Date.now() - began) / 1000,
            appliedSettings: drift.filter((d) => !left.some((l) => l.name === d.name)),
            ...(left.length ? { pendingSettings: left } : {}),
          };
        }
        restartFor = drift;
      } finally {
        await session.close();
      }
      // A static setting changed: a clean shutdown, then the start below with the new my.cnf.
      ctx.progress(
        `shutting down to apply ${someNames(
          restartFor.filter((d) => !d.dynamic).map((d) => d.name),
          3,
        )}`,
      );
      const stopped = await localDriver.stop(server, ctx, { destroy: false });
      if (stopped.action === 'killed')
        throw new OperationalError(`${stopped.warning ?? `server "${server.name}" was killed`}; it was not restarted`, {
          server: server.name,
          hint: `run \`dbps up ${server.name}\` to start it with the new settings`,
        });
    }

    const { path: mariadbd, version } = await mariadbdVersion(ctx.env);
    // As root, the server runs as an unprivileged account that owns its directory and nothing else.
    const runAs = await serverUser(ctx.env);
    // Only a killed server leaves its pid file behind. A clean shutdown outside dbps (mariadb-admin
    // shutdown) or a first start that failed leaves none: starting again is not crash recovery.
    const crashed = existsSync(files.pidFile);
    await clearLeftovers(files);

    if (!(await portFree(port, BIND_ADDRESS))) {
      throw new OperationalError(
        `server "${server.name}": port ${port} on ${BIND_ADDRESS} is already in use by another process`,
        {
          server: server.name,
          hint: `stop whatever listens on ${port} (\`ss -ltnp 'sport = :${port}'\` shows it), or give "${server.name}" another port with \`port:\` in services.yaml`,
        },
      );
    }

    await mkdir(files.dir, { recursive: true, mode: 0o700 });
    await mkdir(files.tmpdir, { recursive: true, mode: 0o700 });
    await mkdir(files.files, { recursive: true, mode: 0o700 });
    if (files.socketDir) await claimSocketDir(server.name, files.socketDir, runAs);

    let action: StartAction = crashed ? 'recovered' : 'started';
    if (!existsSync(`${files.datadir}/mysql`)) {
      ctx.progress('creating datadir');
      await initialiseDatadir(server, files, ctx.stateDir, version, ctx.env);
      action = 'created';
    }

    await writeMyCnf(ctx, server, files, port, version, scale);

    await updateState(ctx.stateDir, (s) => {
      s.servers[server.name] = {
        ...s.servers[server.name],
        port,
        dir: files.dir,
        datadir: files.datadir,
        tmpdir: files.tmpdir,
        socket: files.socket,
        ...(files.socketDir ? { socketDir: files.socketDir } : {}),
        pidFile: files.pidFile,
        logError: files.logError,
        cnf: files.cnf,
        adminUser,
        version: version.text,
        wanted: 'running',
        memoryScale: scale,
      };
    });

    ctx.progress(
      action === 'recovered'
        ? `restarting after a crash on port ${port} (InnoDB recovery)`
        : `starting mariadbd on port ${port}`,
    );
    if (runAs) {
      // Files copied or restored by root (datadir, error log) become the server account's.
      await writeFile(files.logError, '', { flag: 'a', mode: 0o600 });
      await openPathTo(server.name, files.dir, ctx.stateDir, runAs);
      await chownTree(files.dir, runAs);
    }
    // --defaults-file must come first; it also keeps /etc/mysql/my.cnf out of this server.
    const child = spawnDetached(
      mariadbd,
      [`--defaults-file=${files.cnf}`, ...(runAs ? [`--user=${runAs.name}`] : userArgs())],
      files.logError,
      files.dir,
    );
    await waitUntilReady(server, files, adminUser, child.exited, () => processAlive(child.pid), startTimeout);

    await updateState(ctx.stateDir, (s) => {
      const e = s.servers[server.name];
      if (e) {
        e.pid = child.pid;
        e.startedAt = new Date().toISOString();
      }
    });
    const started: StartOutcome = {
      server: server.name,
      action,
      port,
      socket: files.socket,
      pid: child.pid,
      seconds: (Date.now() - began) / 1000,
      version: version.text,
    };
    if (!restartFor) return started;
    // Restarted for new settings: say which, and anything the server still runs differently.
    const after = await trySocket(server.name, files.socket, adminUser);
    const left = after
      ? await readSettingsDrift(after, ctx.fleet, server, { ...entry!, version: version.text }, scale).finally(() =>
          after.close(),
        )
      : undefined;
    return {
      ...started,
      action: 'restarted',
      appliedSettings: restartFor.filter((d) => !left?.some((l) => l.name === d.name)),
      ...(left?.length ? { pendingSettings: left } : {}),
    };
  },

  async stop(server, ctx, opts): Promise<StopOutcome> {
    const files = serverFiles(ctx.stateDir, server.name);
    const entry = ctx.state.servers[server.name];
    const adminUser = entry?.adminUser ?? socketAdminUser();
    const stopTimeout = seconds(ctx.env, 'DBPS_STOP_TIMEOUT', 60) * 1000;
    const pid = await runningPid(files, entry);
    let action: StopOutcome['action'] = 'already-stopped';
    let warning: string | undefined;
    if (pid) {
      ctx.progress('shutting down');
      // SHUTDOWN over the admin socket is the clean path; SIGTERM does the same when the socket does not answer.
      // A short handshake limit: a hung server should not stall `down`, and SIGTERM is just as clean.
      const session = await trySocket(server.name, files.socket, adminUser, 2000);
      if (session) {
        await session.query('SHUTDOWN').catch(() => signal(pid, 'SIGTERM'));
        await session.close().catch(() => undefined);
      } else {
        signal(pid, 'SIGTERM');
      }
      action = 'stopped';
      if (!(await waitForExit(pid, stopTimeout))) {
        signal(pid, 'SIGKILL');
        await waitForExit(pid, 10_000);
        action = 'killed';
        warning = `server "${server.name}" did not shut down within ${Math.round(stopTimeout / 1000)} s and was killed (SIGKILL); InnoDB recovers at the next \`dbps up\``;
      }
    }
    await clearLeftovers(files);
    if (opts.destroy) {
      ctx.progress('removing datadir');
      await rm(files.dir, { recursive: true, force: true });
      if (files.socketDir) await rm(files.socketDir, { recursive: true, force: true });
    }
    await updateState(ctx.stateDir, (s) => {
      if (opts.destroy) {
        delete s.servers[server.name];
      } else if (s.servers[server.name]) {
        s.servers[server.name]!.wanted = 'stopped';
      }
    });
    return { server: server.name, action, destroyed: opts.destroy, ...(warning ? { warning } : {}) };
  },

  async probe(server, ctx): Promise<ServerProbe> {
    const files = serverFiles(ctx.stateDir, server.name);
    const entry = ctx.state.servers[server.name];
    const base: ServerProbe = {
      server: server.name,
      driver: 'local',
      services: server.services,
      host: BIND_ADDRESS,
      ...((entry?.port ?? server.port) ? { port: entry?.port ?? server.port } : {}),
      ...(entry ? { socket: entry.socket } : {}),
      state: 'stopped',
      shouldRun: entry?.wanted === 'running',
      health: [],
    };
    if (!entry) return { ...base, detail: 'never started (run `dbps up`)' };
    const pidInFile = await readPidFile(files.pidFile);
    const pid = await runningPid(files, entry);
    if (!pid) {
      if (pidInFile !== undefined) {
        return {
          ...base,
          state: 'crashed',
          detail: `pid file names ${pidInFile} but no such server process runs (killed or crashed); \`dbps up\` restarts it`,
        };
      }
      return {
        ...base,
        detail:
          entry.wanted === 'running'
            ? 'not running although it was not stopped with `dbps down`'
            : 'stopped by `dbps down`',
      };
    }
    const session = await trySocket(
      server.name,
      entry.socket,
      entry.adminUser,
      Math.min(5000, ctx.timeouts?.connectMs ?? 5000),
      ctx.timeouts?.statementMs,
    );
    if (!session) {
      return { ...base, pid, state: 'crashed', detail: `process ${pid} runs but does not answer on ${entry.socket}` };
    }
    try {
      // Both are sent at once on one connection: the settings query adds no round trip.
      const [h, drift, tls] = await Promise.all([
        readHealth(session, ctx.fleet, server),
        readSettingsDrift(session, ctx.fleet, server, entry, recordedMemoryScale(entry, ctx.env)),
        readTlsStatus(session, { socketPath: entry.socket }),
      ]);
      return {
        ...base,
        pid,
        state: 'running',
        tls,
        ...(drift?.length ? { settingsDrift: drift } : {}),
        version: h.version,
        uptimeSeconds: h.uptimeSeconds,
        threadsConnected: h.threadsConnected,
        bufferPoolReads: h.bufferPoolReads,
        health: h.health,
      };
    } finally {
      await session.close();
    }
  },
};
