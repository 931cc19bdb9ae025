#!/usr/bin/env node
// Benchmark: dbps across simulated hosts (test/helpers/hosts.ts: one network namespace and mariadbd
// each, reached over a bridge as `driver: external` servers). The same work per server on 1, 4 and
// 12 hosts: provision (creates), provision again (nothing to do), audit-grants, status. Prints the
// median of the rounds, the 12/1 ratio (goal <= 1.2x: the fan-out runs servers at once) and, per
// server, the statements (Questions) and connections (Connections) each command cost there.
// Root only (ip netns). Usage: npm run build && node bench/hosts.mjs [rounds] [services-per-host]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import mariadb from 'mariadb';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// DBPS_BENCH_BIN: another build's bin/dbps, to compare it on the same hosts.
const bin = process.env.DBPS_BENCH_BIN ?? path.join(root, 'bin/dbps');
const rounds = Math.max(3, Number(process.argv[2]) || 3);
const perHost = Math.max(1, Number(process.argv[3]) || 20);
const sizes = [1, 4, 12];

if (process.getuid?.() !== 0) {
  console.error('bench/hosts.mjs needs root (it creates network namespaces)');
  process.exit(2);
}

// The test helper itself, compiled once (its imports of src/ included; the connector stays external
// and resolves from the repository's node_modules, where the compiled file is put).
const work = mkdtempSync(path.join(os.tmpdir(), 'dbps-bench-hosts-'));
const helper = path.join(root, 'node_modules', '.cache', 'dbps-bench', 'hosts.mjs');
await build({
  entryPoints: [path.join(root, 'test/helpers/hosts.ts')],
  outfile: helper,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['mariadb'],
  logLevel: 'warning',
});
const { createHosts } = await import(pathToFileURL(helper).href);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

