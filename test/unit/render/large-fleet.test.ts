// Generated files and one-line messages must not grow a line with the fleet: mariadbd rejects an
// option-file line of 4095 bytes or more, GitHub stops rendering Mermaid at about 50 KB / 500 edges,
// and a hint that lists 2000 names is not a hint.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { selectServers, serverLabel } from '../../../src/fleet/select.js';
import { renderMyCnf } from '../../../src/mycnf/render.js';
import { renderCompose } from '../../../src/render/compose.js';
import { renderFleetGraph, renderMermaid } from '../../../src/render/mermaid.js';
import { renderPrometheus } from '../../../src/render/prometheus.js';
import { parseVersion } from '../../../src/util/version.js';
import { fleetOf } from '../../helpers/fleets.js';

/** 2000 services with 60-character names on one shared server, plus own instances reading from it. */
function bigFleetText(shared: number, own: number): string {
  const lines = [
    'version: 1',
    'fleet: big',
    'servers:',
    '  shared: { driver: local, profile: oltp, memory: 1G }',
    'services:',
  ];
  for (let i = 0; i < shared; i++)
    lines.push(`  ${`svc_${String(i).padStart(4, '0')}_`.padEnd(60, 'x')}: { server: shared }`);
  for (let i = 0; i < own; i++) {
    lines.push(`  own_${i}: { reads: [ { service: ${`svc_0001_`.padEnd(60, 'x')}, tables: [t] } ] }`);
  }
  return `${lines.join('\n')}\n`;
}

const longest = (text: string): number => Math.max(...text.split('\n').map((l) => Buffer.byteLength(l)));

describe('a fleet of 2000 services with 60-character names', () => {
  const fleet = fleetOf(bigFleetText(2000, 60));
  const shared = fleet.servers.find((s) => s.name === 'shared')!;

  it('renders a my.cnf whose every line is far below the 4095 bytes mariadbd accepts', () => {
    const cnf = renderMyCnf(fleet, shared, { version: parseVersion('10.11') });
    expect(longest(cnf)).toBeLessThanOrEqual(100);
    // Every service is still named in the header, one wrapped comment block.
    for (const s of fleet.services.filter((x) => x.server === 'shared')) expect(cnf).toContain(s.name);
    expect(cnf).toContain('# services (2000):');
  });

  it('keeps compose and prometheus labels short (a count instead of the list)', () => {
    const compose = renderCompose(fleet);
    const prom = renderPrometheus(fleet);
    expect(longest(compose)).toBeLessThan(400);
    expect(longest(prom)).toBeLessThan(400);
    const job = (
      parse(prom) as { scrape_configs: { job_name: string; static_configs: { labels: Record<string, string> }[] }[] }
    ).scrape_configs.find((j) => j.job_name.includes('shared'))!;
    expect(job.static_configs[0]!.labels).toMatchObject({ server: 'shared', service_count: '2000' });
    expect(job.static_configs[0]!.labels.services).toBeUndefined();
  });

  it('draws fleet.md grouped per server, small enough to render, with reads aggregated', () => {
    const md = renderFleetGraph(fleet);
    const chart = renderMermaid(fleet);
    expect(Buffer.byteLength(md)).toBeLessThan(50_000);
    const edges = chart.split('\n').filter((l) => l.includes('-->') || l.includes('-.->') || l.includes('---'));
    expect(edges.length).toBeLessThan(500);
    expect(chart).toContain('server shared: 2000 services, 4000 accounts');
    // 60 own instances, each reading from the shared server: grouped (more servers than the grouping bound).
    expect(chart).toContain('own instances, oltp: 60 servers, 60 services, 120 accounts');
    expect(chart).toMatch(/-\.->\|"60 declared reads, 0 granted"\|/);
    expect(md).toContain('| shared | schema | local | oltp | 1G |');
    expect(md).toContain('2000 services |');
    expect(md).toContain('4120 accounts of 2060 services');
  });

  it('names a shared server with its count, and suggests only a few names for an unknown service', () => {
    expect(serverLabel(shared)).toBe('shared (2000 services)');
    let message = '';
    let hint = '';
    try {
      selectServers(fleet, ['svc_0001_']);
    } catch (e) {
      message = (e as Error).message;
      hint = (e as { hint?: string }).hint ?? '';
    }
    expect(message).toMatch(/is not a service/);
    expect(hint).toMatch(/ and 2055 more$/);
    expect(hint.length).toBeLessThan(400);
  });

  it('keeps small fleets as they were: every name listed', () => {
    const small = fleetOf(
      'version: 1\nfleet: t\nservers: { s: {} }\nservices:\n  a: { server: s }\n  b: { server: s }\n',
    );
    const s = small.servers.find((x) => x.name === 's')!;
    expect(serverLabel(s)).toBe('s (a, b)');
    expect(renderMyCnf(small, s, { version: parseVersion('10.11') })).toContain('# services (2): a, b\n');
  });
});
