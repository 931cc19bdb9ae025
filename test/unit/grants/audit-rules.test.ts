import { describe, expect, it } from 'vitest';
import { auditCatalog, findingsForServices, summarize } from '../../../src/grants/audit.js';
import { AUDIT_RULES } from '../../../src/grants/audit-rules/index.js';
import { loadCatalogFixture } from './catalog-fixtures.js';

const audit = (fixture: string) => {
  const f = loadCatalogFixture(fixture);
  return auditCatalog(f.fleet, f.fleet.servers[0]!, f.catalog, { adminUsers: f.adminUsers, severity: f.severity });
};
const failing = (fixture: string) => audit(fixture).filter((f) => f.severity !== 'allowed');

describe('every rule has a fixture that triggers it and one that does not', () => {
  for (const rule of AUDIT_RULES) {
    it(`${rule.id} fires on ${rule.id}.trigger.json`, () => {
      const found = failing(`${rule.id}.trigger`).filter((f) => f.rule === rule.id);
      expect(found.length).toBeGreaterThan(0);
      for (const f of found) {
        expect(f.severity).toBe(rule.defaultSeverity);
        expect(f.fix).not.toBe('');
      }
    });
    it(`${rule.id} stays quiet on ${rule.id}.pass.json`, () => {
      expect(failing(`${rule.id}.pass`).filter((f) => f.rule === rule.id)).toEqual([]);
    });
  }
});

describe('the clean provisioned catalog', () => {
  it('reports nothing but the declared read, as allowed', () => {
    const all = audit('base');
    expect(all).toStrictEqual([
      {
        rule: 'cross-service-access',
        severity: 'allowed',
        server: 'shared',
        account: "'analytics_app'@'%'",
        service: 'analytics',
        targetService: 'inventory',
        object: '`inventory`.`stock_levels`',
        privilege: 'SELECT',
        via: 'direct grant → SELECT on `inventory`.`stock_levels`',
        message: 'declared read: services.analytics.reads allows SELECT on inventory.stock_levels',
        fix: '',
      },
    ]);
    expect(summarize(all, 'warning', 1, 0)).toMatchObject({ errors: 0, warnings: 0, allowed: 1, failing: 0 });
  });
});

describe('findings carry the rule, account, path and fix', () => {
  it('direct cross-service grant', () => {
    expect(failing('cross-service-access.trigger')).toStrictEqual([
      {
        rule: 'cross-service-access',
        severity: 'error',
        server: 'shared',
        account: "'orders_app'@'%'",
        service: 'orders',
        targetService: 'customers',
        object: '`customers`.*',
        privilege: 'SELECT',
        via: 'direct grant → SELECT on `customers`.*',
        message: "orders's account can SELECT customers's data in database customers",
        fix: "REVOKE SELECT ON `customers`.* FROM 'orders_app'@'%';",
      },
    ]);
  });

  it('through a role that can be SET', () => {
    const [f] = failing('role-direct');
    expect(f).toMatchObject({
      rule: 'cross-service-access',
      account: "'orders_app'@'%'",
      via: 'role reporting_r → SELECT on `customers`.*',
      fix: "REVOKE `reporting_r` FROM 'orders_app'@'%';",
    });
  });

  it('through a default role, at table level', () => {
    const [f] = failing('role-default');
    expect(f).toMatchObject({
      rule: 'cross-service-access',
      object: '`customers`.`accounts`',
      via: 'default role reporting_r → SELECT on `customers`.`accounts`',
      fix: "SET DEFAULT ROLE NONE FOR 'orders_app'@'%'; REVOKE `reporting_r` FROM 'orders_app'@'%';",
    });
  });

  it('through nested roles, at routine level', () => {
    const found = failing('role-nested');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      rule: 'cross-service-access',
      via: 'default role outer_r → role inner_r → EXECUTE on PROCEDURE `customers`.`merge_accounts`',
    });
  });

  it('at column level', () => {
    expect(failing('column-grant')).toMatchObject([
      {
        rule: 'cross-service-access',
        account: "'inventory_app'@'%'",
        targetService: 'orders',
        object: '`orders`.`orders` (`status`)',
        fix: "REVOKE UPDATE (`status`) ON `orders`.`orders` FROM 'inventory_app'@'%';",
      },
    ]);
  });

  it('through PUBLIC, for every service account but the owner', () => {
    const found = failing('public-role');
    const accounts = found.filter((f) => f.rule === 'cross-service-access').map((f) => f.account);
    expect(accounts).toContain("'orders_app'@'%'");
    expect(accounts).not.toContain("'customers_app'@'%'");
    expect(
      found.every((f) => f.via.startsWith('PUBLIC → ') && f.fix === 'REVOKE SELECT ON `customers`.* FROM PUBLIC;'),
    ).toBe(true);
  });

  it('a % pattern is both wide and cross-service', () => {
    const found = failing('wide-db-pattern.trigger');
    expect(found.map((f) => f.rule).sort()).toEqual(['wide-db-pattern']);
    expect(found[0]!.message).toContain('`%`');
  });

  it('an unescaped _ matching another service database', () => {
    const found = failing('wide-db-pattern.underscore');
    expect(found.map((f) => f.rule).sort()).toEqual(['wide-db-pattern']);
    expect(found[0]!.message).toMatch(/unescaped `_`/);
  });

  it('drift is reported once, and not for privileges another rule explains', () => {
    const found = failing('managed-drift.trigger');
    expect(found.map((f) => [f.rule, f.account, f.privilege])).toEqual([
      ['managed-drift', "'orders_app'@'%'", 'CREATE'],
      ['managed-drift', "'dbps_monitor'@'%'", 'SUPER'],
    ]);
    expect(failing('global-data-privileges.trigger').map((f) => f.rule)).toEqual(['global-data-privileges']);
  });

  it('orphans: severity can be raised or turned off', () => {
    const f = loadCatalogFixture('orphan-account.trigger');
    const server = f.fleet.servers[0]!;
    expect(
      auditCatalog(f.fleet, server, f.catalog, { severity: { 'orphan-account': 'error' } }).find(
        (x) => x.rule === 'orphan-account',
      )?.severity,
    ).toBe('error');
    expect(
      auditCatalog(f.fleet, server, f.catalog, { severity: { 'orphan-account': 'off' } }).filter(
        (x) => x.rule === 'orphan-account',
      ),
    ).toEqual([]);
  });

  it('keeps only the selected services', () => {
    const all = audit('role-direct');
    expect(findingsForServices(all, ['customers'])).toHaveLength(1); // customers' data reached by orders
    expect(findingsForServices(all, ['inventory']).map((f) => f.severity)).toEqual(['allowed']); // analytics' declared read
  });
});
