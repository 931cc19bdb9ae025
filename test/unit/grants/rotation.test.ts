// The pure half of password rotation: its statements (hashes only, masked display), which sessions
// predate a rotation, and when an unfinished one is overdue for the audit.
import { describe, expect, it } from 'vitest';
import { fleetFromText } from '../../../src/config/from-text.js';
import { auditCatalog } from '../../../src/grants/audit.js';
import {
  addPasswordStatement,
  describeAge,
  finishPasswordStatement,
  type RotationRecord,
  rotationOverdue,
  sessionsBeforeRotation,
} from '../../../src/grants/rotation.js';
import { nativePasswordHash } from '../../../src/grants/sql.js';

describe('rotation statements', () => {
  it('the first step keeps the old hash and adds the new password, as hashes in params only', () => {
    const s = addPasswordStatement('orders_app', '%', '*OLDHASH', 'new-secret');
    expect(s.sql).toBe(
      "ALTER USER 'orders_app'@'%' IDENTIFIED VIA mysql_native_password USING ? OR mysql_native_password USING ?",
    );
    expect(s.params).toEqual(['*OLDHASH', nativePasswordHash('new-secret')]);
    expect(s.display).not.toContain('new-secret');
    expect(s.display).not.toContain(nativePasswordHash('new-secret'));
    expect(JSON.stringify(s)).not.toContain('new-secret');
  });

  it('the last step leaves the new password alone', () => {
    const s = finishPasswordStatement("o'app", 'localhost', 'pw');
    expect(s.sql).toBe("ALTER USER 'o''app'@'localhost' IDENTIFIED VIA mysql_native_password USING ?");
    expect(s.params).toEqual([nativePasswordHash('pw')]);
    expect(s.display).toBe(
      "ALTER USER 'o''app'@'localhost' IDENTIFIED VIA mysql_native_password USING '<new password>'",
    );
  });
});

describe('sessionsBeforeRotation', () => {
  const record = { user: 'orders_app', firstConnectionId: 100, serverStartedAt: 1_700_000_000 };
  const sessions = [
    { id: 42, user: 'orders_app' },
    { id: 99, user: 'orders_app' },
    { id: 100, user: 'orders_app' },
    { id: 150, user: 'orders_app' },
    { id: 7, user: 'orders_migrator' },
  ];

  it("counts the account's sessions with an id below the first step's connection", () => {
    expect(sessionsBeforeRotation(record, sessions, 1_700_000_000)).toEqual([
      { id: 42, user: 'orders_app' },
      { id: 99, user: 'orders_app' },
    ]);
    expect(sessionsBeforeRotation(record, sessions, 1_700_000_001)).toHaveLength(2);
  });

  it('after a restart of the server no session predates the rotation (ids start again)', () => {
    expect(sessionsBeforeRotation(record, sessions, 1_700_000_600)).toEqual([]);
  });
});

describe('rotation age', () => {
  const now = new Date('2026-12-10T12:00:00Z');
  it('overdue after the maximum age in days, and when the start is unreadable', () => {
    expect(rotationOverdue({ startedAt: '2026-12-01T12:00:00Z' }, now, 7)).toBe(true);
    expect(rotationOverdue({ startedAt: '2026-12-05T12:00:00Z' }, now, 7)).toBe(false);
    expect(rotationOverdue({ startedAt: 'yesterday' }, now, 7)).toBe(true);
  });
  it('describes the age', () => {
    expect(describeAge('2026-12-01T08:00:00Z', now)).toBe('9 d 4 h');
    expect(describeAge('2026-12-10T09:00:00Z', now)).toBe('3 h');
    expect(describeAge('2026-12-10T11:48:00Z', now)).toBe('12 min');
  });
});

describe('audit rule rotation-unfinished', () => {
  const yaml = (maxAge?: number) =>
    `version: 1
fleet: f
${maxAge ? `defaults: { rotationMaxAge: ${maxAge} }\n` : ''}servers:
  db: { driver: external, host: db, admin: { user: root } }
services:
  orders: { server: db }
`;
  const catalog = {
    version: '10.11.6-MariaDB',
    accounts: [],
    databases: [],
    dbGrants: [],
    tableGrants: [],
    columnGrants: [],
    routineGrants: [],
    proxyGrants: [],
    roleGrants: [],
  };
  const rotation: RotationRecord = {
    server: 'db',
    service: 'orders',
    user: 'orders_app',
    host: '%',
    source: 'generated',
    startedAt: '2026-12-01T12:00:00Z',
    phase: 'added',
    firstConnectionId: 10,
    serverStartedAt: 1,
  };
  function findings(maxAge: number | undefined, now: Date) {
    const fleet = fleetFromText(yaml(maxAge), 'services.yaml');
    const server = fleet.servers.find((s) => s.name === 'db')!;
    return auditCatalog(fleet, server, catalog as never, { rotations: [rotation], now }).filter(
      (f) => f.rule === 'rotation-unfinished',
    );
  }

  it('reports a rotation older than defaults.rotationMaxAge (default 7 days)', () => {
    expect(findings(undefined, new Date('2026-12-09T12:00:00Z'))).toMatchObject([
      { server: 'db', account: "'orders_app'@'%'", service: 'orders', severity: 'warning' },
    ]);
    expect(findings(undefined, new Date('2026-12-09T12:00:00Z'))[0]!.message).toMatch(
      /started 8 d ago .* not finished: the old password still logs in \(limit: 7 d\)/,
    );
  });

  it('is quiet for a younger rotation, or a longer configured age', () => {
    expect(findings(undefined, new Date('2026-12-03T12:00:00Z'))).toEqual([]);
    expect(findings(30, new Date('2026-12-09T12:00:00Z'))).toEqual([]);
  });
});
