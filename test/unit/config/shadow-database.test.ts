// shadowDatabase: true gives a service `<database>_shadow`, owned like its own database: validate refuses
// a clash with another service's database, provision's desired state creates it and grants only its migrator.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { desiredServer } from '../../../src/fleet/desired.js';
import { fleetOf } from '../../helpers/fleets.js';

function issues(text: string): string[] {
  try {
    fleetOf(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.line}:${i.column} ${i.message}`);
    throw e;
  }
  return [];
}

describe('shadowDatabase', () => {
  it('is <database>_shadow, a database of the service with the migrator role on it and nothing for the others', () => {
    const fleet = fleetOf(
      'version: 1\nfleet: t\nservers:\n  s: {}\nservices:\n  orders: { server: s, shadowDatabase: true, outbox: true }\n  pay: { server: s }\n',
    );
    expect(fleet.services[0]!.shadowDatabase).toBe('orders_shadow');
    expect(fleet.services[1]!.shadowDatabase).toBeUndefined();
    const d = desiredServer(fleet, fleet.servers[0]!);
    expect(d.databases.map((x) => `${x.service}:${x.name}`)).toStrictEqual([
      'orders:orders',
      'orders:orders_shadow',
      'pay:pay',
    ]);
    const onShadow = d.accounts.flatMap((a) =>
      a.grants.filter((g) => g.scope.level !== 'global' && g.scope.database === 'orders_shadow').map(() => a.user),
    );
    expect(onShadow).toStrictEqual(['orders_migrator']);
    const grant = d.accounts
      .find((a) => a.user === 'orders_migrator')!
      .grants.find((g) => g.scope.level === 'database' && g.scope.database === 'orders_shadow')!;
    expect(grant.privileges).toContain('CREATE');
    expect(grant.privileges).toContain('DROP');
  });

  it("validate rejects a shadow database that is another service's database on the same server, in either order", () => {
    const clash =
      'version: 1\nfleet: t\nservers:\n  s: {}\nservices:\n  a: { server: s, shadowDatabase: true }\n  b: { server: s, database: a_shadow }\n';
    expect(issues(clash)).toStrictEqual([
      expect.stringMatching(
        /^6:19 the shadow database "a_shadow" of service "a" is already the database of service "b"/,
      ),
    ]);
    const reversed =
      'version: 1\nfleet: t\nservers:\n  s: {}\nservices:\n  b: { server: s, database: a_shadow }\n  a: { server: s, shadowDatabase: true }\n';
    expect(issues(reversed)).toHaveLength(1);
    // On different servers the two databases never meet.
    expect(
      issues('version: 1\nfleet: t\nservices:\n  a: { shadowDatabase: true }\n  b: { database: a_shadow }\n'),
    ).toStrictEqual([]);
  });

  it('rejects a shadow name longer than MariaDB allows', () => {
    const long = 'x'.repeat(60);
    expect(issues(`version: 1\nfleet: t\nservices:\n  a: { database: ${long}, shadowDatabase: true }\n`)).toStrictEqual(
      [expect.stringMatching(/shadow database name .* would be 67 characters long/)],
    );
  });
});
