// validate reports every problem of services.yaml in one run: a schema error (a bad name, a bad
// retention) must not hide the semantic checks (a port clash, a cron schedule) of the rest of the file.
import { describe, expect, it } from 'vitest';
import { fleetFromText } from '../../../src/config/from-text.js';
import { ConfigError, type ConfigIssue } from '../../../src/errors.js';

function issuesOf(text: string): ConfigIssue[] {
  try {
    fleetFromText(text, 'services.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error('the file was valid');
}
const messages = (issues: ConfigIssue[]) => issues.map((i) => `${i.line}:${i.column} ${i.message}`);

describe('every problem in one run', () => {
  it('a name error and a bad retention do not hide a port clash or a bad schedule', () => {
    const issues = issuesOf(
      [
        'version: 1',
        'fleet: shop',
        'servers:',
        '  shared: { port: 4000 }',
        'services:',
        '  Orders: {}',
        '  catalog: { port: 4000 }',
        '  billing: { server: shared, backup: { retention: 3x, schedule: "99 * * * *" } }',
        '',
      ].join('\n'),
    );
    const text = messages(issues);
    expect(text).toHaveLength(4);
    expect(text[0]).toMatch(/^6:3 service name "Orders" must start with a lowercase letter/);
    expect(text[1]).toMatch(/^7:20 port 4000 is used by both "shared" and "catalog"/);
    expect(text[2]).toMatch(/^8:51 services\.billing\.backup\.retention is "3x"/);
    expect(text[3]).toMatch(/^8:65 schedule "99 \* \* \* \*": the minute field "99"/);
  });

  it('a retention of zero (semantic) and a bad schedule (semantic) are both reported', () => {
    const text = messages(
      issuesOf('version: 1\nfleet: t\nservices:\n  a: { backup: { retention: 0d, schedule: "* * * *" } }\n'),
    );
    expect(text).toEqual([
      expect.stringMatching(/^4:29 retention "0d" would keep no backup/),
      expect.stringMatching(/^4:43 schedule "\* \* \* \*" is not a cron expression \(4 fields\)/),
    ]);
  });

  it("an undeclared server does not hide the service's own problems", () => {
    const text = messages(
      issuesOf('version: 1\nfleet: t\nservices:\n  a: { server: nowhere, database: mysql }\n  b: { port: 70000 }\n'),
    );
    expect(text).toEqual([
      expect.stringMatching(/^4:16 service "a" names server "nowhere", which is not declared/),
      expect.stringMatching(/^4:35 database name "mysql" is reserved/),
      expect.stringMatching(/^5:14 services\.b\.port is 70000, but a port must be between 1 and 65535/),
    ]);
  });

  it('a key written twice does not hide a bad value or a clash elsewhere', () => {
    const text = messages(
      issuesOf(
        'version: 1\nfleet: t\nservices:\n  a: { port: 4001 }\n  b: { port: 4001, memory: 2GB }\n  a: { port: 4001 }\n',
      ),
    );
    expect(text).toEqual([
      expect.stringMatching(/^5:14 port 4001 is used by both "a" and "b"/),
      expect.stringMatching(/^5:28 services\.b\.memory is "2GB"/),
      expect.stringMatching(/^6:3 service "a" is declared twice/),
    ]);
  });

  it('a bad outbox retention does not hide a missing migrator', () => {
    const text = messages(
      issuesOf(
        'version: 1\nfleet: t\nservices:\n  a: { outbox: { retention: 0m }, users: [ { name: a_app, role: app } ] }\n',
      ),
    );
    expect(text).toEqual([
      expect.stringMatching(/^4:29 outbox retention "0m" would delete every event/),
      expect.stringMatching(/^4:29 service "a" has no migrator account to own the outbox purge event/),
    ]);
  });

  it('a semantic issue inside a value the schema refused is not reported twice', () => {
    // users: is refused as a whole (an entry lacks a role): no second complaint from the default accounts.
    const text = messages(issuesOf('version: 1\nfleet: t\nservices:\n  a: { users: [ { name: root } ] }\n'));
    expect(text).toEqual([expect.stringMatching(/missing the required key "role"/)]);
  });

  it('a file that is not a fleet stops at the schema (nothing to check after it)', () => {
    const text = messages(issuesOf('version: 1\nfleet: t\nservices: 3\n'));
    expect(text).toEqual([expect.stringMatching(/services must be a mapping/)]);
  });
});