// The floor: the same databases, accounts and grants as one pipelined raw SQL batch per host, all hosts
// at once from this process (no CLI start, no catalog read). Its 12/1 ratio is what the machine allows.
async function rawProvision(hosts, prefix, n) {
  const app = 'SELECT, INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY TABLES';
  const mig = `${app}, CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, TRIGGER, CREATE ROUTINE, ALTER ROUTINE, EVENT, LOCK TABLES`;
  const t = process.hrtime.bigint();
  await Promise.all(
    hosts.map(async (h, i) => {
      const c = await mariadb.createConnection({
        host: h.address,
        port: h.port,
        user: h.admin.user,
        password: h.admin.password,
      });
      try {
        const all = [];
        for (let k = 0; k < n; k++) {
          const s = `${prefix}h${i}s${k}`;
          const pat = s.replace(/_/g, '\\_');
          all.push(
            c.query(`CREATE DATABASE IF NOT EXISTS \`${s}\``),
            c.query(`CREATE USER IF NOT EXISTS '${s}_app'@'%' IDENTIFIED BY 'bench-pw-${k}-a'`),
            c.query(`CREATE USER IF NOT EXISTS '${s}_migrator'@'%' IDENTIFIED BY 'bench-pw-${k}-m'`),
            c.query(`GRANT ${app} ON \`${pat}\`.* TO '${s}_app'@'%'`),
            c.query(`GRANT ${mig} ON \`${pat}\`.* TO '${s}_migrator'@'%'`),
          );
        }
        await Promise.all(all);
      } finally {
        await c.end();
      }
    }),
  );
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function dropRound(hosts, prefix, n) {
  await Promise.all(
    hosts.map(async (h, i) => {
      const c = await h.connectSocket();
      try {
        for (let k = 0; k < n; k++) {
          const s = `${prefix}h${i}s${k}`;
          await c.query(`DROP DATABASE IF EXISTS \`${s}\``);
          await c.query(`DROP USER IF EXISTS '${s}_app'@'%', '${s}_migrator'@'%'`);
        }
        await c.query("DROP USER IF EXISTS 'dbps_backup'@'%', 'dbps_monitor'@'%'");
      } finally {
        await c.end();
      }
    }),
  );
}

function dbps(dir, env, args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(bin, [...args], {
    cwd: dir,
    env: { ...process.env, ...env, NO_COLOR: '1' },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  return { s, code: r.status, out: r.stdout, err: r.stderr };
}

// CPU seconds from /proc: a server's own (utime + stime), and this process's waited-for children
// (cutime + cstime: every dbps run, which spawnSync waits for). Clock ticks of 1/100 s (Linux's USER_HZ).
function cpuOf(pid, children = false) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  // After the name: state is field 3, so utime..cstime (fields 14..17) are at 11..14 here.
  const [ut, st, cut, cst] = fields.slice(11, 15).map(Number);
  return (children ? cut + cst : ut + st) / 100;
}

async function counters(host) {
  const rows = await host.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Connections')");
  return Object.fromEntries(rows.map((r) => [r.Variable_name, Number(r.Value)]));
}

const ops = [
  { name: 'provision', args: ['provision'], ok: [0] },
  { name: 'provision (no-op)', args: ['provision'], ok: [0] },
  { name: 'audit-grants', args: ['audit-grants', '--json'], ok: [0, 1] },
  { name: 'status', args: ['status', '--json'], ok: [0] },
];

const results = {}; // op -> size -> { times: [], questions: [], connections: [] }
const floor = {}; // size -> seconds of the raw batch
for (const op of ops) results[op.name] = {};

// One network of 12 hosts; each round runs 1, 4 and 12 of them back to back, so the sizes share the
// machine's load of the moment (a busy 2-core machine moves absolute times a lot).
process.stderr.write(`starting ${sizes[sizes.length - 1]} hosts\n`);
const net = await createHosts(sizes[sizes.length - 1]);
try {
  const env = Object.fromEntries(net.hosts.map((h, i) => [`H${i}_PWD`, h.admin.password]));
  for (let round = 0; round < rounds; round++) {
    for (const n of sizes) {
      const hosts = net.hosts.slice(0, n);
      const dir = path.join(work, `fleet-${n}-${round}`);
      mkdirSync(dir, { recursive: true });
      const prefix = `r${round}n${n}_`;
      // The simulated hosts here have no certificates: TLS is tested in tls-hosts.test.ts, not with hangs.
      const lines = ['version: 1', 'fleet: bench', 'defaults: { accountHost: "%" }', 'servers:'];
      for (const [i, h] of hosts.entries())
        lines.push(
          `  h${i}: { driver: external, host: ${h.address}, port: ${h.port}, admin: { user: ${h.admin.user}, passwordEnv: H${i}_PWD }, tls: { mode: disabled } }`,
        );
      lines.push('services:');
      for (let i = 0; i < n; i++)
        for (let k = 0; k < perHost; k++) lines.push(`  ${prefix}h${i}s${k}: { server: h${i} }`);
      writeFileSync(path.join(dir, 'services.yaml'), `${lines.join('\n')}\n`);
      for (const op of ops) {
        const before = await Promise.all(hosts.map(counters));
        const serverCpu0 = hosts.reduce((sum, h) => sum + cpuOf(h.pid), 0);
        const dbpsCpu0 = cpuOf(process.pid, true);
        const r = dbps(dir, env, op.args);
        const serverCpu = hosts.reduce((sum, h) => sum + cpuOf(h.pid), 0) - serverCpu0;
        const dbpsCpu = cpuOf(process.pid, true) - dbpsCpu0;
        const after = await Promise.all(hosts.map(counters));
        if (!op.ok.includes(r.code)) {
          console.error(`${op.name} on ${n} hosts exited ${r.code}:\n${r.out.slice(0, 2000)}${r.err.slice(0, 2000)}`);
          process.exitCode = 3;
        }
        // One of the counter reads is itself a question, and its connection a connection: taken off.
        const q = median(after.map((a, i) => a.Questions - before[i].Questions - 1));
        const c = median(after.map((a, i) => a.Connections - before[i].Connections - 1));
        results[op.name][n] ??= { times: [], questions: [], connections: [], serverCpu: [], dbpsCpu: [] };
        const slot = results[op.name][n];
        slot.times.push(r.s);
        slot.serverCpu.push(serverCpu);
        slot.dbpsCpu.push(dbpsCpu);
        slot.questions.push(q);
        slot.connections.push(c);
      }
      // The round's databases and accounts go, so the next one provisions from scratch again.
      await dropRound(hosts, prefix, perHost);
      floor[n] ??= [];
      floor[n].push(await rawProvision(hosts, `f${prefix}`, perHost));
      await dropRound(hosts, `f${prefix}`, perHost);
    }
    process.stderr.write(`  round ${round + 1}/${rounds} done\n`);
  }
} finally {
  await net.destroy();
}
rmSync(work, { recursive: true, force: true });

console.log(
  `\ndbps across simulated hosts: ${perHost} services per host, median of ${rounds} rounds (seconds; statements and connections per server)\n`,
);
const header = [
  'command',
  ...sizes.map((n) => `${n} host${n === 1 ? '' : 's'}`),
  '12/1',
  'statements/server',
  'connections/server',
  'dbps CPU s (1 / 12)',
  'servers CPU s (1 / 12)',
  'lowest 12/1 the servers allow',
];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const op of ops) {
  const row = results[op.name];
  const t = sizes.map((n) => median(row[n].times));
  const ratio = t[t.length - 1] / t[0];
  const q = sizes.map((n) => median(row[n].questions)).join(' / ');
  const c = sizes.map((n) => median(row[n].connections)).join(' / ');
  const first = sizes[0];
  const last = sizes[sizes.length - 1];
  const cpu = (key, n) => median(row[n][key]);
  // Even if dbps took no CPU at all, 12 servers' work cannot finish sooner than their CPU time spread
  // over this machine's cores: that wall time over the 1-host time is the lowest 12/1 ratio possible here.
  const bound = cpu('serverCpu', last) / os.cpus().length / t[0];
  console.log(
    `| ${op.name} | ${t.map((x) => x.toFixed(2)).join(' | ')} | ${ratio.toFixed(2)}x${ratio <= 1.2 ? '' : ' (goal <= 1.2x)'} | ${q} | ${c} | ${cpu('dbpsCpu', first).toFixed(2)} / ${cpu('dbpsCpu', last).toFixed(2)} | ${cpu('serverCpu', first).toFixed(2)} / ${cpu('serverCpu', last).toFixed(2)} | ${Math.max(1, bound).toFixed(2)}x |`,
  );
}
const ft = sizes.map((n) => median(floor[n]));
console.log(
  `| floor: the same provision as raw SQL, in-process | ${ft.map((x) => x.toFixed(2)).join(' | ')} | ${(ft[ft.length - 1] / ft[0]).toFixed(2)}x | ${perHost * 5} / server | 1 |`,
);
console.log(
  `\nload average at the end: ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} (${os.cpus().length} cores)`,
);
