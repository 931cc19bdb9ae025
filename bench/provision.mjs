#!/usr/bin/env node
// Benchmark: `dbps provision` vs the same services as one raw SQL batch through the `mariadb`
// client (the floor), and vs Ansible community.mysql when installed, side by side on ONE throwaway
// mariadbd (driver: external). Prints times and ratios for converge and the no-op re-run.
// Usage: npm run build && node bench/provision.mjs [counts...]   (default: 50 1000)
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startThrowawayServer } from './throwaway-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/dbps');
const counts = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
if (counts.length === 0) counts.push(50, 1000);

const { work, port, stop } = await startThrowawayServer('dbps-bench-');

// The mariadb client reads credentials from a 0600 file, never argv.
const cnf = path.join(work, 'client.cnf');
writeFileSync(cnf, `[client]\nuser=root\npassword=\nhost=127.0.0.1\nport=${port}\n`, { mode: 0o600 });
const mariadb = (sql) =>
  spawnSync('mariadb', [`--defaults-extra-file=${cnf}`, '--batch'], { input: sql, encoding: 'utf8' });
for (let i = 0; i < 100 && mariadb('SELECT 1').status !== 0; i++) await new Promise((r) => setTimeout(r, 100));

const seconds = (f) => {
  const t = process.hrtime.bigint();
  const r = f();
  return { s: Number(process.hrtime.bigint() - t) / 1e9, r };
};

function rawBatch(prefix, n) {
  const app = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'EXECUTE', 'CREATE TEMPORARY TABLES'].join(', ');
  const mig = `${app}, CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, TRIGGER, CREATE ROUTINE, ALTER ROUTINE, EVENT, LOCK TABLES`;
  let sql = '';
  for (let i = 0; i < n; i++) {
    const s = `${prefix}${i}`;
    const pat = s.replace(/_/g, '\\_');
    sql += `CREATE DATABASE IF NOT EXISTS \`${s}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci;\n`;
    sql += `CREATE USER IF NOT EXISTS '${s}_app'@'%' IDENTIFIED BY 'bench-pw-${i}-a';\nCREATE USER IF NOT EXISTS '${s}_migrator'@'%' IDENTIFIED BY 'bench-pw-${i}-m';\n`;
    sql += `GRANT ${app} ON \`${pat}\`.* TO '${s}_app'@'%';\nGRANT ${mig} ON \`${pat}\`.* TO '${s}_migrator'@'%';\n`;
  }
  return sql;
}

function dropAll(prefix, n) {
  let sql = '';
  for (let i = 0; i < n; i++)
    sql += `DROP DATABASE IF EXISTS \`${prefix}${i}\`;\nDROP USER IF EXISTS '${prefix}${i}_app'@'%', '${prefix}${i}_migrator'@'%';\n`;
  mariadb(sql);
}

function fleetDir(prefix, n, round) {
  const dir = path.join(work, `fleet-${prefix}${n}-${round}`);
  const lines = [
    'version: 1',
    'fleet: bench',
    'servers:',
    `  bench: { driver: external, host: 127.0.0.1, port: ${port}, admin: { user: root } }`,
    'services:',
  ];
  for (let i = 0; i < n; i++) lines.push(`  ${prefix}${i}: { server: bench }`);
  spawnSync('mkdir', ['-p', dir]);
  writeFileSync(path.join(dir, 'services.yaml'), `${lines.join('\n')}\n`);
  return dir;
}

const dbps = (dir, args) =>
  spawnSync(bin, ['-q', ...args], {
    cwd: dir,
    encoding: 'utf8',
    // A first provision of 10,000 services prints 50,000 change lines: spawnSync's 1 MB default would
    // end the child with SIGTERM (exit 143).
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1' },
  });

// Ansible community.mysql: the same databases, accounts and grants as tasks of one playbook (one
// mysql_db loop, one mysql_user loop with `priv`), run against the same server. Slow (tens of seconds
// for 50 services), so it runs only up to BENCH_ANSIBLE_MAX services (default 50).
const hasAnsible =
  spawnSync('ansible-playbook', ['--version'], { encoding: 'utf8' }).status === 0 &&
  /community\.mysql/.test(spawnSync('ansible-galaxy', ['collection', 'list'], { encoding: 'utf8' }).stdout ?? '');
