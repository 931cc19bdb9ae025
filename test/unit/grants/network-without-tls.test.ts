// network-without-tls: which servers and accounts it looks at (beside the trigger/pass fixtures of every rule).
import { describe, expect, it } from 'vitest';
import { auditCatalog } from '../../../src/grants/audit.js';
import { loadCatalogFixture } from './catalog-fixtures.js';

const findings = (fixture: string) => {
  const f = loadCatalogFixture(fixture);
  return auditCatalog(f.fleet, f.fleet.servers[0]!, f.catalog, {
    adminUsers: f.adminUsers,
    adminAccounts: f.adminAccounts,
    severity: f.severity,
  }).filter((x) => x.rule === 'network-without-tls');
};

describe('network-without-tls', () => {
  it('names the account on a network host without REQUIRE SSL, with the fix, and nothing local or internal', () => {
    expect(findings('network-without-tls.trigger')).toStrictEqual([
      expect.objectContaining({
        severity: 'warning',
        account: "'orders_app'@'%'",
        service: 'orders',
        message: "'orders_app'@'%' accepts logins from '%' without TLS",
        fix: expect.stringContaining("ALTER USER 'orders_app'@'%' REQUIRE SSL;"),
      }),
    ]);
  });

  it('stays quiet on local servers (127.0.0.1 only) and on servers reached on loopback', () => {
    expect(findings('base')).toStrictEqual([]);
    expect(findings('network-without-tls.loopback')).toStrictEqual([]);
  });
});
