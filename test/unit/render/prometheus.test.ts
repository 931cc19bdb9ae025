import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderCompose } from '../../../src/render/compose.js';
import { renderPrometheus } from '../../../src/render/prometheus.js';
import { ecommerceFleet, fixtureFleet } from '../../helpers/fleets.js';
import { schemaErrors, vendoredSchema } from '../../helpers/schemas.js';

interface Job {
  job_name: string;
  static_configs: { targets: string[]; labels: Record<string, string> }[];
}

const mixed = fixtureFleet('fleets/generate-mixed.yaml');
const doc = parse(renderPrometheus(mixed)) as {
  scrape_configs: Job[];
  global: { external_labels: Record<string, string> };
};

describe('prometheus/prometheus.yml', () => {
  it('validates against the SchemaStore prometheus schema (mixed fleet and the ecommerce template)', () => {
    const validate = vendoredSchema('prometheus.json');
    expect(validate(doc), schemaErrors(validate)).toBe(true);
    expect(validate(parse(renderPrometheus(ecommerceFleet('11.8')))), schemaErrors(validate)).toBe(true);
  });

  it('has one scrape job per server, aimed at an exporter that the compose file defines', () => {
    expect(doc.scrape_configs.map((j) => j.job_name)).toStrictEqual(mixed.servers.map((s) => `mariadb-${s.name}`));
    const compose = parse(renderCompose(mixed)) as { services: Record<string, unknown> };
    for (const job of doc.scrape_configs) {
      const [target] = job.static_configs[0]!.targets;
      const [host, port] = target!.split(':');
      expect(Object.keys(compose.services)).toContain(host);
      expect(port).toBe('9104');
    }
  });

  it('labels each job with fleet, server and services; a single-service server also gets service', () => {
    const labels = Object.fromEntries(doc.scrape_configs.map((j) => [j.job_name, j.static_configs[0]!.labels]));
    expect(labels['mariadb-orders']).toStrictEqual({
      fleet: 'shop',
      server: 'orders',
      isolation: 'instance',
      services: 'orders',
      service: 'orders',
    });
    expect(labels['mariadb-shared']).toStrictEqual({
      fleet: 'shop',
      server: 'shared',
      isolation: 'schema',
      services: 'inventory,catalog',
    });
    expect(doc.global.external_labels).toStrictEqual({ fleet: 'shop' });
  });
});
