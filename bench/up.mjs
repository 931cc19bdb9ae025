#!/usr/bin/env node
// Benchmark: cold `dbps up` of a 1-server fleet vs a 4-server fleet, side by side in one run, each in a
// fresh state dir (mariadb-install-db + first start included) at a small memory scale. Rounds alternate
// 1 and 4 so machine noise hits both; prints every time, the medians and the ratio (goal: 4 ≤ 1.5 × 1).
// Usage: npm run build && node bench/up.mjs [rounds]   (default 3)
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/dbps');
const rounds = Math.max(1, Number(process.argv[2] ?? 3) || 3);
const env = { ...process.env, DBPS_MEMORY_SCALE: process.env.DBPS_MEMORY_SCALE ?? '0.05', NO_COLOR: '1' };

function fleetYaml(servers, basePort) {
  const services = Array.from({ length: servers }, (_, i) => `  svc${i + 1}: { profile: oltp, memory: 1G }`).join('\n');
  return `version: 1\nfleet: bench\ndefaults: { basePort: ${basePort} }\nservices:\n${services}\n`;
}

function dbps(dir, args) {
  return spawnSync(bin, [...args], { cwd: dir, env, encoding: 'utf8' });
}

/** One cold up in a fresh directory; returns seconds. The fleet is destroyed afterwards. */
function coldUp(servers) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbps-bench-up-'));
  // As root, servers run as mysql, which must pass through the work dir.
  chmodSync(dir, 0o711);
  const basePort = 30_000 + Math.floor(Math.random() * 300) * 100;
  writeFileSync(path.join(dir, 'services.yaml'), fleetYaml(servers, basePort));
  try {
    const began = process.hrtime.bigint();
    const r = dbps(dir, ['-q', 'up']);
    const seconds = Number(process.hrtime.bigint() - began) / 1e9;
    if (r.status !== 0) throw new Error(`dbps up (${servers} servers) failed with ${r.status}:\n${r.stderr}`);
    return seconds;
  } finally {
    dbps(dir, ['-q', 'down', '--destroy', '--yes']);
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const one = [];
const four = [];
for (let i = 0; i < rounds; i++) {
  one.push(coldUp(1));
  four.push(coldUp(4));
}
const m1 = median(one);
const m4 = median(four);
console.log(`cold dbps up, memory scale ${env.DBPS_MEMORY_SCALE}, ${rounds} round(s), ${os.cpus().length} CPU(s)`);
console.log(`  1 server : ${one.map((s) => s.toFixed(2)).join(' ')} s   median ${m1.toFixed(2)} s`);
console.log(`  4 servers: ${four.map((s) => s.toFixed(2)).join(' ')} s   median ${m4.toFixed(2)} s`);
console.log(`  ratio 4/1: ${(m4 / m1).toFixed(2)}x  (goal ≤ 1.50x)`);
