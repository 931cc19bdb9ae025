#!/usr/bin/env node
// Logical backup of one ~440 MB database: `dbps backup --method logical` (mariadb-dump through this
// process into zstd, sha256 while streaming, manifest) against the same mariadb-dump options run by hand
// into zstd (the floor), on a server started by `dbps up`. Median of ROUNDS rounds (order alternated),
// printing the ratio; goal <= 1.1x.
//   node bench/backup-logical.mjs [--mb 440] [--rounds 3]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startThrowawayServer } from './throwaway-server.mjs';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'dbps');
const { dumpArgs } = await import('../dist/backup/logical.js');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MB = arg('--mb', 440);
const ROUNDS = arg('--rounds', 3);

const server = await startThrowawayServer('dbps-bench-logical-', { memory: '1G' });
const fleetDir = path.join(server.work, 'server');
const dbps = (args) => {
  const r = spawnSync(BIN, ['-q', ...args], { cwd: fleetDir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dbps ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
};
const sql = (text) =>
  // The mariadb client (no option file of its own) on the socket of the server `dbps up` started.
  execFileSync('mariadb', ['--no-defaults', '-uroot', '-S', server.sock, '-N', '-e', text], { encoding: 'utf8' });

try {
  dbps(['provision']);
  // ~1 KiB rows of hex text, enough of them for MB megabytes of InnoDB data + index (measured after ANALYZE TABLE: ~1.1 KB of InnoDB per row).
  const rows = Math.round((MB * 1024 * 1024) / 1100);
  sql('CREATE TABLE bench_host.t (id INT PRIMARY KEY, a CHAR(128), b VARCHAR(1000), n BIGINT, d DATETIME)');
  const chunk = 50_000;
  for (let from = 1; from <= rows; from += chunk) {
    const to = Math.min(rows, from + chunk - 1);
    sql(
      `INSERT INTO bench_host.t SELECT seq, SHA2(seq, 512), CONCAT(SHA2(seq+1,512), SHA2(seq+2,512), SHA2(seq+3,512), SHA2(seq+4,512), SHA2(seq+5,512), SHA2(seq+6,512), LEFT(SHA2(seq+7,512), 32)), seq * 7919, '2026-01-01' + INTERVAL seq SECOND FROM bench_host.seq_${from}_to_${to}`,
    );
  }
  sql('ANALYZE TABLE bench_host.t');
  const size = Number(
    sql("SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bench_host'"),
  );
  const logBin = sql('SELECT @@log_bin').trim() === '1';

  const out = mkdtempSync(path.join(os.tmpdir(), 'dbps-bench-logical-out-'));
  const cnf = path.join(out, 'root.cnf');
  writeFileSync(cnf, `[client]\nuser=root\nsocket=${server.sock}\n`, { mode: 0o600 });
  const byHand = () => {
    const file = path.join(out, 'hand.sql.zst');
    const began = process.hrtime.bigint();
    const args = [`--defaults-extra-file=${cnf}`, ...dumpArgs(['bench_host'], logBin)].map((a) => `'${a}'`).join(' ');
    execFileSync('sh', ['-c', `mariadb-dump ${args} | zstd -q -T0 -c > '${file}'`]);
    const s = Number(process.hrtime.bigint() - began) / 1e9;
    const bytes = statSync(file).size;
    rmSync(file);
    return { s, bytes };
  };
  const viaDbps = () => {
    const dest = path.join(out, 'sets');
    const began = process.hrtime.bigint();
    dbps(['backup', '--method', 'logical', '--dest', dest]);
    const s = Number(process.hrtime.bigint() - began) / 1e9;
    const set = readdirSync(dest).filter((n) => !n.startsWith('.'))[0];
    const bytes = statSync(path.join(dest, set, 'servers', 'bench.sql.zst')).size;
    rmSync(dest, { recursive: true, force: true });
    return { s, bytes };
  };
  const hand = [];
  const mine = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      hand.push(byHand());
      mine.push(viaDbps());
    } else {
      mine.push(viaDbps());
      hand.push(byHand());
    }
    console.error(`round ${r + 1}: by hand ${hand.at(-1).s.toFixed(2)} s, dbps ${mine.at(-1).s.toFixed(2)} s`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const h = median(hand.map((x) => x.s));
  const d = median(mine.map((x) => x.s));
  console.log(
    `\nlogical backup of one database of ${(size / 1024 / 1024).toFixed(0)} MiB (InnoDB data + index), ${os.cpus().length} cores, median of ${ROUNDS} rounds`,
  );
  console.log(`  mariadb-dump | zstd by hand  ${h.toFixed(2)} s  (${(hand[0].bytes / 1024 / 1024).toFixed(0)} MiB)`);
  console.log(
    `  dbps backup --method logical ${d.toFixed(2)} s  (${(mine[0].bytes / 1024 / 1024).toFixed(0)} MiB; includes dbps start-up, preflight, manifest)`,
  );
  console.log(`  ratio dbps / by hand: ${(d / h).toFixed(2)}x (goal <= 1.1x)`);
  rmSync(out, { recursive: true, force: true });
} finally {
  await server.stop();
}
