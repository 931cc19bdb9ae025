#!/usr/bin/env node
// Benchmark: `dbps backup` of a local fleet vs the same mariadb-backup commands started together by
// hand, vs one after another, vs a plain `cp -a` of every datadir at once (the disk's floor), side by
// side in one run on the same servers. Copy and prepare phases are reported separately, with ratios.
// Usage: npm run build && node bench/backup.mjs [servers] [MB per server]   (default: 3 520)
// Steady state: a first dbps backup set is taken (untimed) before the rounds, and every timed dbps
// backup is the next set into the same --dest (its binlog archive holds only what is new since, and the
// chunks of the last set are remembered: chunk-memory.ts), which is then removed again; the other
// methods write to a scratch dir. The servers are idle between sets, so nearly every chunk is as the
// last set left it: a second dbps row forgets the chunks first, the cost when every chunk changed.
// Page cache: BENCH_CACHE=cold (default) syncs and drops the page cache before every method, so each
// one reads the datadirs from disk, as a backup of O_DIRECT servers (whose data files are never in the
// page cache) does; it needs root and falls back to warm otherwise. BENCH_CACHE=warm reads every
// datadir file just before every method instead (a memory-speed floor for cp -a). Either way every
// method starts from the same cache state, once the disk and the CPUs have been idle for half a
// second: the last method's deleted output and the servers' work after a backup otherwise slow the
// next method (in an order only rotated, dbps always followed the one-after-another method). The disk is
// shared with whatever else runs on the machine, so run it on a quiet machine and read the ratios.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/dbps');
const servers = Number(process.argv[2] ?? 3);
const mbPerServer = Number(process.argv[3] ?? 520);
const names = Array.from({ length: servers }, (_, i) => `svc${i + 1}`);
const env = { ...process.env, PATH: `${process.env.PATH}:/usr/sbin`, DBPS_MEMORY_SCALE: '0.25', NO_COLOR: '1' };

const work = mkdtempSync(path.join(os.tmpdir(), 'dbps-bench-backup-'));

// As root, servers run as mysql, which must pass through the work dir.

