#!/usr/bin/env node
// Benchmark: what TLS costs dbps. One throwaway server started by `dbps up` (with its fleet CA and
// certificate), declared twice as an external server on 127.0.0.1: `tls: { ca, mode: verify-full }`
// and `tls: { mode: disabled }` (the floor). Times `dbps status` and `dbps plan` (process start
// included) and a bare connector handshake, alternating the two in each round; prints medians and ratios.
// Usage: npm run build && node bench/tls.mjs [rounds]   (default 9)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkServerIdentity } from 'node:tls';
import { fileURLToPath } from 'node:url';
import mariadb from 'mariadb';
import { startThrowawayServer } from './throwaway-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/dbps');
const rounds = Number(process.argv[2] ?? 9);

const { work, port } = await startThrowawayServer('dbps-bench-tls-');
const caFile = path.join(work, 'server', '.dbps', 'tls', 'ca.pem');

const fleets = {};
for (const [name, tls] of [
  ['verify-full', `{ ca: "${caFile}", mode: verify-full }`],
  ['disabled', '{ mode: disabled }'],
]) {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'services.yaml'),
    `version: 1\nfleet: tlsbench\nservers:\n  ext: { driver: external, host: 127.0.0.1, port: ${port}, admin: { user: root }, tls: ${tls} }\nservices:\n${Array.from({ length: 20 }, (_, i) => `  s${i}: { server: ext }`).join('\n')}\n`,
  );
  fleets[name] = dir;
}

const dbps = (mode, args) => {
  const began = process.hrtime.bigint();
  const r = spawnSync(bin, ['-q', ...args], { cwd: fleets[mode], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  if (r.status !== 0 && !(args[0] === 'plan' && r.status === 1))
    throw new Error(`dbps ${args.join(' ')} (${mode}) exited ${r.status}: ${r.stderr}${r.stdout}`);
  return ms;
};

const ca = readFileSync(caFile, 'utf8');
async function handshake(mode) {
  const began = process.hrtime.bigint();
  const c = await mariadb.createConnection({
    host: '127.0.0.1',
    port,
    user: 'root',
    ...(mode === 'verify-full'
      ? {
          ssl: {
            ca,
            rejectUnauthorized: true,
            checkServerIdentity: (_h, cert) => checkServerIdentity('127.0.0.1', cert),
          },
        }
      : {}),
  });
  await c.query('SELECT 1');
  await c.end();
  return Number(process.hrtime.bigint() - began) / 1e6;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const results = {};
const record = (key, ms) => {
  results[key] ??= [];
  results[key].push(ms);
};
// Warm-up (fleet cache, page cache).
for (const mode of Object.keys(fleets)) {
  dbps(mode, ['status']);
  dbps(mode, ['plan']);
}
for (let i = 0; i < rounds; i++) {
  for (const mode of i % 2 ? ['disabled', 'verify-full'] : ['verify-full', 'disabled']) {
    record(`status ${mode}`, dbps(mode, ['status']));
    record(`plan ${mode}`, dbps(mode, ['plan']));
    const hs = [];
    for (let k = 0; k < 20; k++) hs.push(await handshake(mode));
    record(`handshake ${mode}`, median(hs));
  }
}
console.log(`TLS cost, ${rounds} rounds, medians (ms), one server on 127.0.0.1 (20 services):`);
for (const what of ['handshake', 'status', 'plan']) {
  const tls = median(results[`${what} verify-full`]);
  const plain = median(results[`${what} disabled`]);
  console.log(
    `  ${what.padEnd(10)} verify-full ${tls.toFixed(1).padStart(7)}   disabled ${plain.toFixed(1).padStart(7)}   ratio ${(tls / plain).toFixed(2)}x`,
  );
}
