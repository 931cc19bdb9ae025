// What validate accepts, generate can render: supported MariaDB versions, version-aware default
// collations, docker-compose service names, and backup schedules/retentions the operator accepts.
import { describe, expect, it } from 'vitest';
import { cronProblem, retentionProblem } from '../../../src/config/backup-schedule.js';
import { ConfigError } from '../../../src/errors.js';
import { generatedFiles } from '../../../src/generate/files.js';
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

const one = (defaults: string, service = '{}') =>
  `version: 1\nfleet: t\ndefaults: { ${defaults} }\nservices:\n  orders: ${service}\n`;

describe('MariaDB versions', () => {
  it('rejects 10.4 and 10.5 (and 12.x) in validate with the supported range, at the value', () => {
    for (const v of ['10.4', '10.5', '10.5.27'])
      expect(issues(one(`mariadb: "${v}"`))).toStrictEqual([expect.stringMatching(/^3:22 .*10\.6 to 11\.x/)]);
    expect(issues(one('mariadb: "12.0"'))[0]).toMatch(/newer than this dbps knows \(10\.6 to 11\.x\)/);
  });

  it('renders every output for 10.6 and 10.11 (what validate accepts, generate can render)', async () => {
    for (const v of ['10.6', '10.10', '10.11', '11.4', '11.8']) {
      const fleet = fleetOf(one(`mariadb: "${v}"`, '{ backup: { schedule: "@daily", retention: 7d } }'));
      const files = await generatedFiles(fleet, ['mycnf', 'compose', 'prometheus', 'graph', 'k8s']);
      expect(files.length).toBeGreaterThan(4);
    }
  });

  it('defaults utf8mb4 to uca1400_ai_ci from 10.10 and to unicode_520_ci before', () => {
    expect(fleetOf(one('mariadb: "10.6"')).services[0]!.collation).toBe('utf8mb4_unicode_520_ci');
    expect(fleetOf(one('mariadb: "10.6"')).collation).toBe('utf8mb4_unicode_520_ci');
    expect(fleetOf(one('mariadb: "10.10"')).services[0]!.collation).toBe('utf8mb4_uca1400_ai_ci');
    expect(fleetOf(one('mariadb: "11.8"')).services[0]!.collation).toBe('utf8mb4_uca1400_ai_ci');
    // A server's own older version decides for the databases on it, and its my.cnf follows.
    const mixed = fleetOf(
      'version: 1\nfleet: t\nservers:\n  old: { mariadb: "10.6" }\n  empty: { mariadb: "10.6" }\nservices:\n  a: { server: old }\n  b: {}\n',
    );
    expect(mixed.services.map((s) => s.collation)).toStrictEqual(['utf8mb4_unicode_520_ci', 'utf8mb4_uca1400_ai_ci']);
  });

  it('an explicit uca1400 collation on a version before 10.10 is an error at that collation', async () => {
    expect(issues(one('mariadb: "10.6", collation: utf8mb4_uca1400_ai_ci'))).toStrictEqual([
      expect.stringMatching(
        /^3:41 collation "utf8mb4_uca1400_ai_ci" exists only from MariaDB 10\.10.*utf8mb4_unicode_520_ci/,
      ),
    ]);
    expect(issues(one('mariadb: "10.11", collation: utf8mb4_uca1400_ai_ci'))).toStrictEqual([]);
    // A server without services never gets a collation its version lacks in its my.cnf.
    const fleet = fleetOf('version: 1\nfleet: t\nservers:\n  empty: { mariadb: "10.6" }\nservices:\n  b: {}\n');
    const [cnf] = await generatedFiles(fleet, ['mycnf']);
    expect(cnf!.content).toContain('collation_server = utf8mb4_unicode_520_ci');
  });
});

describe('docker-compose service names', () => {
  it('database containers are <server>-db, so a server named prometheus, or x next to x-exporter, no longer clash', () => {
    expect(issues('version: 1\nfleet: t\nservices:\n  prometheus: {}\n')).toStrictEqual([]);
    expect(issues('version: 1\nfleet: t\nservices:\n  a-exporter: {}\n  a: {}\n')).toStrictEqual([]);
    expect(
      issues('version: 1\nfleet: t\nservers:\n  a: {}\n  a-exporter: {}\nservices:\n  s: { server: a }\n'),
    ).toStrictEqual([]);
  });
});

describe('backup schedules and retention', () => {
  it('accepts five-field cron expressions and the descriptors', () => {
    for (const ok of [
      '0 3 * * *',
      '*/15 * * * *',
      '0 1-5/2 * * mon-fri',
      '30 2 1,15 * ?',
      '0 0 1 JAN *',
      '0 4 * * 7',
      '@daily',
      '@hourly',
      '@weekly',
      '@Monthly',
    ])
      expect(cronProblem(ok), ok).toBeUndefined();
  });

  it('rejects words, wrong field counts, out-of-range values and bad steps', () => {
    for (const bad of [
      'every day',
      '0 3 * *',
      '0 3 * * * *',
      '60 3 * * *',
      '0 24 * * *',
      '0 3 0 * *',
      '0 3 * 13 *',
      '*/0 * * * *',
      '5-1 * * * *',
      '@nightly',
      '0 3 * * funday',
    ])
      expect(cronProblem(bad), bad).toMatch(/schedule/);
    expect(issues(one('', '{ backup: { schedule: "every day" } }'))).toStrictEqual([
      expect.stringMatching(/^5:33 schedule "every day" is not a cron expression/),
    ]);
  });

  it('rejects a retention of zero, which would keep nothing', () => {
    expect(retentionProblem('0h')).toMatch(/keep no backup/);
    expect(retentionProblem('00d')).toMatch(/keep no backup/);
    expect(retentionProblem('1h')).toBeUndefined();
    expect(issues(one('', '{ backup: { retention: 0d } }'))[0]).toMatch(/^5:34 retention "0d"/);
  });
});
