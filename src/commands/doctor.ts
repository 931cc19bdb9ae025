// dbps doctor: are the programs there and in step, is the state dir usable, are the ports free and
// the external servers reachable. Each failed check carries the exact command that fixes it.
import { constants } from 'node:fs';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadFleet } from '../config/load.js';
import { DbpsError, UsageError } from '../errors.js';
import { versionDifferenceFix, versionDifferences, versionDifferenceText } from '../fleet/mariadb-version.js';
import type { Fleet } from '../fleet/model.js';
import { adminTarget, connectAdmin } from '../runtime/admin.js';
import {
  binaryVersion,
  findBinary,
  installCommand,
  type MariadbBinary,
  PACKAGE_OF,
  searchDirs,
} from '../runtime/binaries.js';
import { localServerPid } from '../runtime/local.js';
import { portFree } from '../runtime/ports.js';
import { readState } from '../runtime/state.js';
import { parseVersion, type ServerVersion } from '../util/version.js';

export interface DoctorCheck {
  /** Short id, e.g. `binary:mariadbd`, `port:orders`, `external:legacy`. */
  check: string;
  ok: boolean;
  detail: string;
  /** The command (or edit) that fixes a failed check, or settles a warning. */
  fix?: string;
  /** Passed, but worth knowing (e.g. services.yaml declares another MariaDB than the one installed). */
  warning?: boolean;
}

export interface DoctorResult {
  command: 'doctor';
  checks: DoctorCheck[];
  /** Why fleet checks were skipped (no services.yaml yet). */
  skipped?: string;
  outcome: 'ok' | 'failed';
}

export interface DoctorOptions {
  file: string;
  stateDir: string;
  env?: NodeJS.ProcessEnv;
}

const BINARIES: MariadbBinary[] = ['mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-backup'];

async function binaryChecks(env: NodeJS.ProcessEnv): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const found = new Map<MariadbBinary, string>();
  for (const name of BINARIES) {
    const at = findBinary(name, env);
    if (at) found.set(name, at);
    checks.push(
      at
        ? { check: `binary:${name}`, ok: true, detail: at }
        : {
            check: `binary:${name}`,
            ok: false,
            detail: `${name} not found in ${searchDirs(env).join(':')} (package ${PACKAGE_OF[name]})`,
            fix: installCommand(),
          },
    );
  }
  const server = found.get('mariadbd');
  const backup = found.get('mariadb-backup');
  if (server && backup) {
    const [sv, bv] = await Promise.all([binaryVersion(server), binaryVersion(backup)]);
    const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
    if (!sv || !bv) {
      checks.push({
        check: 'version:mariadb-backup',
        ok: false,
        detail: `cannot read the version of ${!sv ? server : backup}`,
        fix: `${sudo}apt-get install -y --reinstall mariadb-server mariadb-backup`,
      });
    } else if (sv.major !== bv.major || sv.minor !== bv.minor || sv.patch !== bv.patch) {
      checks.push({
        check: 'version:mariadb-backup',
        ok: false,
        detail: `mariadb-backup ${bv.major}.${bv.minor}.${bv.patch} does not match mariadbd ${sv.major}.${sv.minor}.${sv.patch} (backups need the server's own version)`,
        fix: `${sudo}apt-get install -y --only-upgrade mariadb-server mariadb-backup`,
      });
    } else {
      checks.push({
        check: 'version:mariadb-backup',
        ok: true,
        detail: `mariadb-backup and mariadbd are both ${sv.major}.${sv.minor}.${sv.patch}`,
      });
    }
  }
  return checks;
}

/** The state dir must be creatable and writable (it holds datadirs, sockets and secrets). */
async function stateDirCheck(stateDir: string): Promise<DoctorCheck> {
  let existing = path.resolve(stateDir);
  for (;;) {
    try {
      await access(existing, constants.F_OK);
      break;
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) break;
      existing = parent;
    }
  }
  try {
    await access(existing, constants.W_OK);
    if (existing === path.resolve(stateDir)) {
      const probe = path.join(stateDir, `.doctor-${process.pid}`);
      await mkdir(stateDir, { recursive: true });
      await writeFile(probe, '');
      await rm(probe, { force: true });
    }
    return { check: 'state-dir', ok: true, detail: `${stateDir} is writable` };
  } catch (e) {
    return {
      check: 'state-dir',
      ok: false,
      detail: `${existing} is not writable by this user (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      fix: `sudo chown -R "$(id -un)" ${existing}   # or choose another place with --state-dir`,
    };
  }
}

