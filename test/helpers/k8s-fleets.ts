// Fleets for the Kubernetes output tests, written as services.yaml text and loaded by the real loader.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Fleet } from '../../src/fleet/model.js';
import { fleetOf, repoRoot } from './fleets.js';

/** The ecommerce template exactly as `dbps init` writes it. */
export function ecommerceText(): string {
  return readFileSync(path.join(repoRoot, 'templates', 'ecommerce.yaml'), 'utf8');
}

/**
 * 50 services with mixed isolation: 25 on their own instance, 25 spread over 5 shared servers, with
 * "_" in service, server and user names, explicit users (odd characters, hosts, limits, TLS), outboxes,
 * granted and documented-only reads, and backups whose schedules differ on one server.
 */
export function fiftyServicesText(): string {
  const lines = ['version: 1', 'fleet: big_fleet', 'defaults: { mariadb: "11.8", storage: 20Gi }', 'servers:'];
  for (let s = 1; s <= 5; s++) {
    lines.push(
      `  shard_${s}: { profile: ${s % 2 ? 'oltp' : 'olap'}, memory: ${s}G${s === 3 ? ', storage: 500M' : ''}${s === 5 ? ', mariadb: "10.11"' : ''} }`,
    );
  }
  lines.push('services:');
  for (let i = 0; i < 50; i++) {
    const name = i % 3 === 0 ? `order_svc_${i}` : i % 3 === 1 ? `billing-${i}` : `cart${i}`;
    const parts: string[] = [];
    if (i >= 25) {
      parts.push(`server: shard_${(i % 5) + 1}`);
    } else {
      parts.push(`profile: ${['oltp', 'olap', 'sessions', 'archive'][i % 4]}`, `memory: ${[256, 512, 1024][i % 3]}M`);
      if (i % 4 === 0) parts.push('storage: 5Gi');
    }
    if (i % 5 === 0) parts.push('outbox: true');
    if (i % 7 === 0) {
      parts.push(
        `users: [ { name: ${name.replace(/-/g, '_')}_rw, role: app, maxUserConnections: 40 }, { name: "Rep.${i}$x", role: readonly, host: "10.0.%", requireSsl: true }, { name: ${name.replace(/-/g, '_')}_mig, role: migrator } ]`,
      );
    }
    if (i >= 30 && i < 35) {
      // Same shard as service i-5 (granted) and another shard's service i-4 (documented only).
      const sameShard = i - 5;
      const otherShard = i - 4;
      const nm = (j: number) => (j % 3 === 0 ? `order_svc_${j}` : j % 3 === 1 ? `billing-${j}` : `cart${j}`);
      parts.push(
        `reads: [ { service: ${nm(sameShard)}, tables: [stock_levels, prices] }, { service: ${nm(otherShard)}, tables: [items] } ]`,
      );
    }
    if (i % 2 === 0) {
      const schedule = ['"0 3 * * *"', '"30 1 * * 0"', '"*/15 * * * *"'][i % 3];
      const retention = ['7d', '72h', '2w'][i % 3];
      parts.push(
        i % 6 === 0
          ? `backup: { retention: ${retention} }`
          : `backup: { schedule: ${schedule}, retention: ${retention} }`,
      );
    }
    lines.push(`  ${name}: { ${parts.join(', ')} }`);
  }
  return `${lines.join('\n')}\n`;
}

export function fiftyServicesFleet(): Fleet {
  return fleetOf(fiftyServicesText());
}
