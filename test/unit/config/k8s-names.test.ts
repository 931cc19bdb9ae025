// Names with "_" (and other characters Kubernetes rejects) map predictably; a collision after mapping
// is a `dbps validate` error at the place in services.yaml.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { DNS1123_LABEL, k8sName, k8sNameCollisions, k8sObjectNames } from '../../../src/fleet/k8s-names.js';
import { fleetOf } from '../../helpers/fleets.js';

function issuesOf(text: string): { line: number; column: number; message: string }[] {
  try {
    fleetOf(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
}

describe('k8sName', () => {
  it.each([
    ['orders', 'orders'],
    ['order_svc', 'order-svc'],
    ['Report.Reader$1', 'report-reader-1'],
    ['_x_', 'x'],
    ['a__b', 'a--b'],
    ['9lives', '9lives'],
    ['___', 'x'],
  ])('%s -> %s (valid DNS-1123)', (input, expected) => {
    expect(k8sName(input)).toBe(expected);
    expect(k8sName(input)).toMatch(DNS1123_LABEL);
  });
});

describe('collisions', () => {
  it('a fleet whose names differ after mapping has none', () => {
    expect(
      k8sNameCollisions(
        fleetOf('version: 1\nfleet: t\nservices:\n  order_svc: {}\n  order_svc2: {}\n  billing-v2: {}\n'),
      ),
    ).toStrictEqual([]);
  });

  it('two services mapping to one name are a validate error at the second, naming the first place', () => {
    const text =
      'version: 1\nfleet: t\nservices:\n  order_svc: { users: [ { name: a_app, role: app } ] }\n  order-svc: { users: [ { name: b_app, role: app } ] }\n';
    const issues = issuesOf(text);
    expect(issues.length).toBeGreaterThan(0);
    const first = issues[0]!;
    expect(first.line).toBe(5);
    expect(first.column).toBe(3);
    expect(first.message).toContain('order-svc');
    expect(first.message).toContain('services.yaml:4:3');
    expect(first.message).toMatch(/Kubernetes (MariaDB|Database|NetworkPolicy) name "order-svc"/);
  });

  it('two accounts mapping to one User name point at the users entry', () => {
    const text =
      'version: 1\nfleet: t\nservers: { s: {} }\nservices:\n  a: { server: s, users: [ { name: rep_one, role: readonly } ] }\n  b: { server: s, users: [ { name: rep.one, role: readonly } ] }\n';
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.line).toBe(6);
    expect(issues[0]!.message).toContain(`account 'rep.one'@'%'`);
    expect(issues[0]!.message).toContain('User name "s-rep-one"');
    expect(issues[0]!.message).toContain(
      '"rep_one" and "rep.one" differ only in such characters; rename one of the users',
    );
  });

  it('the same user name on two servers, or one user with two hosts, gets distinct valid names', () => {
    const fleet = fleetOf(
      'version: 1\nfleet: t\nservices:\n  a: { users: [ { name: reporter, role: readonly } ] }\n  b: { users: [ { name: reporter, role: readonly }, { name: reporter, role: readonly, host: "10.0.%" }, { name: reporter, role: readonly, host: "10-0-%" } ] }\n',
    );
    expect(k8sNameCollisions(fleet)).toStrictEqual([]);
    const users = k8sObjectNames(fleet)
      .filter((o) => o.kind === 'User' && o.what.includes('reporter'))
      .map((o) => o.name);
    expect(users).toHaveLength(4);
    expect(new Set(users).size).toBe(4);
    expect(users.slice(0, 2)).toStrictEqual(['a-reporter', 'b-reporter']);
    for (const name of users) expect(name).toMatch(DNS1123_LABEL);
    expect(users[2]).toMatch(/^b-reporter-10-0-[0-9a-f]{6}$/);
  });

  it('long names are cut to fit Kubernetes limits with a hash, still distinct', () => {
    const long = 'u'.repeat(79);
    const fleet = fleetOf(
      `version: 1\nfleet: t\nservices:\n  ${'s'.repeat(60)}: { users: [ { name: ${long}a, role: app, host: "${'h'.repeat(200)}" }, { name: ${long}b, role: app, host: "${'h'.repeat(200)}" } ] }\n`,
    );
    expect(k8sNameCollisions(fleet)).toStrictEqual([]);
    for (const o of k8sObjectNames(fleet)) {
      expect(o.name.length).toBeLessThanOrEqual(253);
      expect(o.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });
});