chmodSync(work, 0o711);
const basePort = 30_000 + Math.floor(Math.random() * 200) * 20;
writeFileSync(
  path.join(work, 'services.yaml'),
  `version: 1\nfleet: bench\ndefaults: { basePort: ${basePort} }\nservices:\n${names.map((n) => `  ${n}: { memory: 1G }`).join('\n')}\n`,
);
const dbps = (...args) =>
  execFileSync(bin, [...args], {
    cwd: work,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
const stateDir = path.join(work, '.dbps');
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  try {
    dbps('down', '--destroy', '--yes');
  } catch {
    // best effort
  }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

const sh = (cmd) => execFileSync('sh', ['-c', cmd], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
const run = (cmd, args) =>
  new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed: ${err}`))));
  });
const seconds = (t0) => (performance.now() - t0) / 1000;
const du = (p) => Number(sh(`du -sb ${p} | cut -f1`).trim());

console.error(`bench: ${servers} servers × ${mbPerServer} MB in ${work}`);
dbps('up');
dbps('provision');
const state = JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')).servers;
// The mariadb *client* loading data, with no option file of its own; the servers it talks to were
// started by `dbps up` from their generated my.cnf.
const clientArgs = (n) => ['--no-defaults', '-S', state[n].socket, '-uroot'];
const mysql = (n, q) => sh(`mariadb ${clientArgs(n).join(' ')} -N -e "${q}"`);

// Build data: ~3 KB rows in chunks, all servers at once; then drop the binlogs the load wrote so the
// datadirs hold data, not a second copy of it (cp -a would otherwise copy twice as much).
const t0 = performance.now();
const rows = Math.ceil((mbPerServer * 1024 * 1024) / 3300);
await Promise.all(
  names.map(async (n) => {
    mysql(n, `CREATE TABLE ${n}.big (id INT PRIMARY KEY, pad VARCHAR(3000)) ENGINE=InnoDB`);
    for (let start = 1; start <= rows; start += 40_000) {
      const end = Math.min(rows, start + 39_999);
      await run('mariadb', [
        ...clientArgs(n),
        '-e',
        `INSERT INTO ${n}.big SELECT seq, REPEAT(MD5(seq), 90) FROM ${n}.seq_${start}_to_${end}`,
      ]);
    }
    mysql(n, 'FLUSH BINARY LOGS');
    const last = mysql(n, 'SHOW BINARY LOGS').trim().split('\n').pop().split('\t')[0];
    mysql(n, `PURGE BINARY LOGS TO '${last}'`);
  }),
);
const sizes = names.map((n) => du(state[n].datadir));
console.error(
  `data built in ${seconds(t0).toFixed(0)} s: datadirs ${sizes.map((s) => `${(s / 1048576).toFixed(0)} MB`).join(', ')}`,
);

// Same cache state before every method (see the header).
let cache = process.env.BENCH_CACHE === 'warm' ? 'warm' : 'cold';
const dropCaches = () => {
  try {
    execFileSync('sh', ['-c', 'sync && echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
if (cache === 'cold' && !dropCaches()) {
  console.error('cannot drop the page cache (needs root): measuring with a warm cache instead');
  cache = 'warm';
}
// Milliseconds the disks have spent doing I/O (the io_ticks of /proc/diskstats, whole disks only).
const diskBusyMs = () => {
  try {
    return readFileSync('/proc/diskstats', 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length > 12 && !/^(loop|ram|zram)/.test(f[2]) && !/\d$/.test(f[2].replace(/^nvme\d+n\d+$/, 'x')))
      .reduce((n, f) => n + Number(f[12]), 0);
  } catch {
    return 0;
  }
};
// The CPU's busy and total jiffies so far (the first line of /proc/stat; iowait counts as idle).
const cpuTimes = () => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const idle = f[3] + f[4];
  return { busy: f.reduce((a, b) => a + b, 0) - idle, total: f.reduce((a, b) => a + b, 0) };
};
// Waits (at most 20 s) until the disks and the CPUs were idle for half a second: a method's deleted
// output (discards) and the servers' own work after a backup must not slow the next method.
const waitDiskIdle = () => {
  const until = Date.now() + 20_000;
  let last = diskBusyMs();
  let lastCpu = cpuTimes();
  let quietSince = Date.now();
  while (Date.now() < until) {
    execFileSync('sleep', ['0.1']);
    const now = diskBusyMs();
    const cpu = cpuTimes();
    const cpuBusy = (cpu.busy - lastCpu.busy) / Math.max(1, cpu.total - lastCpu.total);
    if (now - last > 5 || cpuBusy > 0.1) quietSince = Date.now();
    last = now;
    lastCpu = cpu;
    if (Date.now() - quietSince >= 500) return;
  }
};
const prepareCache = () => {
  sh('sync');
  waitDiskIdle();
  if (cache === 'cold') dropCaches();
  else sh(`find ${names.map((n) => state[n].datadir).join(' ')} -type f -exec cat {} + > /dev/null`);
};

const out = path.join(work, 'out');
mkdirSync(out);
const dest = path.join(work, 'dest');
mkdirSync(dest);
// The backup account's generated password, read with dbps's own reader and key.
const { readSecrets, secretKey } = await import('../dist/runtime/secrets.js');
const secrets = await readSecrets(stateDir);
// The hand-run commands use the same account, the same 0600 defaults file (the server's my.cnf
// included, then innodb_flush_method=fsync so the tool reads the data files through the page cache
// rather than with the server's O_DIRECT: what dbps writes for 10.x tools) and the same --parallel.
const readOptions = (n) => (Number(state[n].version.split('.')[0]) >= 11 ? '' : 'innodb_flush_method=fsync\n');
const creds = Object.fromEntries(
  names.map((n) => {
    const f = path.join(work, `${n}-cred.cnf`);
    const pw = secrets.get(secretKey(n, 'dbps_backup'));
    if (!pw) throw new Error(`no generated password for dbps_backup on ${n} in secrets.env`);
    writeFileSync(
      f,
      `!include ${state[n].cnf}\n[mariadb-backup]\nuser=dbps_backup\npassword="${pw}"\nsocket=${state[n].socket}\n${readOptions(n)}`,
      { mode: 0o600 },
    );
    return [n, f];
  }),
);
const backupArgs = (n, dir) => [
  `--defaults-file=${creds[n]}`,
  '--backup',
  `--target-dir=${dir}`,
  `--datadir=${state[n].datadir}`,
  `--socket=${state[n].socket}`,
  '--parallel=2',
];
const prepareArgs = (dir) => ['--prepare', `--target-dir=${dir}`, '--use-memory=128M'];

// The first set: what a steady state's next backup follows (binlogs archived up to here).
{
  const doc = JSON.parse(dbps('--json', 'backup', '--dest', dest, '--threads', '2'));
  if (doc.manifest.status !== 'complete') throw new Error(`first dbps backup was ${doc.manifest.status}`);
}

/** 0..n-1 in an order drawn from `seed` (mulberry32, Fisher-Yates). */
function shuffled(n, seed) {
  let t = seed >>> 0;
  const random = () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const all = [];
for (let round = 0; round < rounds; round++) {
  const results = {};

  const methods = [
    async () => {
      // 1. cp -a of every datadir at once (servers running, as a naive file copy would be).
      {
        const t = performance.now();
        await Promise.all(names.map((n) => run('cp', ['-a', state[n].datadir, path.join(out, `cp-${n}`)])));
        results.cp = { copy: seconds(t), bytes: du(out) };
        rmSync(out, { recursive: true, force: true });
        mkdirSync(out);
      }
    },
    async () => {
      // 2. mariadb-backup started together by hand, then prepared together.
      {
        const t = performance.now();
        await Promise.all(names.map((n) => run('mariadb-backup', backupArgs(n, path.join(out, `par-${n}`)))));
        const copy = seconds(t);
        const t2 = performance.now();
        await Promise.all(names.map((n) => run('mariadb-backup', prepareArgs(path.join(out, `par-${n}`)))));
        results.parallel = { copy, prepare: seconds(t2), bytes: du(out) };
        rmSync(out, { recursive: true, force: true });
        mkdirSync(out);
      }
    },
    async () => {
      // 3. one after another: copy then prepare each server in turn.
      {
        let copy = 0;
        let prepare = 0;
        for (const n of names) {
          const t = performance.now();
          await run('mariadb-backup', backupArgs(n, path.join(out, `seq-${n}`)));
          copy += seconds(t);
          const t2 = performance.now();
          await run('mariadb-backup', prepareArgs(path.join(out, `seq-${n}`)));
          prepare += seconds(t2);
        }
        results.sequential = { copy, prepare };
        rmSync(out, { recursive: true, force: true });
        mkdirSync(out);
      }
    },
    // 4. dbps backup (copy, prepare, sha256 of every file, binlog archive, manifest), steady state:
    // the last set's chunks remembered (chunk-memory.ts).
    () => dbpsBackup('dbps'),
    // 5. the same with nothing remembered, as when every chunk changed since the last set: each one
    // digested again.
    () => dbpsBackup('dbpsForgetful', { forget: true }),
  ];
  async function dbpsBackup(key, { forget = false } = {}) {
    if (forget) rmSync(path.join(stateDir, 'cache', 'backup-chunks.json'), { force: true });
    // Copy phase as for the hand-run: first mariadb-backup started → last one exited (from the
    // manifest); total is the whole command, preflight, checksums and binlogs included.
    const t = performance.now();
    const doc = JSON.parse(dbps('--json', 'backup', '--dest', dest, '--threads', '2'));
    const total = seconds(t);
    const m = doc.manifest;
    if (m.status !== 'complete') throw new Error(`dbps backup was ${m.status}`);
    const start = Math.min(...m.servers.map((e) => Date.parse(e.copyStartedAt)));
    // Where the rest of the command goes: before the first copy starts (process start, fleet,
    // preflight, space check), after the last prepare until the last server is done (checksums,
    // binlogs), and after that (manifest, exit).
    const t0 = performance.timeOrigin + t;
    const lastPrepared = Math.max(...m.servers.map((e) => Date.parse(e.copyEndedAt) + (e.prepareMs ?? 0)));
    const lastEnded = Math.max(...m.servers.map((e) => Date.parse(e.endedAt)));
    const copy = (Math.max(...m.servers.map((e) => Date.parse(e.copyEndedAt))) - start) / 1000;
    results[key] = {
      copy,
      prepare: Math.max(...m.servers.map((e) => e.prepareMs)) / 1000,
      total,
      beforeCopy: (start - t0) / 1000,
      afterPrepare: (lastEnded - lastPrepared) / 1000,
      afterServers: (t0 + total * 1000 - lastEnded) / 1000,
      bytes: m.servers.reduce((s, e) => s + e.sizeBytes, 0),
    };
    // Back to one set, so every round's backup is the second.
    if (!doc.dir || path.dirname(doc.dir) !== dest) throw new Error(`dbps backup wrote its set outside ${dest}`);
    rmSync(doc.dir, { recursive: true, force: true });
  }
  // A different order every round (shuffled from the round's number, so a rerun repeats it): a
  // rotation keeps each method after the same neighbour. Dirty pages of the previous method are flushed
  // and the cache reset, so no method pays for another's writes or profits from another's reads.
  for (const k of shuffled(methods.length, round + 1)) {
    prepareCache();
    await methods[k]();
  }
  all.push(results);
  console.error(`round ${round + 1}: ${JSON.stringify(results)}`);
}
// Median of the rounds for each method and phase: the disk and the two cores are shared.
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const method of Object.keys(all[0])) {
  results[method] = {};
  for (const k of Object.keys(all[0][method])) results[method][k] = median(all.map((r) => r[method][k]));
}

const mb = (b) => `${(b / 1048576).toFixed(0)} MB`;
const f = (s) => `${s.toFixed(2)} s`;
console.log(
  `\nbackup of ${servers} servers (${sizes.map(mb).join(', ')} datadirs), ${os.cpus().length} cores, ${cache === 'cold' ? 'cold page cache (dropped before every method)' : 'warm page cache (datadirs read before every method)'}, median of ${rounds} rounds (order shuffled every round)`,
);
console.log(
  `hand-run: mariadb-backup --defaults-file=<0600: !include my.cnf; [mariadb-backup] user, password, socket${readOptions(names[0]) ? ', innodb_flush_method=fsync' : ''}> --backup --target-dir --datadir --socket --parallel=2; prepare --use-memory=128M`,
);
console.log(`${'method'.padEnd(34)}${'copy'.padStart(10)}${'prepare'.padStart(10)}${'total'.padStart(10)}`);
const row = (name, r) =>
  console.log(
    `${name.padEnd(34)}${f(r.copy).padStart(10)}${(r.prepare !== undefined ? f(r.prepare) : '-').padStart(10)}${(r.total !== undefined ? f(r.total) : f(r.copy + (r.prepare ?? 0))).padStart(10)}`,
  );
row('cp -a of all datadirs at once', results.cp);
row('mariadb-backup by hand, together', results.parallel);
row('mariadb-backup one after another', results.sequential);
row('dbps backup (+checksums, binlogs)', results.dbps);
row('dbps backup, no chunk remembered', results.dbpsForgetful);
console.log(
  `dbps backup, the rest of its total: ${f(results.dbps.beforeCopy)} before the first copy starts (node, fleet, preflight, space check), ${f(results.dbps.afterPrepare)} from the last prepare to the last server done (checksums, binlogs), ${f(results.dbps.afterServers)} after (manifest, exit)`,
);
const hand = results.parallel.copy + results.parallel.prepare;
console.log(
  `\nwhole command: dbps backup / hand-run backup+prepare together = ${(results.dbps.total / hand).toFixed(2)}x (goal <= 1.2x: ${results.dbps.total / hand <= 1.2 ? 'holds' : 'NOT met'})`,
);
console.log(
  `whole command, no chunk remembered (every chunk changed since the last set) / hand-run = ${(results.dbpsForgetful.total / hand).toFixed(2)}x`,
);
console.log(
  `whole command: dbps backup / cp -a of every datadir         = ${(results.dbps.total / results.cp.copy).toFixed(2)}x (goal <= 1.5x: ${results.dbps.total / results.cp.copy <= 1.5 ? 'holds' : 'NOT met'})`,
);
console.log(
  `copy phase: dbps / hand-parallel = ${(results.dbps.copy / results.parallel.copy).toFixed(2)}  (goal ≤ 1.00)`,
);
console.log(`copy phase: dbps / cp -a floor   = ${(results.dbps.copy / results.cp.copy).toFixed(2)}  (goal ≤ 1.40)`);
console.log(`copy phase: sequential / dbps    = ${(results.sequential.copy / results.dbps.copy).toFixed(2)}`);
console.log(`prepare:    dbps / hand-parallel = ${(results.dbps.prepare / results.parallel.prepare).toFixed(2)}`);
console.log(
  `bytes: cp -a ${mb(results.cp.bytes)}, mariadb-backup ${mb(results.parallel.bytes)}, dbps ${mb(results.dbps.bytes)}`,
);
cleanup();
