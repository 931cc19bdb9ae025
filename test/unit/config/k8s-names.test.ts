// Names with "_" (and other characters Kubernetes rejects) map predictably; a collision after mapping
// is a `dbps validate` error at the place in services.yaml.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { DNS1123_LABEL, k8sName, k8sNameCollisions } from '../../../src/fleet/k8s-names.js';
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
    expect(issues[0]!.message).toContain('User name "rep-one"');
  });

  it('the same user name on two servers collides too, since both share one namespace', () => {
    const text =
      'version: 1\nfleet: t\nservices:\n  a: { users: [ { name: reporter, role: readonly } ] }\n  b: { users: [ { name: reporter, role: readonly } ] }\n';
    expect(
      issuesOf(text)
        .map((i) => i.message)
        .join('\n'),
    ).toContain('User name "reporter"');
  });
});
