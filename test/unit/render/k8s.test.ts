// The Kubernetes output: every manifest valid against its (strict) schema, Grants equal to the desired
// privileges, DNS-1123 names, NetworkPolicy isolation, backups, determinism.

import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { desiredServer, type GrantScope } from '../../../src/fleet/desired.js';
import { DNS1123_LABEL } from '../../../src/fleet/k8s-names.js';
import type { Fleet } from '../../../src/fleet/model.js';
import { exporterCollectorFlags } from '../../../src/fleet/monitor.js';
import type { K8sOptions } from '../../../src/render/k8s/common.js';
import { k8sFiles, k8sServers, serverResources } from '../../../src/render/k8s/manifests.js';
import { toYamlDocuments } from '../../../src/render/k8s/yaml.js';
import { fleetOf } from '../../helpers/fleets.js';
import { ecommerceText, fiftyServicesFleet } from '../../helpers/k8s-fleets.js';
import { manifestErrors } from '../../helpers/k8s-schemas.js';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  type?: string;
  data?: unknown;
  stringData?: unknown;
}

function manifestsOf(fleet: Fleet, opts: K8sOptions): Manifest[] {
  const out: Manifest[] = [];
  for (const f of k8sFiles(fleet, opts)) {
    if (f.path === 'k8s/kustomization.yaml') continue;
    for (const doc of parseAllDocuments(f.content)) {
      expect(doc.errors, f.path).toStrictEqual([]);
      out.push(doc.toJS() as Manifest);
    }
  }
  return out;
}

const ecommerce = fleetOf(ecommerceText());
const fifty = fiftyServicesFleet();
const OPTION_SETS: [string, K8sOptions][] = [
  ['defaults', {}],
  [
    'namespace + physical backups + operator metrics',
    { namespace: 'shop-prod', physicalBackups: true, operatorMetrics: true },
  ],
];
const FLEETS: [string, Fleet][] = [
  ['ecommerce template', ecommerce],
  ['50-service mixed fleet', fifty],
];

describe('k8s manifests validate strictly against the CRDs and core schemas', () => {
  for (const [fleetName, fleet] of FLEETS) {
    for (const [optsName, opts] of OPTION_SETS) {
      it(`${fleetName}, ${optsName}`, () => {
        const manifests = manifestsOf(fleet, opts);
        const kinds = new Set(manifests.map((m) => m.kind));
        const expectedKinds = ['MariaDB', 'Database', 'User', 'Grant', 'Secret', 'NetworkPolicy'];
        if (opts.namespace) expectedKinds.push('Namespace');
        // Both fleets schedule backups (the template does for every service but sessions).
        expectedKinds.push(opts.physicalBackups ? 'PhysicalBackup' : 'Backup');
        expect([...kinds].sort()).toStrictEqual(expectedKinds.sort());
        const failures = manifests
          .map((m) => [`${m.kind}/${m.metadata.name}`, manifestErrors(m)] as const)
          .filter(([, e]) => e !== '');
        expect(failures).toStrictEqual([]);
        if (opts.namespace) {
          for (const m of manifests.filter((x) => x.kind !== 'Namespace'))
            expect(m.metadata.namespace, m.metadata.name).toBe(opts.namespace);
        }
      });
    }
  }

  it('the strict check has teeth: an unknown field, a wrong type and a missing required field fail', () => {
    const [mariadb, database] = manifestsOf(ecommerce, {}) as [Manifest, Manifest];
    expect(manifestErrors(mariadb)).toBe('');
    expect(manifestErrors({ ...mariadb, spec: { ...mariadb.spec, myCnff: 'x' } })).toContain('additional properties');
    expect(manifestErrors({ ...database, spec: { ...database.spec, cleanupPolicy: 'Keep' } })).toContain(
      'allowed values',
    );
    expect(manifestErrors({ ...database, spec: { name: 'x' } })).toContain('mariaDbRef');
    const secret = manifestsOf(ecommerce, {}).find((m) => m.kind === 'Secret')!;
    expect(manifestErrors({ ...secret, data: { password: 'not base64!' } })).not.toBe('');
  });
});

