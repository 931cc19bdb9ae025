import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exporterCollectorFlags } from '../../../src/fleet/monitor.js';
import { hostPorts, memLimit, renderCompose } from '../../../src/render/compose.js';
import { ecommerceFleet, fixtureFleet, fleetOf } from '../../helpers/fleets.js';
import { schemaErrors, vendoredSchema } from '../../helpers/schemas.js';

interface ComposeService {
  image: string;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  mem_limit?: string;
  healthcheck?: { test: string[] };
  command?: string[];
  depends_on?: unknown;
}
interface ComposeFile {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const mixed = fixtureFleet('fleets/generate-mixed.yaml');
const text = renderCompose(mixed);
const doc = parse(text) as ComposeFile;

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification schema (mixed fleet and the ecommerce template)', () => {
    const validate = vendoredSchema('compose-spec.json');
    expect(validate(doc), schemaErrors(validate)).toBe(true);
    expect(validate(parse(renderCompose(ecommerceFleet('11.8')))), schemaErrors(validate)).toBe(true);
  });

  it('runs one mariadb container per local server, with the server or fleet version as image tag', () => {
    const local = mixed.servers.filter((s) => s.driver === 'local');
    const mariadb = Object.entries(doc.services).filter(([, s]) => s.image.startsWith('mariadb:'));
    expect(mariadb.map(([name]) => name)).toStrictEqual(local.map((s) => `${s.name}-db`));
    for (const [, s] of mariadb) expect(s.image).toBe('mariadb:11.8');
    const pinned = fleetOf('version: 1\nfleet: t\nservices:\n  a: {}\nservers: {}\n');
    expect(parse(renderCompose(pinned)).services['a-db'].image).toBe(`mariadb:${pinned.mariadb}`);
  });

  it('leaves external servers out (only their exporter runs) and says so in a comment', () => {
    expect(doc.services['legacy-db']).toBeUndefined();
    expect(doc.services['legacy-exporter']!.command).toContain('--mysqld.address=db.internal:3306');
    expect(text).toMatch(/^# External server legacy \(db\.internal:3306\) is not run here/m);
  });

  it('says truthfully how the containers get their accounts (provision reaches them only as external servers)', () => {
    expect(text).not.toMatch(/created by `dbps provision`/);
    expect(text).toMatch(
      /^# `dbps provision` does not run them, so list them as external servers \(host 127\.0\.0\.1/m,
    );
  });

  it('mounts the generated my.cnf read-only, keeps data in a named volume, limits memory, checks health', () => {
    const orders = doc.services['orders-db']!;
    expect(orders.volumes).toStrictEqual([
      'orders-data:/var/lib/mysql',
      './mycnf/orders.cnf:/etc/mysql/conf.d/dbps.cnf:ro',
      // Certificates come from this machine's ./tls/<server>/ (never generated, never in git).
      './tls/orders:/etc/mysql/tls:ro',
    ]);
    expect(Object.keys(doc.volumes ?? {})).toStrictEqual([
      'shared-data',
      'orders-data',
      'customers-data',
      'analytics-data',
      'sessions-data',
      'archive-data',
    ]);
    expect(orders.mem_limit).toBe('2g');
    expect(doc.services['sessions-db']!.mem_limit).toBe('512m');
    expect(orders.healthcheck!.test).toStrictEqual(['CMD', 'healthcheck.sh', '--connect', '--innodb_initialized']);
  });

  it('takes every password from the environment with a required-variable reference, never a value', () => {
    // Each message says where the value comes from.
    expect(doc.services['orders-db']!.environment).toStrictEqual({
      MARIADB_ROOT_PASSWORD:
        '${SHOP_ORDERS_ROOT_PASSWORD:?set SHOP_ORDERS_ROOT_PASSWORD to the root password of server orders (one you ' +
        'choose, kept in .env beside this file, which dbps init keeps out of git; the same variable is the admin ' +
        'passwordEnv of the services.yaml that provisions this container)}',
    });
    expect(doc.services['orders-exporter']!.environment).toStrictEqual({
      MYSQLD_EXPORTER_PASSWORD:
        '${SHOP_ORDERS_MONITOR_PASSWORD:?set SHOP_ORDERS_MONITOR_PASSWORD to the password of dbps_monitor on server ' +
        'orders (run: dbps env orders --user dbps_monitor --format dotenv >> .env)}',
    });
    // Every environment value anywhere in the file is such a reference.
    for (const s of Object.values(doc.services)) {
      for (const value of Object.values(s.environment ?? {})) expect(value).toMatch(/^\$\{[A-Z0-9_]+:\?[^}]*\}$/);
    }
    const passwordLines = text.split('\n').filter((l) => /^\s+\w*PASSWORD\w*:/i.test(l));
    expect(passwordLines.length).toBe(2 * 6 + 1);
    for (const line of passwordLines) expect(line).toMatch(/:\s"?\$\{\w+:\?/);
  });

  it('runs one exporter per server as dbps_monitor, waiting for a healthy local server', () => {
    const exporters = Object.entries(doc.services).filter(([, s]) => s.image.startsWith('prom/mysqld-exporter:'));
    expect(exporters.map(([n]) => n)).toStrictEqual(mixed.servers.map((s) => `${s.name}-exporter`));
    expect(doc.services['orders-exporter']!.command).toStrictEqual([
      '--mysqld.address=orders-db:3306',
      '--mysqld.username=dbps_monitor',
      ...exporterCollectorFlags(),
    ]);
    // No collector that needs PROCESS, BINLOG MONITOR or SLAVE MONITOR (they would show other services' data).
    expect(exporterCollectorFlags()).toContain('--no-collect.slave_status');
    expect(
      exporterCollectorFlags().filter((f) => /binlog_size|processlist|innodb_status|innodb_metrics/.test(f)),
    ).toEqual([]);
    expect(doc.services['orders-exporter']!.depends_on).toStrictEqual({
      'orders-db': { condition: 'service_healthy' },
    });
  });

  it('maps host ports on loopback: the declared port, else basePort upward skipping declared ones', () => {
    expect(doc.services['customers-db']!.ports).toStrictEqual(['127.0.0.1:3307:3306']);
    expect(doc.services['shared-db']!.ports).toStrictEqual(['127.0.0.1:3308:3306']);
    expect(doc.services['orders-db']!.ports).toStrictEqual(['127.0.0.1:3309:3306']);
    const ports = [...hostPorts(mixed).values()];
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('is byte-stable and has no YAML anchors', () => {
    expect(renderCompose(fixtureFleet('fleets/generate-mixed.yaml'))).toBe(text);
    expect(text).not.toMatch(/[&*]a\d/);
  });

  it('formats memory limits in whole units', () => {
    expect(memLimit(1024 ** 3)).toBe('1g');
    expect(memLimit(1536 * 1024 ** 2)).toBe('1536m');
    expect(memLimit(128 * 1024 ** 2)).toBe('128m');
  });

  it('names database containers <server>-db, so an application container named after the service never clashes', () => {
    const app = fleetOf('version: 1\nfleet: t\nservices:\n  orders: {}\n');
    expect(Object.keys(parse(renderCompose(app)).services)).toStrictEqual([
      'orders-db',
      'orders-exporter',
      'prometheus',
    ]);
  });

  it('names that used to collide (a server and another one named <server>-exporter, a server named prometheus) no longer do', () => {
    const fleet = fleetOf('version: 1\nfleet: t\nservices:\n  a: {}\n  a-exporter: {}\n  prometheus: {}\n');
    expect(Object.keys(parse(renderCompose(fleet)).services)).toStrictEqual([
      'a-db',
      'a-exporter',
      'a-exporter-db',
      'a-exporter-exporter',
      'prometheus-db',
      'prometheus-exporter',
      'prometheus',
    ]);
  });
});
