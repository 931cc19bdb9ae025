// dbps scaffold: a consistency pattern as numbered, re-runnable migrations for one service,
// optionally applied as the service's migrator. No printing, no exit: returns a result.
import path from 'node:path';
import { loadFleet } from '../config/load.js';
import { OperationalError, UsageError } from '../errors.js';
import { chooseAccount } from '../fleet/account-choice.js';
import { type FleetService, serverOf } from '../fleet/model.js';
import { sqlStem } from '../fleet/names.js';
import { accountEndpoint, accountPassword } from '../runtime/account-connection.js';
import { requireBinary } from '../runtime/binaries.js';
import { writeClientDefaults } from '../runtime/client-defaults.js';
import { compareFiles, existingMigrations, type FileStatus, writeMigrations } from '../scaffold/files-io.js';
import { findPattern, MIN_VERSION, NO_XA, PATTERNS, scaffoldFiles, versionSupported } from '../scaffold/patterns.js';
import type { PatternName } from '../scaffold/types.js';
import { didYouMean } from '../util/suggest.js';
import { parseVersion } from '../util/version.js';

export interface ScaffoldOptions {
  file: string;
  stateDir: string;
  list: boolean;
  pattern?: string;
  service?: string;
  /** `--name`: prefix of the pattern's objects. */
  name?: string;
  /** `--out`: folder instead of migrations/<service>/ beside services.yaml. */
  out?: string;
  apply: boolean;
  force: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ScaffoldListResult {
  command: 'scaffold';
  list: { name: PatternName; summary: string; fixes: string }[];
  xa: string;
}

export interface ScaffoldResult {
  command: 'scaffold';
  pattern: PatternName;
  service: string;
  database: string;
  dir: string;
  files: { name: string; summary: string; status: FileStatus }[];
  /** The account the files were applied as, when --apply. */
  appliedAs?: string;
}

const NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,23}$/;

function pickService(services: FleetService[], name: string, file: string): FleetService {
  const service = services.find((s) => s.name === name);
  if (service) return service;
  throw new UsageError(
    `"${name}" is not a service in ${file}${didYouMean(
      name,
      services.map((s) => s.name),
    )}`,
    { hint: `services: ${services.map((s) => s.name).join(', ')}` },
  );
}

