// Binlog archiving delay under `dbps binlogs follow`: the time from a commit returning to the client
// until its event is in the archive (the current file's `.partial` reaches the server's position after
// the commit), side by side with the floor: `mariadb-binlog --read-from-remote-server --raw
// --stop-never` writing straight into a directory (what dbps runs, without the archive around it).
// One server started by `dbps up` (its own my.cnf). Goal: median under 1 s.
//   node bench/binlogs.mjs [commits]      (default 40; BENCH_ROUNDS is the number of commits too)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mariadb from 'mariadb';
import { startThrowawayServer } from './throwaway-server.mjs';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'dbps');
const commits = Number(process.argv[2] ?? process.env.BENCH_ROUNDS ?? 40);
const server = await startThrowawayServer('dbps-bench-binlogs-', { memory: '256M' });
const fleetDir = path.join(server.work, 'server');
const dbps = (args) => spawnSync(BIN, ['-q', ...args], { cwd: fleetDir, encoding: 'utf8' });
const prov = dbps(['provision', '--yes']);
if (prov.status !== 0) throw new Error(`provision failed: ${prov.stderr}`);

const conn = await mariadb.createConnection({ socketPath: server.sock, user: 'root' });
await conn.query('CREATE TABLE IF NOT EXISTS bench_host.ticks (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6))');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

/** Commits one row at a time and measures when `sizeOf(file)` reaches the server's position. */
async function measure(label, sizeOf) {
  const delays = [];
  for (let i = 0; i < commits; i++) {
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
    await conn.query('INSERT INTO bench_host.ticks (at) VALUES (NOW(6))');
    const committed = performance.now();
    const [{ File, Position }] = await conn.query('SHOW MASTER STATUS');
    const deadline = committed + 10_000;
    for (;;) {
      if (sizeOf(File) >= Number(Position)) break;
      if (performance.now() > deadline) throw new Error(`${label}: the event never reached the archive`);
      await new Promise((r) => setTimeout(r, 2));
    }
    delays.push(performance.now() - committed);
  }
  return delays;
}

// dbps binlogs follow
const follower = spawn(BIN, ['-q', 'binlogs', 'follow'], { cwd: fleetDir, stdio: 'ignore' });
const archive = path.join(fleetDir, '.dbps', 'backups', 'binlogs', 'bench');
const partialSize = (file) => {
  try {
    const index = JSON.parse(readFileSync(path.join(archive, 'index.json'), 'utf8'));
    const h = index.histories.find((x) => x.id === index.current);
    const f = h?.files.find((x) => x.file === file);
    return f ? statSync(path.join(archive, f.path)).size : 0;
  } catch {
    return 0;
  }
};
await new Promise((r) => setTimeout(r, 1500));
const viaDbps = await measure('dbps binlogs follow', partialSize);
follower.kill('SIGTERM');
await new Promise((r) => follower.once('exit', r));

// The floor: mariadb-binlog alone, as root over the socket.
const floorDir = mkdtempSync(path.join(server.work, 'floor-'));
const cnf = path.join(server.work, 'floor.cnf');
writeFileSync(cnf, `[client]\nuser=root\nsocket=${server.sock}\n`, { mode: 0o600 });
const [{ File: first }] = await conn.query('SHOW MASTER STATUS');
const floor = spawn(
  'mariadb-binlog',
  [
    `--defaults-file=${cnf}`,
    '--read-from-remote-server',
    '--raw',
    '--stop-never',
    '--stop-never-slave-server-id=4291000000',
    `--result-file=${floorDir}/`,
    first,
  ],
  { stdio: 'ignore' },
);
await new Promise((r) => setTimeout(r, 1000));
const rawSize = (file) => (existsSync(path.join(floorDir, file)) ? statSync(path.join(floorDir, file)).size : 0);
const viaFloor = await measure('mariadb-binlog alone', rawSize);
floor.kill('SIGTERM');
await conn.end();
void execFileSync;

const ms = (x) => `${x.toFixed(1)} ms`;
const m = median(viaDbps);
const f = median(viaFloor);
console.log(`commits measured per method: ${commits}`);
console.log(`dbps binlogs follow   median ${ms(m)}  p90 ${ms(pct(viaDbps, 0.9))}  max ${ms(Math.max(...viaDbps))}`);
console.log(`mariadb-binlog alone  median ${ms(f)}  p90 ${ms(pct(viaFloor, 0.9))}  max ${ms(Math.max(...viaFloor))}`);
console.log(`ratio dbps/floor (median): ${(m / f).toFixed(2)}x`);
console.log(`goal: commit-to-archive median under 1 s: ${m < 1000 ? 'met' : 'NOT met'} (${ms(m)})`);
await server.stop();
