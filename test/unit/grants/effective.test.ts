import { describe, expect, it } from 'vitest';
import {
  couldMatchIp,
  DatabaseIndex,
  databasesReached,
  describePath,
  describeVia,
  effectivePrivileges,
  hasPublicRole,
  isWildPattern,
  patternMatches,
  rowApplies,
  unescapePattern,
} from '../../../src/grants/effective.js';
import { loadCatalogFixture } from './catalog-fixtures.js';

const grantsOf = (fixture: string, user: string) => {
  const { catalog } = loadCatalogFixture(fixture);
  const ea = effectivePrivileges(catalog).find((e) => e.account.user === user)!;
  return ea;
};

describe('database-name patterns', () => {
  it.each([
    ['orders', 'orders', true],
    ['orders', 'ordersX', false],
    ['orders\\_db', 'orders_db', true],
    ['orders\\_db', 'ordersXdb', false],
    ['orders_db', 'ordersXdb', true],
    ['orders_db', 'orders_db', true],
    ['orders%', 'orders_archive', true],
    ['orders%', 'orders', true],
    ['orders\\%', 'orders%', true],
    ['orders\\%', 'orders_archive', false],
    ['%', 'anything', true],
    ['a.b', 'aXb', false],
    ['Orders', 'orders', false],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(patternMatches(pattern, name)).toBe(expected);
  });

  it('knows which patterns are wild', () => {
    expect(isWildPattern('orders')).toBe(false);
    expect(isWildPattern('orders\\_db')).toBe(false);
    expect(isWildPattern('orders\\%')).toBe(false);
    expect(isWildPattern('orders_db')).toBe(true);
    expect(isWildPattern('orders%')).toBe(true);
    expect(isWildPattern('a\\\\_b')).toBe(true);
    expect(unescapePattern('orders\\_db')).toBe('orders_db');
  });
});

describe('database index', () => {
  // The index answers by lookup what a scan with patternMatches answers; both must agree on every case.
  const names = [
    'orders',
    'orders_db',
    'ordersXdb',
    'orders%',
    'orders_archive',
    'customers',
    'a\\b',
    'mysql',
    'Orders',
    'x\nz',
  ];
  const patterns = [
    'orders',
    'orders\\_db',
    'orders_db',
    'orders%',
    'orders\\%',
    '%',
    'customers',
    'nothing',
    'a\\\\b',
    'a\\b',
    'trailing\\',
    'Orders',
    'x\nz',
    'x_z',
    '',
    '_',
  ];

  it.each(patterns)('pattern %j reaches the same databases as a scan', (pattern) => {
    const scan = names.filter((n) => patternMatches(pattern, n));
    expect(new DatabaseIndex(names).reached({ level: 'database', pattern })).toEqual(scan);
    expect(databasesReached({ level: 'database', pattern }, names)).toEqual(scan);
  });

  it('keeps a name listed twice, and answers table, column, routine and global scopes', () => {
    const index = new DatabaseIndex(['a', 'b', 'a']);
    expect(index.reached({ level: 'database', pattern: 'a' })).toEqual(['a', 'a']);
    expect(index.reached({ level: 'table', database: 'b', table: 't' })).toEqual(['b']);
    expect(index.reached({ level: 'column', database: 'c', table: 't', column: 'x' })).toEqual([]);
    expect(index.reached({ level: 'routine', database: 'a', routine: 'p', routineType: 'PROCEDURE' })).toEqual(['a']);
    expect(index.reached({ level: 'global' })).toEqual([]);
    expect(index.reached({ level: 'proxy', user: 'u', host: 'h' })).toEqual([]);
  });

  it('hands out lists the caller may change without changing later answers', () => {
    const index = new DatabaseIndex(['orders', 'orders_x']);
    index.reached({ level: 'database', pattern: 'orders%' }).push('junk');
    expect(index.reached({ level: 'database', pattern: 'orders%' })).toEqual(['orders', 'orders_x']);
  });
});

