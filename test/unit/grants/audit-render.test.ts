import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { AuditGrantsResult } from '../../../src/commands/audit-grants.js';
import { auditCatalog, ruleCatalog, summarize } from '../../../src/grants/audit.js';
import { noPaint } from '../../../src/ui/paint.js';
import { auditJunit, auditSarif, auditText, renderAudit } from '../../../src/ui/render/audit.js';
import { vendoredSchemas } from '../../helpers/fleets.js';
import { loadCatalogFixture } from './catalog-fixtures.js';

const sarifSchema = JSON.parse(readFileSync(path.join(vendoredSchemas, 'sarif-2.1.0.json'), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
// ajv-formats is CommonJS: its default export is the plugin function.
(formats as unknown as (a: Ajv) => Ajv)(ajv);
const validateSarif = ajv.compile(sarifSchema);

function resultOf(fixtures: string[], unreachable = false): AuditGrantsResult {
  const findings = fixtures.flatMap((name) => {
    const f = loadCatalogFixture(name);
    return auditCatalog(f.fleet, f.fleet.servers[0]!, f.catalog, { adminUsers: f.adminUsers });
  });
  const fleet = loadCatalogFixture('base').fleet;
  const servers = [
    {
      server: 'shared',
      label: 'shared (orders, customers, inventory, analytics)',
      status: 'audited' as const,
      version: '10.11.14',
    },
  ];
  if (unreachable)
    servers.push({
      server: 'legacy',
      label: 'legacy',
      status: 'unreachable' as never,
      error: 'server "legacy" is not reachable at db:3306 (ECONNREFUSED)',
    } as never);
  const summary = summarize(findings, 'warning', 1, unreachable ? 1 : 0);
  return {
    command: 'audit-grants',
    fleet: fleet.name,
    file: './services.yaml',
    toolVersion: '0.1.0',
    services: fleet.services.map((s) => s.name),
    servers,
    findings,
    summary,
    rules: ruleCatalog(),
    serviceLines: { orders: 8, customers: 9, inventory: 10, analytics: 11 },
    outcome: unreachable ? 'unreachable' : summary.failing ? 'findings' : 'clean',
  };
}

const noisy = [
  'role-nested',
  'orphan-account.trigger',
  'anonymous-account.trigger',
  'managed-drift.trigger',
  'wide-db-pattern.underscore',
];

describe('text', () => {
  it('says the fleet is clean, mentioning the declared read', () => {
    expect(auditText(resultOf(['base']), noPaint)).toBe(
      [
        'analytics',
        "  allowed cross-service-access  'analytics_app'@'%' on shared: declared read: services.analytics.reads allows SELECT on inventory.stock_levels",
        '          via direct grant → SELECT on `inventory`.`stock_levels`',
        "  allowed cross-service-access  'analytics_migrator'@'%' on shared: declared read: services.analytics.reads allows SELECT on inventory.stock_levels",
        '          via direct grant → SELECT on `inventory`.`stock_levels`',
        '',
        "No account can reach another service's data. 1 server audited; 2 declared reads allowed.",
        '',
      ].join('\n'),
    );
  });
  it('groups findings by service, with path and fix', () => {
    const text = auditText(resultOf(['role-nested', 'orphan-account.trigger']), noPaint);
    expect(text).toMatch(/^orders\n {2}error {3}cross-service-access {2}'orders_app'@'%' on shared: /m);
    expect(text).toContain(
      'via default role outer_r → role inner_r → EXECUTE on PROCEDURE `customers`.`merge_accounts`',
    );
    expect(text).toContain("fix SET DEFAULT ROLE NONE FOR 'orders_app'@'%'; REVOKE `outer_r` FROM 'orders_app'@'%';");
    expect(text).toMatch(/^\(server accounts\)\n {2}warning orphan-account/m);
    expect(text.indexOf('analytics\n')).toBeLessThan(text.indexOf('(server accounts)'));
    expect(text).toMatch(/1 error, 1 warning, 4 allowed; 1 server audited \(fails on warning\)\.\n$/);
  });
});

describe('json', () => {
  it('is { findings, summary } with every field', () => {
    const doc = JSON.parse(renderAudit(resultOf(['cross-service-access.trigger']), 'json', noPaint));
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(['findings', 'summary', 'servers']));
    const f = doc.findings.find((x: { severity: string }) => x.severity === 'error');
    expect(Object.keys(f)).toEqual(
      expect.arrayContaining(['rule', 'severity', 'server', 'account', 'object', 'privilege', 'via', 'message', 'fix']),
    );
    expect(doc.summary).toMatchObject({ errors: 1, warnings: 0, allowed: 2, failing: 1, failOn: 'warning' });
  });
});

describe('junit', () => {
  it('is well-formed XML with a testcase per service × rule', () => {
    const r = resultOf(noisy, true);
    const xml = auditJunit(r);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({
      ignoreAttributes: false,
      isArray: (name) => ['testsuite', 'testcase'].includes(name),
    }).parse(xml);
    const suites = doc.testsuites.testsuite as {
      '@_name': string;
      '@_tests': string;
      testcase: { '@_name': string; failure?: unknown }[];
    }[];
    const names = suites.map((s) => s['@_name']);
    expect(names).toEqual(['orders', 'customers', 'inventory', 'analytics', '(server accounts)', 'servers']);
    const orders = suites[0]!;
    expect(orders.testcase.map((c) => c['@_name'])).toEqual(r.rules.map((x) => x.id));
    expect(
      orders.testcase
        .filter((c) => c.failure)
        .map((c) => c['@_name'])
        .sort(),
    ).toEqual(['cross-service-access', 'managed-drift', 'wide-db-pattern']);
    expect(suites[5]!.testcase[0]!['@_name']).toBe('legacy reachable');
  });
  it('escapes what XML cannot hold raw', () => {
    const r = resultOf(['cross-service-access.trigger']);
    r.findings[1]!.message = `a <b> & "c" 'd' \u0001`;
    expect(XMLValidator.validate(auditJunit(r))).toBe(true);
  });
});

describe('sarif', () => {
  it('validates against the SARIF 2.1.0 schema', () => {
    for (const r of [resultOf(['base']), resultOf(noisy, true), resultOf(['public-role'])]) {
      const log = auditSarif(r);
      const ok = validateSarif(log);
      expect(validateSarif.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    }
  });
  it('locates each finding at its service in services.yaml and keeps the rules', () => {
    const log = auditSarif(resultOf(['cross-service-access.trigger'])) as {
      runs: {
        tool: { driver: { rules: { id: string }[] } };
        results: {
          level: string;
          kind?: string;
          ruleId: string;
          locations: { physicalLocation: unknown }[];
          [key: string]: unknown;
        }[];
      }[];
    };
    const run = log.runs[0]!;
    expect(run.tool.driver.rules.map((x) => x.id)).toEqual(ruleCatalog().map((x) => x.id));
    const error = run.results.find((x) => x.level === 'error')!;
    expect(error.ruleId).toBe('cross-service-access');
    expect(error.locations[0]?.physicalLocation).toEqual({
      artifactLocation: { uri: 'services.yaml' },
      region: { startLine: 8 },
    });
    const allowed = run.results.find((x) => x.kind === 'pass')!;
    expect(allowed.level).toBe('none');
  });
});
