#!/usr/bin/env node
// Benchmark: the full `dbps audit-grants` (read the catalog, effective privileges, every rule, JSON
// report, process start included) of N service accounts vs `pt-show-grants` merely dumping the same
// server's grants, side by side on ONE throwaway mariadbd. Prints medians and the ratio.
// Usage: npm run build && node bench/audit.mjs [accounts]   (default 1000; pt-show-grants from percona-toolkit)
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startThrowawayServer } from './throwaway-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/dbps');
const accounts = Number(process.argv[2] ?? 1000);
const services = Math.ceil(accounts / 2); // two accounts per service (app + migrator), the default

const { work, port, sock } = await startThrowawayServer('dbps-bench-audit-');

// Credentials in a 0600 file, never argv (root has no password on this throwaway server).
const cnf = path.join(work, 'client.cnf');
writeFileSync(cnf, `[client]\nuser=root\npassword=\nsocket=${sock}\n`, { mode: 0o600 });
const setPassword = () =>
  writeFileSync(cnf, `[client]\nuser=root\npassword=Bench-root\nsocket=${sock}\n`, { mode: 0o600 });
const mariadb = (sql) =>
  spawnSync('mariadb', [`--defaults-extra-file=${cnf}`, '--batch'], { input: sql, encoding: 'utf8' });
for (let i = 0; i < 100 && mariadb('SELECT 1').status !== 0; i++) await new Promise((r) => setTimeout(r, 100));

// Harden root the way a real server is, so the audit has nothing to say about the admin itself.
const harden = mariadb(
  "DROP USER IF EXISTS 'root'@'::1', 'root'@'127.0.0.1'; ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('Bench-root');",
);
if (harden.status !== 0) throw new Error(`setup failed: ${harden.stderr}`);
setPassword();
for (const host of mariadb("SELECT Host FROM mysql.global_priv WHERE User='root' AND Host<>'localhost'")
  .stdout.split('\n')
  .slice(1)
  .filter(Boolean))
  mariadb(`DROP USER 'root'@'${host}'`);

// The fleet, created by `dbps provision` itself (databases, service accounts, dbps_backup and
// dbps_monitor exactly as dbps makes them), then one table per database so that the audit's
// information_schema reads (triggers, foreign keys, engines) have tables to scan.
let yaml = `version: 1\nfleet: bench\nservers:\n  shared: { driver: external, host: 127.0.0.1, port: ${port}, admin: { user: root, passwordEnv: BENCH_ROOT_PWD, socket: ${JSON.stringify(sock)} } }\nservices:\n`;
let sql = '';
for (let i = 0; i < services; i++) {
  yaml += `  svc${i}: { server: shared }\n`;
  sql += `CREATE TABLE svc${i}.t (id INT PRIMARY KEY) ENGINE=InnoDB;\n`;
}
const fleetFile = path.join(work, 'services.yaml');
writeFileSync(fleetFile, yaml);
const provision = spawnSync(bin, ['-q', '-f', fleetFile, 'provision'], {
  encoding: 'utf8',
  env: { ...process.env, BENCH_ROOT_PWD: 'Bench-root' },
});
if (provision.status !== 0) throw new Error(`dbps provision failed (${provision.status}): ${provision.stderr}`);
const tables = mariadb(sql);
if (tables.status !== 0) throw new Error(`tables: ${tables.stderr}`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(cmd, args, env = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, ...env } });
  return { s: Number(process.hrtime.bigint() - t) / 1e9, r };
}
const runs = Number(process.env.BENCH_ROUNDS ?? 7);
const hasPt = spawnSync('pt-show-grants', ['--version'], { encoding: 'utf8' }).status === 0;
// A NODE_EXTRA_CA_CERTS in the environment makes every node process read and parse that bundle at
// start-up (tens of ms), whether it uses TLS or not; pt-show-grants (Perl) never does. Shown apart.
const { NODE_EXTRA_CA_CERTS: extraCa, ...envWithoutCa } = process.env;
const audit = (env) => {
  const t = process.hrtime.bigint();
  const r = spawnSync(bin, ['-f', fleetFile, 'audit-grants', '--json'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...env, BENCH_ROOT_PWD: 'Bench-root' },
  });
  if (r.status !== 0) throw new Error(`dbps audit-grants exited ${r.status}: ${r.stdout.slice(0, 2000)}${r.stderr}`);
  return { s: Number(process.hrtime.bigint() - t) / 1e9, r };
};
// Interleaved, round by round: on a shared machine both tools then see the same load.
const dbpsTimes = [];
const ptTimes = [];
const noCaTimes = [];
let report;
let lines = 0;
for (let i = 0; i < runs; i++) {
  const { s, r } = audit(process.env);
  report = JSON.parse(r.stdout);
  dbpsTimes.push(s);
  if (hasPt) {
    const p = time('pt-show-grants', [`--defaults-file=${cnf}`]);
    if (p.r.status !== 0) throw new Error(`pt-show-grants failed: ${p.r.stderr}`);
    lines = p.r.stdout.split('\n').filter((l) => l.startsWith('GRANT')).length;
    ptTimes.push(p.s);
  }
  if (extraCa) noCaTimes.push(audit(envWithoutCa).s);
}
const accountsSeen = Number(mariadb('SELECT COUNT(*) FROM mysql.global_priv').stdout.split('\n')[1]);
console.log(`server: ${accountsSeen} accounts (${services * 2} service accounts on ${services} databases)`);
// The first run parses and checks services.yaml and caches the resolved fleet in the state dir; the
// later runs (as on a developer's machine or a CI job that keeps .dbps/cache) start from that cache.
console.log(
  `dbps audit-grants (full audit, node start included): first run ${dbpsTimes[0].toFixed(3)} s (no fleet cache), median ${median(dbpsTimes.slice(1)).toFixed(3)} s of the next ${runs - 1} (fleet cached); findings: ${report.summary.errors} errors, ${report.summary.warnings} warnings`,
);