const ansibleMax = Number(process.env.BENCH_ANSIBLE_MAX ?? 50);
function ansibleDir(prefix, n) {
  const dir = path.join(work, `ansible-${prefix}${n}`);
  spawnSync('mkdir', ['-p', dir]);
  const app = 'SELECT,INSERT,UPDATE,DELETE,EXECUTE,CREATE TEMPORARY TABLES';
  const mig = `${app},CREATE,ALTER,DROP,INDEX,REFERENCES,CREATE VIEW,SHOW VIEW,TRIGGER,CREATE ROUTINE,ALTER ROUTINE,EVENT,LOCK TABLES`;
  const dbs = [];
  const users = [];
  for (let i = 0; i < n; i++) {
    const s = `${prefix}${i}`;
    const pat = s.replace(/_/g, '\\_');
    dbs.push(s);
    users.push({ name: `${s}_app`, password: `bench-pw-${i}-a`, priv: `${pat}.*:${app}` });
    users.push({ name: `${s}_migrator`, password: `bench-pw-${i}-m`, priv: `${pat}.*:${mig}` });
  }
  writeFileSync(path.join(dir, 'vars.json'), JSON.stringify({ dbs, users }), { mode: 0o600 });
  const login = `login_host: 127.0.0.1\n        login_port: ${port}\n        login_user: root\n        login_password: ""`;
  writeFileSync(
    path.join(dir, 'site.yml'),
    `- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [vars.json]
  tasks:
    - community.mysql.mysql_db:
        name: "{{ item }}"
        encoding: utf8mb4
        collation: utf8mb4_uca1400_ai_ci
        ${login}
      loop: "{{ dbs }}"
    - community.mysql.mysql_user:
        name: "{{ item.name }}"
        host: "%"
        password: "{{ item.password }}"
        priv: "{{ item.priv }}"
        ${login}
      loop: "{{ users }}"
      no_log: true
`,
  );
  return dir;
}
const ansible = (dir) =>
  spawnSync('ansible-playbook', ['-i', 'localhost,', 'site.yml'], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_LOCALHOST_WARNING: 'False',
      ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
    },
  });
const changedCount = (out) => Number(/changed=(\d+)/.exec(out)?.[1] ?? NaN);

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const n of counts) {
  // Every round starts from an empty server and a fresh state dir (so the first dbps run parses
  // services.yaml and generates the passwords, as a first run does); medians over the rounds.
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    const raw = seconds(() => mariadb(rawBatch(`raw${n}_s`, n)));
    if (raw.r.status !== 0) throw new Error(`raw batch failed: ${raw.r.stderr}`);
    const rawNoop = seconds(() => mariadb(rawBatch(`raw${n}_s`, n)));
    dropAll(`raw${n}_s`, n);
    const dir = fleetDir(`svc${n}_`, n, round);
    const converge = seconds(() => dbps(dir, ['provision']));
    if (converge.r.status !== 0)
      throw new Error(
        `dbps provision failed (${converge.r.status}): ${converge.r.stdout.slice(-2000)}${converge.r.stderr.slice(-2000)}`,
      );
    const noop = seconds(() => dbps(dir, ['provision']));
    if (!/No changes\./.test(noop.r.stdout))
      throw new Error(`re-run was not a no-op:\n${noop.r.stdout.slice(0, 2000)}`);
    const plan = seconds(() => dbps(dir, ['plan']));
    samples.push({ raw: raw.s, rawNoop: rawNoop.s, dbps: converge.s, dbpsNoop: noop.s, plan: plan.s });
    dropAll(`svc${n}_`, n);
    mariadb("DROP USER IF EXISTS 'dbps_backup'@'localhost', 'dbps_monitor'@'%'");
  }
  const med = (k) => median(samples.map((x) => x[k]));
  const row = {
    n,
    raw: med('raw'),
    rawNoop: med('rawNoop'),
    dbps: med('dbps'),
    dbpsNoop: med('dbpsNoop'),
    plan: med('plan'),
  };
  if (hasAnsible && n <= ansibleMax) {
    const adir = ansibleDir(`ans${n}_s`, n);
    const a = seconds(() => ansible(adir));
    if (a.r.status !== 0)
      throw new Error(`ansible-playbook failed: ${a.r.stdout.slice(-2000)}${a.r.stderr.slice(-2000)}`);
    const aNoop = seconds(() => ansible(adir));
    row.ansible = a.s;
    row.ansibleNoop = aNoop.s;
    row.ansibleNoopChanged = changedCount(aNoop.r.stdout);
    dropAll(`ans${n}_s`, n);
  }
  rows.push(row);
}

const f = (s) => `${s.toFixed(2)} s`;
const version = mariadb('SELECT VERSION()').stdout.split('\n')[1];
console.log(
  `dbps provision bench on one mariadbd ${version} (${os.cpus().length} cores), whole process per run, median of ${rounds} rounds (BENCH_ROUNDS)`,
);
console.log('services | raw SQL batch | raw re-run | dbps converge | ratio | dbps no-op | plan (no-op)');
for (const r of rows) {
  console.log(
    `${String(r.n).padStart(8)} | ${f(r.raw).padStart(13)} | ${f(r.rawNoop).padStart(10)} | ${f(r.dbps).padStart(13)} | ${(r.dbps / r.raw).toFixed(2).padStart(4)}x | ${f(r.dbpsNoop).padStart(10)} | ${f(r.plan)}`,
  );
}
if (!hasAnsible)
  console.log('Ansible: ansible-playbook with community.mysql is not installed on this machine; skipped');
for (const r of rows.filter((x) => x.ansible !== undefined)) {
  console.log(
    `Ansible community.mysql, ${r.n} services: converge ${f(r.ansible)} (dbps is ${(r.ansible / r.dbps).toFixed(0)}x faster), ` +
      `re-run ${f(r.ansibleNoop)} with ${r.ansibleNoopChanged} task(s) still "changed" (dbps no-op is ${(r.ansibleNoop / r.dbpsNoop).toFixed(0)}x faster)`,
  );
}
for (const r of rows.filter((x) => x.ansible === undefined && hasAnsible))
  console.log(`Ansible: skipped at ${r.n} services (above BENCH_ANSIBLE_MAX=${ansibleMax})`);
await stop();
rmSync(work, { recursive: true, force: true });