describe('effective privileges', () => {
  it('lists direct grants of an account with their path', () => {
    const ea = grantsOf('base', 'analytics_app');
    expect(ea.roles).toEqual([]);
    expect(ea.grants.map((g) => g.scope.level).sort()).toEqual(['database', 'table']);
    expect(ea.grants.every((g) => g.path.kind === 'direct')).toBe(true);
  });

  it('reaches a role granted but not default (SET ROLE)', () => {
    const ea = grantsOf('role-direct', 'orders_app');
    expect(ea.roles).toEqual([{ role: 'reporting_r', chain: ['reporting_r'], isDefault: false, withAdmin: false }]);
    const viaRole = ea.grants.find((g) => g.path.kind !== 'direct')!;
    expect(viaRole).toStrictEqual({
      scope: { level: 'database', pattern: 'customers' },
      privileges: ['SELECT'],
      grantOption: false,
      path: { kind: 'role', roles: ['reporting_r'] },
    });
    expect(describeVia(viaRole.path, viaRole.privileges, viaRole.scope)).toBe(
      'role reporting_r → SELECT on `customers`.*',
    );
  });

  it('marks grants of the default role', () => {
    const ea = grantsOf('role-default', 'orders_app');
    const g = ea.grants.find((x) => x.path.kind !== 'direct')!;
    expect(g.path).toEqual({ kind: 'default-role', roles: ['reporting_r'] });
    expect(describePath(g.path)).toBe('default role reporting_r');
  });

  it('follows nested roles transitively', () => {
    const ea = grantsOf('role-nested', 'orders_app');
    expect(ea.roles.map((r) => [r.role, r.chain, r.isDefault])).toEqual([
      ['inner_r', ['outer_r', 'inner_r'], true],
      ['outer_r', ['outer_r'], true],
    ]);
    const g = ea.grants.find((x) => x.scope.level === 'routine')!;
    expect(describeVia(g.path, g.privileges, g.scope)).toBe(
      'default role outer_r → role inner_r → EXECUTE on PROCEDURE `customers`.`merge_accounts`',
    );
  });

  it('does not give a role to accounts it was not granted to', () => {
    const all = effectivePrivileges(loadCatalogFixture('role-unreached').catalog);
    expect(
      all.some((ea) =>
        ea.grants.some(
          (g) =>
            g.scope.level === 'database' &&
            g.scope.pattern === 'customers' &&
            ea.account.user !== 'customers_app' &&
            ea.account.user !== 'customers_migrator' &&
            // dbps_backup's own dump grant on every service database (desired.ts), not through the role.
            ea.account.user !== 'dbps_backup',
        ),
      ),
    ).toBe(false);
    expect(all.find((ea) => ea.account.user === 'reporting_r')).toBeUndefined();
  });

  it('gives PUBLIC grants to every account on servers that have PUBLIC (10.11+)', () => {
    const { catalog } = loadCatalogFixture('public-role');
    const all = effectivePrivileges(catalog);
    for (const ea of all) expect(ea.grants.some((g) => g.path.kind === 'public')).toBe(true);
    expect(hasPublicRole('10.11.14-MariaDB')).toBe(true);
    expect(hasPublicRole('11.8.2-MariaDB')).toBe(true);
    expect(hasPublicRole('10.6.20-MariaDB')).toBe(false);
    const old = effectivePrivileges({ ...catalog, version: '10.6.20-MariaDB' });
    expect(old.some((ea) => ea.grants.some((g) => g.path.kind === 'public'))).toBe(false);
  });

  it('walks the roles granted to PUBLIC, nested, like a default role of every account', () => {
    const { catalog } = loadCatalogFixture('public-role-nested');
    const all = effectivePrivileges(catalog);
    expect(all.length).toBeGreaterThan(5);
    for (const ea of all)
      expect(ea.grants).toContainEqual({
        scope: { level: 'table', database: 'customers', table: 'accounts' },
        privileges: ['SELECT'],
        grantOption: false,
        path: { kind: 'public', roles: ['outer_r', 'inner_r'] },
      });
    expect(describePath({ kind: 'public', roles: ['outer_r', 'inner_r'] })).toBe(
      'PUBLIC → role outer_r → role inner_r',
    );
    const old = effectivePrivileges({ ...catalog, version: '10.6.20-MariaDB' });
    expect(old.some((ea) => ea.grants.some((g) => g.path.kind === 'public'))).toBe(false);
  });

  it('prefers the default chain when a role is reachable both ways', () => {
    const { catalog } = loadCatalogFixture('role-nested');
    catalog.accounts.push({ ...catalog.accounts.find((a) => a.user === 'outer_r')!, user: 'side_r' });
    catalog.roleGrants.push(
      { user: 'orders_app', host: '%', role: 'side_r', withAdmin: false },
      { user: 'side_r', host: '', role: 'inner_r', withAdmin: false },
    );
    const ea = effectivePrivileges(catalog).find((e) => e.account.user === 'orders_app')!;
    expect(ea.roles.find((r) => r.role === 'inner_r')).toEqual({
      role: 'inner_r',
      chain: ['outer_r', 'inner_r'],
      isDefault: true,
      withAdmin: false,
    });
  });
});

