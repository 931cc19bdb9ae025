#!/usr/bin/env node
// Benchmark: dbps at fleet scale on ONE throwaway mariadbd started by `dbps up` (its own generated
// my.cnf), reached as an external server. The fleet grows in place (500 -> 1000 -> 5000 -> 10,000
// services on one shared server): each step provisions only the services it adds and gives each new
// database one table, so the 10,000-service server takes one converge to build instead of one per
// round. At each step, whole process, median of BENCH_ROUNDS (default 5) rounds:
//   - no-op `dbps provision` at 1000 and 10,000 services (goal: <= 0.5 s and <= 2 s, linear growth);
//   - `dbps audit-grants` vs `pt-show-grants` dumping the same server, side by side, at 1000 and
//     10,000 accounts (500 and 5000 services: two accounts each; goals <= 1.0x and <= 0.5x).
// Usage: npm run build && node bench/scale.mjs   (BENCH_STEPS=500,1000 for a quick run)
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startThrowawayServer } from './throwaway-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/dbps');
const steps = (process.env.BENCH_STEPS ?? '500,1000,5000,10000').split(',').map(Number);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const ROOT_PW = 'Bench-scale-root-1';

const { work, port, sock, stop } = await startThrowawayServer('dbps-bench-scale-');
const cnf = path.join(work, 'client.cnf');
writeFileSync(cnf, `[client]\nuser=root\npassword=\nsocket=${sock}\n`, { mode: 0o600 });
const mariadb = (sql) =>
  spawnSync('mariadb', [`--defaults-extra-file=${cnf}`, '--batch'], {
    input: sql,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
// dbps's admin: root over TCP with a password (the throwaway server's extra root@127.0.0.1), so
// the audit has nothing to say about the admin itself; pt-show-grants uses the same account.
const setup = mariadb(
  `ALTER USER root@'127.0.0.1' IDENTIFIED BY '${ROOT_PW}'; DROP USER IF EXISTS 'root'@'::1'; ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('${ROOT_PW}');`,
);
if (setup.status !== 0) throw new Error(`setup failed: ${setup.stderr}`);
writeFileSync(cnf, `[client]\nuser=root\npassword=${ROOT_PW}\nsocket=${sock}\n`, { mode: 0o600 });
for (const host of mariadb(
  "SELECT Host FROM mysql.global_priv WHERE User='root' AND Host NOT IN ('localhost','127.0.0.1')",
)
  .stdout.split('\n')
  .slice(1)
  .filter(Boolean))
  mariadb(`DROP USER 'root'@'${host}'`);

const fleetDir = path.join(work, 'fleet');
spawnSync('mkdir', ['-p', fleetDir]);
const writeFleet = (n) => {
  const lines = [
    'version: 1',
    'fleet: scale',
    'servers:',
    `  shared: { driver: external, host: 127.0.0.1, port: ${port}, admin: { user: root, passwordEnv: BENCH_ROOT_PWD } }`,
    'services:',
  ];
  for (let i = 0; i < n; i++) lines.push(`  svc${i}: { server: shared }`);
  writeFileSync(path.join(fleetDir, 'services.yaml'), `${lines.join('\n')}\n`);
};
const env = { ...process.env, NO_COLOR: '1', BENCH_ROOT_PWD: ROOT_PW };
const run = (cmd, args) => {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: fleetDir, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, env });
  return { s: Number(process.hrtime.bigint() - t) / 1e9, r };
};
const dbps = (args) => run(bin, ['-q', ...args]);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f = (s) => `${s.toFixed(3)} s`;