// Where the time goes: the same audit in this process, phase by phase (each phase's first run in this
// process, as in the CLI), and the floor of any node program (`node -e 0`, `dbps --version`).
{
  const { loadFleet } = await import(path.join(root, 'dist/config/load.js'));
  const { connectAdmin } = await import(path.join(root, 'dist/runtime/admin.js'));
  const { readCatalog, readObjects } = await import(path.join(root, 'dist/grants/catalog.js'));
  const { auditCatalog } = await import(path.join(root, 'dist/grants/audit.js'));
  const ms = (t) => (Number(process.hrtime.bigint() - t) / 1e6).toFixed(0);
  let t = process.hrtime.bigint();
  const fleet = await loadFleet(fleetFile);
  const parse = ms(t);
  const cacheDir = path.join(work, 'phase-state');
  await loadFleet(fleetFile, { stateDir: cacheDir }); // writes the cache
  t = process.hrtime.bigint();
  await loadFleet(fleetFile, { stateDir: cacheDir });
  const cached = ms(t);
  t = process.hrtime.bigint();
  const session = await connectAdmin({ server: 'shared', socketPath: sock, user: 'root', password: 'Bench-root' });
  const connect = ms(t);
  t = process.hrtime.bigint();
  const catalog = await readCatalog(session.query.bind(session), 'shared');
  const read = ms(t);
  t = process.hrtime.bigint();
  Object.assign(catalog, await readObjects(session.query.bind(session)));
  const objects = ms(t);
  await session.close();
  t = process.hrtime.bigint();
  const findings = auditCatalog(fleet, fleet.servers[0], catalog, { adminUsers: ['root'] });
  console.log(
    `  in process: parse + check services.yaml ${parse} ms (the CLI reads the fleet cache instead: ${cached} ms), connect ${connect} ms, read catalog ${read} ms, read objects (views, routines, triggers, events, foreign keys, remote tables) ${objects} ms, effective privileges + all rules ${ms(t)} ms (${findings.length} findings)`,
  );
  const floor = (cmd, args) => {
    const xs = [];
    for (let i = 0; i < runs; i++) xs.push(time(cmd, args).s);
    return median(xs);
  };
  console.log(
    `  floor: node -e 0 ${(floor(process.execPath, ['-e', '0']) * 1000).toFixed(0)} ms, dbps --version ${(floor(bin, ['--version']) * 1000).toFixed(0)} ms (median of ${runs})`,
  );
}

if (!hasPt) {
  console.log('pt-show-grants: not installed (apt-get install percona-toolkit); no ratio');
} else {
  console.log(`pt-show-grants (dump only): median ${median(ptTimes).toFixed(3)} s of ${runs}; ${lines} GRANT lines`);
  const ptMedian = median(ptTimes);
  const ratio = median(dbpsTimes.slice(1)) / ptMedian;
  console.log(
    `ratio dbps audit / pt-show-grants dump: ${ratio.toFixed(2)}x with the fleet cached, ${(dbpsTimes[0] / ptMedian).toFixed(2)}x on the first run (goal <= 1.00)`,
  );
  const without = extraCa
    ? `; with NODE_EXTRA_CA_CERTS unset (it is set here) ${median(noCaTimes).toFixed(3)} s = ${(median(noCaTimes) / ptMedian).toFixed(2)}x`
    : '';
  console.log(
    `summary: audit-grants, ${accountsSeen} accounts: ${median(dbpsTimes.slice(1)).toFixed(3)} s vs pt-show-grants ${ptMedian.toFixed(3)} s = ${ratio.toFixed(2)}x (goal <= 1.0x: ${ratio <= 1 ? 'holds' : 'NOT met'})${without}`,
  );
}