async function fleetChecks(fleet: Fleet, stateDir: string, env: NodeJS.ProcessEnv): Promise<DoctorCheck[]> {
  const state = await readState(stateDir);
  const checks: DoctorCheck[] = [];
  await Promise.all(
    fleet.servers.map(async (server) => {
      if (server.driver === 'local') {
        const entry = state.servers[server.name];
        const port = server.port ?? entry?.port;
        if (port === undefined) {
          checks.push({
            check: `port:${server.name}`,
            ok: true,
            detail: `allocated at the first \`dbps up\` (from ${fleet.basePort} upward, skipping busy ports)`,
          });
        } else if (await localServerPid(stateDir, server.name, entry)) {
          checks.push({
            check: `port:${server.name}`,
            ok: true,
            detail: `${port} is used by this fleet's own running server`,
          });
        } else if (await portFree(port)) {
          checks.push({ check: `port:${server.name}`, ok: true, detail: `${port} is free` });
        } else {
          checks.push({
            check: `port:${server.name}`,
            ok: false,
            detail: `port ${port} is in use by another process`,
            fix: `stop it (\`ss -ltnp 'sport = :${port}'\` shows which), or give "${server.name}" another port with \`port:\` in ${fleet.file}`,
          });
        }
        return;
      }
      try {
        const session = await connectAdmin(await adminTarget(fleet, server, stateDir, env));
        await session.close();
        checks.push({
          check: `external:${server.name}`,
          ok: true,
          detail: `${server.host}:${server.port ?? 3306} answers`,
        });
      } catch (e) {
        checks.push({
          check: `external:${server.name}`,
          ok: false,
          detail: (e as Error).message,
          ...(e instanceof DbpsError && e.hint ? { fix: e.hint } : {}),
        });
      }
    }),
  );
  const order = new Map(fleet.servers.map((s, i) => [s.name, i]));
  return checks.sort((a, b) => (order.get(a.check.split(':')[1]!) ?? 0) - (order.get(b.check.split(':')[1]!) ?? 0));
}

/**
 * Which MariaDB the local servers run (a running server: the version it was started with; otherwise
 * the installed mariadbd's) against what services.yaml declares.
 */
async function versionCheck(fleet: Fleet, stateDir: string, env: NodeJS.ProcessEnv): Promise<DoctorCheck[]> {
  const local = fleet.servers.filter((s) => s.driver === 'local');
  const bin = findBinary('mariadbd', env);
  if (!local.length || !bin) return [];
  const installed = await binaryVersion(bin);
  if (!installed) return [];
  const state = await readState(stateDir);
  const running = new Map<string, ServerVersion>();
  for (const s of local) {
    const entry = state.servers[s.name];
    if (entry?.version && (await localServerPid(stateDir, s.name, entry)))
      running.set(s.name, parseVersion(entry.version));
  }
  const differences = versionDifferences(fleet, (s) => running.get(s.name) ?? installed);
  if (!differences.length)
    return [
      {
        check: 'version:mariadb',
        ok: true,
        detail: `${fleet.file} declares MariaDB ${fleet.mariadb} and mariadbd ${installed.text} is installed`,
      },
    ];
  return differences.map((d) => ({
    check: 'version:mariadb',
    ok: true,
    warning: true,
    detail: versionDifferenceText(d, fleet.file, running.has(d.servers[0]!) ? 'running' : 'installed'),
    fix: versionDifferenceFix(d),
  }));
}

/** Runs every check; never throws for a failed check (only for an invalid services.yaml). */
/** `dbps up` makes the local servers' TLS certificates with the openssl program. */
async function opensslCheck(): Promise<DoctorCheck> {
  const { execFile } = await import('node:child_process');
  const version = await new Promise<string | undefined>((resolve) =>
    execFile('openssl', ['version'], { timeout: 10_000 }, (e, out) => resolve(e ? undefined : String(out).trim())),
  );
  return version
    ? { check: 'binary:openssl', ok: true, detail: `${version} (makes the local servers' TLS certificates)` }
    : {
        check: 'binary:openssl',
        ok: false,
        detail: "openssl not found: `dbps up` needs it to make the local servers' TLS certificates",
        fix: 'apt-get install openssl',
      };
}

export async function run(opts: DoctorOptions): Promise<DoctorResult> {
  const env = opts.env ?? process.env;
  const checks = [...(await binaryChecks(env)), await opensslCheck(), await stateDirCheck(opts.stateDir)];
  let skipped: string | undefined;
  try {
    const fleet = await loadFleet(opts.file);
    checks.push(...(await versionCheck(fleet, opts.stateDir, env)), ...(await fleetChecks(fleet, opts.stateDir, env)));
  } catch (e) {
    // Doctor is useful before `dbps init`: without a fleet file only the machine is checked.
    if (!(e instanceof UsageError)) throw e;
    skipped = `${e.message}; port and external server checks skipped`;
  }
  return {
    command: 'doctor',
    checks,
    ...(skipped ? { skipped } : {}),
    outcome: checks.every((c) => c.ok) ? 'ok' : 'failed',
  };
}
