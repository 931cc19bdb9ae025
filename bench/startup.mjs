#!/usr/bin/env node
// Start-up time of the CLI: `dbps --version` and `dbps validate` on a generated 50-service fleet
// (mixed isolation: own instances and services on shared servers), against `node -e 0`, the floor
// any Node CLI pays. Runs the built dist/ (npm run build first). Prints medians and ratios.
// Usage: node bench/startup.mjs [runs]   (default 15 runs each, after 2 warm-up runs)
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'dbps');
const runs = Number(process.argv[2] ?? 15);

/** 50 services: every third on one of three shared servers, the rest on their own instance. */
function fleet50() {
  const profiles = ['oltp', 'olap', 'sessions', 'archive'];
  const lines = ['version: 1', 'fleet: bench', 'defaults:', '  mariadb: "11.8"', 'servers:'];
  for (let s = 0; s < 3; s++) lines.push(`  shared${s}: { driver: local, profile: oltp, memory: 2G }`);
  lines.push('services:');
  for (let i = 0; i < 50; i++) {
    const name = `svc${String(i).padStart(2, '0')}`;
    const reads =
      i > 0 && i % 7 === 0 ? `, reads: [ { service: svc${String(i - 1).padStart(2, '0')}, tables: [t1, t2] } ]` : '';
    if (i % 3 === 0) lines.push(`  ${name}: { server: shared${i % 9 === 0 ? 0 : i % 2 === 0 ? 1 : 2}${reads} }`);
    else lines.push(`  ${name}: { profile: ${profiles[i % 4]}, memory: ${i % 2 ? '512M' : '1G'}${reads} }`);
  }
  return `${lines.join('\n')}\n`;
}

function time(cmd, args) {
  const samples = [];
  for (let i = 0; i < runs + 2; i++) {
    const start = process.hrtime.bigint();
    execFileSync(cmd, args, { stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (i >= 2) samples.push(ms);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], min: samples[0], max: samples.at(-1) };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'dbps-bench-startup-'));

// As root, servers run as mysql, which must pass through the work dir.

chmodSync(dir, 0o711);
try {
  const file = path.join(dir, 'services.yaml');
  writeFileSync(file, fleet50());
  // Fail loudly if the fleet is not valid: timing an error path would mean nothing.
  execFileSync(bin, ['-f', file, 'validate'], { stdio: 'ignore' });

  const floor = time(process.execPath, ['-e', '0']);
  const rows = [
    ['node -e 0 (floor)', floor],
    ['dbps --version', time(bin, ['--version'])],
    ['dbps --help', time(bin, ['--help'])],
    ['dbps validate (50 services)', time(bin, ['-f', file, 'validate'])],
  ];
  console.log(
    `node ${process.version}, ${os.cpus().length} cores, ${runs} runs each (median, min-max), ratio = median / floor median`,
  );
  for (const [name, t] of rows) {
    console.log(
      `${name.padEnd(30)} ${t.median.toFixed(0).padStart(5)} ms  (${t.min.toFixed(0)}-${t.max.toFixed(0)})  x${(t.median / floor.median).toFixed(2)}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
