import { describe, expect, it } from 'vitest';
import { mermaidText, renderFleetGraph, renderMermaid } from '../../../src/render/mermaid.js';
import { fixtureFleet, fleetOf } from '../../helpers/fleets.js';

const mixed = fixtureFleet('fleets/generate-mixed.yaml');
const md = renderFleetGraph(mixed);
const chart = renderMermaid(mixed);

describe('fleet.md', () => {
  it('is Markdown with one mermaid flowchart', () => {
    expect(md.startsWith('# Fleet shop\n')).toBe(true);
    expect(md.match(/```mermaid\nflowchart LR\n/g)).toHaveLength(1);
    expect(md).toContain(chart.trimEnd());
  });

  it('draws every service, its database inside its server box, and every account with its role', () => {
    for (const s of mixed.services) {
      expect(chart).toContain(`(["${s.name}"])`);
      expect(chart).toContain(`[("database ${s.database}")]`);
      for (const a of s.accounts) {
        expect(chart).toContain(`["${mermaidText(`${a.user}@${a.host}`)}"]`);
        expect(md).toContain(`| ${a.user}@${a.host} | ${a.role} | ${s.name} |`);
      }
    }
    // inventory and catalog sit in the shared server's subgraph, which is marked as shared.
    const shared = /subgraph (srv\d+)\["server shared, shared server[^\n]*\n([\s\S]*?)\n {2}end/.exec(chart)!;
    expect(shared[2]).toContain('database inventory');
    expect(shared[2]).toContain('database catalog');
    expect(shared[2]).not.toContain('database orders');
    expect(chart).toContain(`class ${shared[1]} shared`);
    expect(chart).toContain('orders_outbox@%');
    expect(chart).toMatch(/---\|"outbox-relay"\|/);
  });

  it('draws declared reads as dotted arrows, saying which are granted and which are documented only', () => {
    const dotted = chart.split('\n').filter((l) => l.includes('-.->'));
    expect(dotted).toHaveLength(2);
    expect(dotted.filter((l) => l.includes('(granted)'))).toHaveLength(1);
    expect(dotted.filter((l) => l.includes('documented only, not granted'))).toHaveLength(1);
    expect(md).toContain('| analytics | inventory | stock_levels | documented only (different servers) |');
  });

  it('shows external servers without a profile or memory dbps does not set', () => {
    expect(chart).toContain('server legacy, external db.internal:3306"]');
  });

  it('escapes everything that could break or inject Mermaid syntax', () => {
    expect(mermaidText('a"b')).toBe('a#34;b');
    expect(mermaidText('x]; click y')).toBe('x#93;#59; click y');
    expect(mermaidText('a|b<c>&#d\ne')).toBe('a#124;b#60;c#62;#38;#35;d#10;e');
    expect(mermaidText('orders_app@10.0.%')).toBe('orders_app@10.0.%');
    // A table name with $ and an account host with a netmask go through the same path.
    const fleet = fleetOf(
      'version: 1\nfleet: t\nservers:\n  s: { driver: local }\nservices:\n  a: { server: s, users: [ { name: a_app, role: app, host: "10.0.0.0/255.0.0.0" } ] }\n  b: { server: s, reads: [ { service: a, tables: [ "t$1" ] } ] }\n',
    );
    const text = renderMermaid(fleet);
    expect(text).toContain('a_app@10.0.0.0/255.0.0.0');
    expect(text).toContain('reads t#36;1 (granted)');
    // No label carries a raw quote or bracket: every quoted label is closed on its own line.
    for (const line of text.split('\n')) expect((line.match(/"/g) ?? []).length % 2).toBe(0);
  });

  it('is byte-stable', () => {
    expect(renderFleetGraph(fixtureFleet('fleets/generate-mixed.yaml'))).toBe(md);
  });
});