/** A Grant's privileges back in desired-state terms: one key per (scope, privilege). */
function grantKeys(spec: Record<string, unknown>): string[] {
  const database = String(spec.database);
  const table = String(spec.table);
  return (spec.privileges as string[]).map((p) => {
    const column = /^([A-Z ]+) \(`((?:[^`]|``)+)`\)$/.exec(p);
    if (column) return `column|${database}|${table}|${column[2]!.replace(/``/g, '`')}|${column[1]}`;
    if (database === '*' && table === '*') return `global|||${p}`;
    // Database-level names are LIKE patterns: undo the escaping to compare with the real name.
    if (table === '*') return `database|${database.replace(/\\([\\_%])/g, '$1')}||${p}`;
    return `table|${database}|${table}|${p}`;
  });
}

function scopeKey(scope: GrantScope, privilege: string): string {
  switch (scope.level) {
    case 'global':
      return `global|||${privilege}`;
    case 'database':
      return `database|${scope.database}||${privilege}`;
    case 'table':
      return `table|${scope.database}|${scope.table}|${privilege}`;
    case 'column':
      return `column|${scope.database}|${scope.table}|${scope.column}|${privilege}`;
  }
}

describe('Grant resources carry exactly the privileges of desiredServer', () => {
  for (const [fleetName, fleet] of FLEETS) {
    for (const [optsName, opts] of OPTION_SETS) {
      it(`${fleetName}, ${optsName}: every account, every privilege, nothing more`, () => {
        let accounts = 0;
        for (const server of k8sServers(fleet)) {
          const docs = JSON.parse(JSON.stringify(serverResources(fleet, server.name, opts))) as Manifest[];
          const users = docs.filter((d) => d.kind === 'User');
          const grants = docs.filter((d) => d.kind === 'Grant');
          const desired = desiredServer(fleet, server);
          const rendered = new Map<string, string[]>();
          for (const g of grants) {
            const key = `${g.spec!.username}@${g.spec!.host}`;
            rendered.set(key, [...(rendered.get(key) ?? []), ...grantKeys(g.spec!)]);
          }
          const expected = new Map<string, string[]>();
          for (const a of desired.accounts) {
            // With --operator-metrics the operator owns the monitor account (documented).
            if (opts.operatorMetrics && a.kind === 'monitor') continue;
            accounts++;
            expected.set(
              `${a.user}@${a.host}`,
              a.grants.flatMap((g) => g.privileges.map((p) => scopeKey(g.scope, p))).sort(),
            );
            const user = users.find((u) => u.spec!.name === a.user && u.spec!.host === a.host);
            expect(user, `${a.user}@${a.host}`).toBeDefined();
            expect(user!.spec!.maxUserConnections).toBe(a.maxUserConnections ?? 0);
            expect(user!.spec!.require).toStrictEqual(a.requireSsl ? { ssl: true } : undefined);
          }
          const actual = new Map([...rendered].map(([k, v]) => [k, [...v].sort()]));
          expect(actual).toStrictEqual(expected);
          expect(users.length).toBe(expected.size);
          for (const g of grants) expect(g.spec!.grantOption).toBe(false);
          for (const g of grants) expect(g.spec!.privileges).not.toContain('ALL PRIVILEGES');
        }
        expect(accounts).toBeGreaterThan(fleet === fifty ? 120 : 15);
      });
    }
  }

  it('escapes "_" in database-level grants (a LIKE pattern there), not in table-level ones', () => {
    const fleet = fleetOf(
      'version: 1\nfleet: t\nservers: { s1: {} }\nservices:\n  order_svc: { server: s1 }\n  stock_svc: { server: s1, reads: [ { service: order_svc, tables: [open_orders] } ] }\n',
    );
    const grants = (JSON.parse(JSON.stringify(serverResources(fleet, 's1', {}))) as Manifest[]).filter(
      (d) => d.kind === 'Grant',
    );
    const own = grants.find((g) => g.spec!.username === 'order_svc_app' && g.spec!.table === '*')!;
    expect(own.spec!.database).toBe('order\\_svc');
    const read = grants.find((g) => g.spec!.username === 'stock_svc_app' && g.spec!.table === 'open_orders')!;
    expect(read.spec!.database).toBe('order_svc');
    expect(read.spec!.privileges).toStrictEqual(['SELECT']);
  });

  it("maps the outbox relay's column privilege into the Grant of its table, never a table-wide UPDATE", () => {
    const payments = (JSON.parse(JSON.stringify(serverResources(ecommerce, 'payments', {}))) as Manifest[]).filter(
      (d) => d.kind === 'Grant' && d.spec!.username === 'payments_outbox',
    );
    expect(payments.map((g) => [g.spec!.database, g.spec!.table, g.spec!.privileges])).toStrictEqual([
      ['payments', 'payments_events_outbox', ['SELECT', 'UPDATE (`published_at`)']],
    ]);
  });
});

describe('Kubernetes names', () => {
  it('are DNS-1123, unique per kind, and keep the real MariaDB names in spec', () => {
    for (const [, fleet] of FLEETS) {
      const manifests = manifestsOf(fleet, {});
      const seen = new Set<string>();
      for (const m of manifests) {
        expect(m.metadata.name, m.metadata.name).toMatch(DNS1123_LABEL);
        expect(m.metadata.name.length).toBeLessThanOrEqual(253);
        const key = `${m.kind}/${m.metadata.name}`;
        expect(seen.has(key), key).toBe(false);
        seen.add(key);
      }
    }
    const manifests = manifestsOf(fifty, {});
    const db = manifests.find((m) => m.kind === 'Database' && m.spec!.name === 'order_svc_0')!;
    expect(db.metadata.name).toBe('order-svc-0');
    const user = manifests.find((m) => m.kind === 'User' && m.spec!.name === 'Rep.0$x')!;
    // Server, user and host (the host lossy-mapped, so with a hash of its exact text).
    expect(user.metadata.name).toMatch(/^order-svc-0-rep-0-x-10-0-[0-9a-f]{6}$/);
    expect(user.spec!.host).toBe('10.0.%');
    const shard = manifests.find((m) => m.kind === 'MariaDB' && m.metadata.name === 'shard-1');
    expect(shard).toBeDefined();
  });
});

describe('MariaDB resource', () => {
  it('takes image, my.cnf, memory and storage from the server, and lets the operator generate root', () => {
    const manifests = manifestsOf(fifty, {});
    const shard3 = manifests.find((m) => m.kind === 'MariaDB' && m.metadata.name === 'shard-3')!;
    expect(shard3.spec!.image).toBe('mariadb:11.8');
    expect(shard3.spec!.resources).toStrictEqual({ requests: { memory: '3Gi' }, limits: { memory: '3Gi' } });
    expect(shard3.spec!.storage).toStrictEqual({ size: '500M' });
    expect(shard3.spec!.rootPasswordSecretKeyRef).toStrictEqual({
      name: 'shard-3-root',
      key: 'password',
      generate: true,
    });
    const cnf = String(shard3.spec!.myCnf);
    expect(cnf).toContain('[mysqld]');
    expect(cnf).toMatch(/^binlog_format = ROW$/m);
    expect(cnf).not.toMatch(/^(datadir|socket|pid_file|log_error|port|bind_address) /m);
    expect(shard3.spec!.metrics).toBeUndefined();
    const shard5 = manifests.find((m) => m.kind === 'MariaDB' && m.metadata.name === 'shard-5')!;
    expect(shard5.spec!.image).toBe('mariadb:10.11');
    expect(String(shard5.spec!.myCnf)).toContain('MariaDB 10.11');
    const instance = manifests.find((m) => m.kind === 'MariaDB' && m.metadata.name === 'order-svc-0')!;
    expect(instance.spec!.storage).toStrictEqual({ size: '5Gi' });
    expect(instance.spec!.resources).toStrictEqual({ requests: { memory: '256Mi' }, limits: { memory: '256Mi' } });
  });

  it('with --operator-metrics, enables the exporter as dbps_monitor with its Secret', () => {
    const manifests = manifestsOf(ecommerce, { operatorMetrics: true });
    const orders = manifests.find((m) => m.kind === 'MariaDB' && m.metadata.name === 'orders')!;
    expect(orders.spec!.metrics).toStrictEqual({
      enabled: true,
      username: 'dbps_monitor',
      passwordSecretKeyRef: { name: 'orders-dbps-monitor-password', key: 'password' },
      exporter: {
        // The same collector flags as compose: only what dbps_monitor's privileges serve.
        args: exporterCollectorFlags(),
        podMetadata: { labels: { 'dbps.dev/access': 'exporter', 'dbps.dev/client-of': 'orders' } },
      },
    });
    expect(manifests.some((m) => m.kind === 'Secret' && m.metadata.name === 'orders-dbps-monitor-password')).toBe(true);
    expect(manifests.some((m) => m.kind === 'User' && m.spec!.name === 'dbps_monitor')).toBe(false);
  });
});

describe('Database, User and Secret resources', () => {
  it('Databases keep data on delete and carry charset and collation', () => {
    for (const m of manifestsOf(fifty, {}).filter((x) => x.kind === 'Database')) {
      expect(m.spec!.cleanupPolicy).toBe('Skip');
      expect(m.spec!.characterSet).toBe('utf8mb4');
      expect(m.spec!.collate).toBe('utf8mb4_uca1400_ai_ci');
    }
  });

  it('every User points at a Secret that exists, is watched, and holds no value', () => {
    const manifests = manifestsOf(fifty, {});
    const secrets = new Map(manifests.filter((m) => m.kind === 'Secret').map((m) => [m.metadata.name, m]));
    for (const u of manifests.filter((m) => m.kind === 'User')) {
      const ref = u.spec!.passwordSecretKeyRef as { name: string; key: string };
      const secret = secrets.get(ref.name);
      expect(secret, ref.name).toBeDefined();
      expect(ref.key).toBe('password');
      expect(secret!.metadata.labels!['k8s.mariadb.com/watch']).toBe('');
      expect(secret!.data).toBeUndefined();
      expect(secret!.stringData).toBeUndefined();
    }
  });
});

describe('NetworkPolicy', () => {
  it("admits port 3306 only from the server's own services, its exporter and backups, and the operator", () => {
    for (const server of k8sServers(fifty)) {
      const policy = (JSON.parse(JSON.stringify(serverResources(fifty, server.name, {}))) as Manifest[]).find(
        (m) => m.kind === 'NetworkPolicy',
      )!;
      const mariadb = (JSON.parse(JSON.stringify(serverResources(fifty, server.name, {}))) as Manifest[]).find(
        (m) => m.kind === 'MariaDB',
      )!;
      const spec = policy.spec as {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: {
          from: { podSelector?: { matchLabels: Record<string, string> }; namespaceSelector?: unknown }[];
          ports?: unknown[];
        }[];
      };
      // The policy selects exactly the pods the MariaDB resource labels.
      expect((mariadb.spec!.podMetadata as { labels: Record<string, string> }).labels).toMatchObject(
        spec.podSelector.matchLabels,
      );
      expect(spec.policyTypes).toStrictEqual(['Ingress']);
      const [clients, operator] = spec.ingress;
      expect(clients!.ports).toStrictEqual([{ protocol: 'TCP', port: 3306 }]);
      const allowedServices = clients!.from
        .map((f) => f.podSelector!.matchLabels['dbps.dev/service'])
        .filter(Boolean)
        .sort();
      const own = fifty.services
        .filter((s) => s.server === server.name)
        .map((s) => s.name.replace(/_/g, '-'))
        .sort();
      expect(allowedServices).toStrictEqual(own);
      // A service on another server never appears, even one that declares a read from this server.
      const others = fifty.services.filter((s) => s.server !== server.name).map((s) => s.name.replace(/_/g, '-'));
      for (const o of others) expect(allowedServices).not.toContain(o);
      expect(
        clients!.from
          .filter((f) => f.podSelector!.matchLabels['dbps.dev/access'])
          .map((f) => f.podSelector!.matchLabels),
      ).toStrictEqual([
        { 'dbps.dev/access': 'exporter', 'dbps.dev/client-of': server.name.replace(/_/g, '-') },
        { 'dbps.dev/access': 'backup', 'dbps.dev/client-of': server.name.replace(/_/g, '-') },
      ]);
      expect(operator!.from).toHaveLength(1);
      expect(operator!.from[0]!.namespaceSelector).toBeDefined();
    }
  });
});

describe('backups', () => {
  it("one Backup per distinct schedule/retention of a server's services, with cron, maxRetention and databases", () => {
    const manifests = manifestsOf(fifty, {});
    const backups = manifests.filter((m) => m.kind === 'Backup');
    const serversWithBackup = new Set(fifty.services.filter((s) => s.backup).map((s) => s.server));
    expect(new Set(backups.map((b) => (b.spec!.mariaDbRef as { name: string }).name))).toStrictEqual(
      new Set([...serversWithBackup].map((s) => s.replace(/_/g, '-'))),
    );
    for (const service of fifty.services.filter((s) => s.backup)) {
      const covering = backups.filter((b) => (b.spec!.databases as string[]).includes(service.database));
      expect(covering, service.name).toHaveLength(1);
      const b = covering[0]!;
      expect((b.spec!.schedule as { cron: string }).cron).toBe(service.backup!.schedule ?? '0 3 * * *');
      const hours = { '7d': '168h', '72h': '72h', '2w': '336h' }[service.backup!.retention!];
      expect(b.spec!.maxRetention).toBe(hours);
      expect((b.spec!.podMetadata as { labels: Record<string, string> }).labels['dbps.dev/access']).toBe('backup');
    }
    // A shared server whose services disagree gets one resource per schedule.
    expect(backups.filter((b) => (b.spec!.mariaDbRef as { name: string }).name === 'shard-1').length).toBeGreaterThan(
      1,
    );
  });

  it('--physical-backups writes PhysicalBackup for the whole server instead', () => {
    const manifests = manifestsOf(fifty, { physicalBackups: true });
    expect(manifests.some((m) => m.kind === 'Backup')).toBe(false);
    const physical = manifests.filter((m) => m.kind === 'PhysicalBackup');
    expect(physical.length).toBeGreaterThan(0);
    for (const p of physical) expect(p.spec!.databases).toBeUndefined();
  });
});

describe('files', () => {
  it('one file per server plus a kustomization listing them; external servers are left out; deterministic', () => {
    const fleet = fleetOf(
      'version: 1\nfleet: t\nservers:\n  legacy: { driver: external, host: db.internal, admin: { user: root } }\nservices:\n  a_b: {}\n  c: { server: legacy }\n',
    );
    const files = k8sFiles(fleet, { namespace: 'team-x' });
    expect(files.map((f) => f.path)).toStrictEqual(['k8s/namespace.yaml', 'k8s/a-b.yaml', 'k8s/kustomization.yaml']);
    expect(files.at(-1)!.content).toMatch(/namespace: team-x\nresources:\n- namespace.yaml\n- a-b.yaml\n$/);
    expect(k8sFiles(fleet, { namespace: 'team-x' })).toStrictEqual(files);
  });

  it('the YAML writer round-trips every resource exactly', () => {
    for (const server of k8sServers(fifty)) {
      const resources = serverResources(fifty, server.name, { namespace: 'n', operatorMetrics: true });
      const parsed = parseAllDocuments(toYamlDocuments(resources)).map((d) => d.toJS());
      expect(parsed).toStrictEqual(JSON.parse(JSON.stringify(resources)));
    }
  });
});