describe('grant rows of another host', () => {
  it('are attributed to every account of the user name, with the row and whether its account exists', () => {
    const ea = grantsOf('host-match', 'orders_app');
    expect(ea.grants.filter((g) => g.path.kind === 'host-match')).toStrictEqual([
      {
        scope: { level: 'database', pattern: 'customers' },
        privileges: ['SELECT'],
        grantOption: false,
        path: { kind: 'host-match', roles: [], row: { user: 'orders_app', host: '127.0.0.1', accountExists: false } },
      },
    ]);
    // The account's own rows stay direct; other users never see the row.
    expect(ea.grants.filter((g) => g.path.kind === 'direct').length).toBeGreaterThan(0);
    expect(grantsOf('host-match', 'customers_app').grants.some((g) => g.path.kind === 'host-match')).toBe(false);
  });

  it('procs_priv rows match the account host or a client IP, never a client host name; the other tables match names', () => {
    const ea = grantsOf('host-match-routine', 'orders_app');
    const hostRows = ea.grants.filter((g) => g.path.kind === 'host-match');
    expect(hostRows.map((g) => [g.scope.level, g.path.row?.host])).toEqual([
      ['table', 'localhost'],
      ['routine', '127.0.0.1'],
    ]);
    expect(couldMatchIp('127.0.0.1')).toBe(true);
    expect(couldMatchIp('10.0.%')).toBe(true);
    expect(couldMatchIp('10.0.0.0/255.255.255.0')).toBe(true);
    expect(couldMatchIp('::1')).toBe(true);
    expect(couldMatchIp('%')).toBe(true);
    expect(couldMatchIp('localhost')).toBe(false);
    expect(couldMatchIp('app.internal')).toBe(false);
    expect(couldMatchIp('cafe')).toBe(false);
    // A name row still applies to an account whose host the pattern matches.
    const row = {
      host: '%.internal',
      grant: { scope: { level: 'routine' as const, database: 'd', routine: 'r', routineType: 'PROCEDURE' as const } },
    };
    expect(rowApplies(row, 'app.internal')).toBe(true);
    expect(rowApplies(row, '%')).toBe(false);
  });

  it('role rows are never matched by host', () => {
    const { catalog } = loadCatalogFixture('role-direct');
    for (const ea of effectivePrivileges(catalog))
      expect(ea.grants.some((g) => g.path.kind === 'host-match')).toBe(false);
  });

  it('describes the path', () => {
    expect(describePath({ kind: 'host-match', roles: [], row: { user: 'u', host: '10.%', accountExists: true } })).toBe(
      "grant row of 'u'@'10.%' (another account; matched by user name and client host)",
    );
  });
});