/** Lists the patterns, or writes (and with --apply runs) one pattern's migrations for one service. */
export async function run(opts: ScaffoldOptions): Promise<ScaffoldResult | ScaffoldListResult> {
  const env = opts.env ?? process.env;
  if (opts.list) {
    return {
      command: 'scaffold',
      list: PATTERNS.map((p) => ({ name: p.name, summary: p.summary, fixes: p.fixes })),
      xa: NO_XA,
    };
  }
  if (opts.pattern === undefined || opts.service === undefined)
    throw new UsageError('scaffold needs a pattern and a service', {
      hint: `dbps scaffold <pattern> <service>; patterns: ${PATTERNS.map((p) => p.name).join(', ')} (dbps scaffold --list)`,
    });
  const pattern = findPattern(opts.pattern);
  if (!pattern) {
    const xa = opts.pattern.toLowerCase() === 'xa';
    throw new UsageError(
      `"${opts.pattern}" is not a scaffold pattern${
        xa
          ? ''
          : didYouMean(
              opts.pattern,
              PATTERNS.map((p) => p.name),
            )
      }`,
      { hint: xa ? NO_XA : `patterns: ${PATTERNS.map((p) => p.name).join(', ')} (dbps scaffold --list)` },
    );
  }
  if (opts.name !== undefined && !NAME_RE.test(opts.name))
    throw new UsageError(`--name "${opts.name}" must be a letter then up to 23 letters, digits or _`, {
      hint: 'it prefixes table and routine names, e.g. --name eu gives eu_orders and eu_create_order',
    });

  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  const service = pickService(fleet.services, opts.service, opts.file);
  const server = serverOf(fleet, service);
  const version = parseVersion(server.mariadb);
  if (!versionSupported(version))
    throw new UsageError(
      `server "${server.name}" runs MariaDB ${server.mariadb}; the patterns need ${MIN_VERSION.major}.${MIN_VERSION.minor} or later`,
      { hint: `raise mariadb: for server "${server.name}" in ${opts.file}` },
    );
  const input = {
    service: service.name,
    database: service.database,
    server: server.name,
    version,
    outboxTable: service.outboxTable ?? `${sqlStem(service.name)}_events_outbox`,
    ...(opts.name !== undefined ? { prefix: opts.name } : {}),
  };
  const cwd = opts.cwd ?? process.cwd();
  const dir = opts.out
    ? path.resolve(cwd, opts.out)
    : path.join(path.dirname(path.resolve(cwd, opts.file)), 'migrations', service.name);
  const files = scaffoldFiles(pattern, input, await existingMigrations(dir));
  const statuses = await compareFiles(dir, files, opts.force);
  const conflicts = files.filter((_, i) => statuses[i] === 'conflict');
  if (conflicts.length > 0)
    throw new UsageError(
      `${path.relative(cwd, path.join(dir, conflicts[0]!.name)) || conflicts[0]!.name} exists and differs from what dbps scaffold writes${conflicts.length > 1 ? ` (and ${conflicts.length - 1} more)` : ''}; nothing was written`,
      { hint: 'keep your edits in a new migration, or pass --force to overwrite' },
    );
  await writeMigrations(dir, files, statuses);

  const result: ScaffoldResult = {
    command: 'scaffold',
    pattern: pattern.name,
    service: service.name,
    database: service.database,
    dir,
    files: files.map((f, i) => ({ name: f.name, summary: f.summary, status: statuses[i]! })),
  };
  if (!opts.apply) return result;

  const migrator = service.accounts.find((a) => a.role === 'migrator');
  if (!migrator)
    throw new UsageError(`service "${service.name}" has no migrator account to apply the migrations as`, {
      hint: `add a user with role: migrator to services.${service.name}.users, or apply the files yourself`,
    });
  const account = chooseAccount(fleet, service, migrator.user);
  const password = await accountPassword(fleet, server, service, account, opts.stateDir, env);
  const endpoint = await accountEndpoint(server, service, account, opts.stateDir, fleet.file);
  const mariadb = requireBinary('mariadb', env);
  const defaults = await writeClientDefaults({
    user: migrator.user,
    password,
    ...(endpoint.socketOnly && endpoint.socket
      ? { socket: endpoint.socket }
      : { host: endpoint.host, port: endpoint.port, tls: endpoint.tls }),
  });
  try {
    const { execa } = await import('execa');
    // First the running server itself: reachable as the migrator, and new enough for the SQL.
    const probe = await execa(
      mariadb,
      [`--defaults-extra-file=${defaults.path}`, '--batch', '--skip-column-names', '-e', 'SELECT VERSION()'],
      { env, reject: false, timeout: 30_000 },
    );
    if (probe.exitCode !== 0 || probe.timedOut)
      throw new OperationalError(
        `cannot connect to server "${server.name}" as ${migrator.user}: ${probe.timedOut ? 'timed out after 30 s' : String(probe.stderr).trim().split('\n')[0]}`,
        { server: server.name, hint: 'start it with `dbps up` and create the account with `dbps provision`' },
      );
    const running = parseVersion(String(probe.stdout).trim());
    if (!versionSupported(running))
      throw new UsageError(
        `server "${server.name}" runs MariaDB ${running.text}; the patterns need ${MIN_VERSION.major}.${MIN_VERSION.minor} or later`,
        { hint: 'upgrade the server, or apply only the table files by hand' },
      );
    for (const f of files) {
      // --defaults-extra-file first: the password stays out of argv. The file comes on stdin.
      const r = await execa(mariadb, [`--defaults-extra-file=${defaults.path}`, '--batch', service.database], {
        inputFile: path.join(dir, f.name),
        env,
        reject: false,
        timeout: 120_000,
      });
      if (r.exitCode !== 0 || r.timedOut) {
        const why = r.timedOut
          ? 'timed out after 120 s'
          : String(r.stderr).trim().split('\n')[0] || `exit ${r.exitCode}`;
        throw new OperationalError(`applying ${f.name} as ${migrator.user} on server "${server.name}" failed: ${why}`, {
          server: server.name,
          hint: `check the server with \`dbps status\`, fix the file or the database, and run again (files already applied are re-runnable)`,
        });
      }
    }
  } finally {
    await defaults.remove();
  }
  return { ...result, appliedAs: migrator.user };
}