const noop = {};
const audit = {};
let have = 0;
for (const n of steps) {
  writeFleet(n);
  const converge = dbps(['provision']);
  if (converge.r.status !== 0)
    throw new Error(`provision of ${n} services failed (${converge.r.status}): ${converge.r.stderr.slice(-2000)}`);
  // One table per new database, so information_schema reads have tables to scan.
  let sql = '';
  for (let i = have; i < n; i++) sql += `CREATE TABLE svc${i}.t (id INT PRIMARY KEY) ENGINE=InnoDB;\n`;
  const tables = mariadb(sql);
  if (tables.status !== 0) throw new Error(`tables: ${tables.stderr}`);
  console.log(`step ${n} services: converge of ${n - have} new ${f(converge.s)}`);
  have = n;

  const noops = [];
  for (let i = 0; i < rounds; i++) {
    const { s, r } = dbps(['provision']);
    if (r.status !== 0 || !/No changes\./.test(r.stdout))
      throw new Error(`no-op provision at ${n} was not a no-op (${r.status}): ${r.stdout.slice(0, 2000)}${r.stderr}`);
    noops.push(s);
  }
  noop[n] = median(noops);
  console.log(`  no-op provision: median ${f(noop[n])} of ${rounds}`);

  // The first audit writes the fleet cache; the timed rounds start from it, as a CI job that keeps .dbps/cache does.
  const warm = dbps(['audit-grants', '--json']);
  if (warm.r.status !== 0)
    throw new Error(`audit-grants at ${n} exited ${warm.r.status}: ${warm.r.stdout.slice(0, 2000)}`);
  const report = JSON.parse(warm.r.stdout);
  const dbpsTimes = [];
  const ptTimes = [];
  let grants = 0;
  for (let i = 0; i < rounds; i++) {
    const a = dbps(['audit-grants', '--json']);
    if (a.r.status !== 0) throw new Error(`audit-grants exited ${a.r.status}`);
    dbpsTimes.push(a.s);
    const p = run('pt-show-grants', [`--defaults-file=${cnf}`]);
    if (p.r.status !== 0) throw new Error(`pt-show-grants failed: ${p.r.stderr}`);
    grants = p.r.stdout.split('\n').filter((l) => l.startsWith('GRANT')).length;
    ptTimes.push(p.s);
  }
  const accounts = Number(mariadb('SELECT COUNT(*) FROM mysql.global_priv').stdout.split('\n')[1]);
  audit[n] = { dbps: median(dbpsTimes), pt: median(ptTimes), accounts };
  console.log(
    `  audit-grants ${accounts} accounts: dbps ${f(audit[n].dbps)}, pt-show-grants ${f(audit[n].pt)} (${grants} GRANT lines), ratio ${(audit[n].dbps / audit[n].pt).toFixed(2)}x; findings ${report.summary.errors} errors, ${report.summary.warnings} warnings`,
  );
}

const version = mariadb('SELECT VERSION()').stdout.split('\n')[1];
console.log(
  `\nsummary (one mariadbd ${version} started by dbps up, ${os.cpus().length} cores, whole process, median of ${rounds} rounds):`,
);
const goal = (ok) => (ok ? 'holds' : 'NOT met');
if (noop[1000] !== undefined)
  console.log(`no-op provision, 1000 services: ${f(noop[1000])} (goal <= 0.5 s: ${goal(noop[1000] <= 0.5)})`);
if (noop[10000] !== undefined) {
  console.log(`no-op provision, 10,000 services: ${f(noop[10000])} (goal <= 2 s: ${goal(noop[10000] <= 2)})`);
  if (noop[1000] !== undefined)
    console.log(
      `no-op provision growth 1000 -> 10,000 services: ${(noop[10000] / noop[1000]).toFixed(1)}x for 10x the services (linear: <= 10x)`,
    );
}
for (const [n, goalRatio] of [
  [500, 1.0],
  [5000, 0.5],
]) {
  const a = audit[n];
  if (!a) continue;
  const r = a.dbps / a.pt;
  console.log(
    `audit-grants, ${a.accounts} accounts (${n * 2} service accounts): ${f(a.dbps)} vs pt-show-grants ${f(a.pt)} = ${r.toFixed(2)}x (goal <= ${goalRatio.toFixed(1)}x: ${goal(r <= goalRatio)})`,
  );
}
if (audit[500] && audit[5000])
  console.log(
    `audit-grants growth ${audit[500].accounts} -> ${audit[5000].accounts} accounts: dbps ${(audit[5000].dbps / audit[500].dbps).toFixed(1)}x, pt-show-grants ${(audit[5000].pt / audit[500].pt).toFixed(1)}x`,
  );
await stop();
