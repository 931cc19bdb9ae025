import { describe, expect, it } from 'vitest';
import type { Change } from '../../../src/grants/diff.js';
import { nativePasswordHash, statementFor } from '../../../src/grants/sql.js';

const base = { server: 's', object: 'o', reason: 'r', destructive: false };
const pw = { source: 'generated' as const, name: 'K' };
const SAMPLES: Change[] = [
  { ...base, kind: 'create-database', database: 'a_b', charset: 'utf8mb4', collation: 'utf8mb4_uca1400_ai_ci' },
  { ...base, kind: 'alter-database', database: 'a_b', charset: 'utf8mb4', collation: 'utf8mb4_bin' },
  { ...base, kind: 'create-outbox-table', database: 'o', table: 'o_events_outbox' },
  { ...base, kind: 'create-user', user: "o'app", host: '%', password: pw, maxUserConnections: 5, requireSsl: true },
  { ...base, kind: 'alter-user', user: 'u', host: '%', password: pw, unlock: true },
  {
    ...base,
    kind: 'grant',
    user: 'u',
    host: '%',
    target: { level: 'database', pattern: 'a\\_b' },
    privileges: ['SELECT'],
  },
  {
    ...base,
    kind: 'grant',
    user: 'u',
    host: '%',
    target: { level: 'column', database: 'd', table: 't', column: 'c' },
    privileges: ['UPDATE'],
  },
  {
    ...base,
    kind: 'revoke',
    user: 'u',
    host: '%',
    target: { level: 'routine', database: 'd', routine: 'p', routineType: 'PROCEDURE' },
    privileges: ['EXECUTE'],
  },
  { ...base, kind: 'revoke-role', user: 'u', host: '%', role: 'r' },
  { ...base, kind: 'revoke-proxy', user: 'u', host: '%', proxiedUser: 'root', proxiedHost: 'localhost' },
  { ...base, kind: 'revoke-public', target: { level: 'database', pattern: 'c' }, privileges: ['SELECT'] },
  { ...base, kind: 'revoke-public-role', role: 'r' },
  { ...base, kind: 'drop-user', user: 'u', host: '%', destructive: true },
  { ...base, kind: 'drop-database', database: 'x`y', tables: 0, destructive: true },
];

describe('statementFor', () => {
  it('computes PASSWORD() of mysql_native_password locally (value checked against MariaDB 10.11)', () => {
    expect(nativePasswordHash('secretpw1')).toBe('*BD56F011259C68A94F820D9B1EBE7C3FC0218E3C');
  });

  it('keeps passwords out of sql and display; only the hash travels, as a parameter', () => {
    const secret = 'p@ss\'word"; DROP';
    for (const c of SAMPLES) {
      const s = statementFor(c, () => secret);
      expect(s.sql).not.toContain(secret);
      expect(s.display).not.toContain(secret);
      expect(JSON.stringify(s.params)).not.toContain(secret);
      expect(s.display).not.toContain(nativePasswordHash(secret));
    }
    const create = statementFor(SAMPLES[3]!, () => secret);
    expect(create).toEqual({
      sql: "CREATE USER 'o''app'@'%' IDENTIFIED BY PASSWORD ? REQUIRE SSL WITH MAX_USER_CONNECTIONS 5",
      params: [nativePasswordHash(secret)],
      display: "CREATE USER 'o''app'@'%' IDENTIFIED BY PASSWORD '********' REQUIRE SSL WITH MAX_USER_CONNECTIONS 5",
    });
  });

  it('writes the SQL of every kind', () => {
    expect(SAMPLES.map((c) => statementFor(c, () => 'x').display.split('\n')[0])).toEqual([
      'CREATE DATABASE IF NOT EXISTS `a_b` CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci',
      'ALTER DATABASE `a_b` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin',
      'CREATE TABLE IF NOT EXISTS `o`.`o_events_outbox` (',
      "CREATE USER 'o''app'@'%' IDENTIFIED BY PASSWORD '********' REQUIRE SSL WITH MAX_USER_CONNECTIONS 5",
      "ALTER USER 'u'@'%' IDENTIFIED BY PASSWORD '********' ACCOUNT UNLOCK",
      "GRANT SELECT ON `a\\_b`.* TO 'u'@'%'",
      "GRANT UPDATE (`c`) ON `d`.`t` TO 'u'@'%'",
      "REVOKE EXECUTE ON PROCEDURE `d`.`p` FROM 'u'@'%'",
      "REVOKE `r` FROM 'u'@'%'",
      "REVOKE PROXY ON 'root'@'localhost' FROM 'u'@'%'",
      'REVOKE SELECT ON `c`.* FROM PUBLIC',
      'REVOKE `r` FROM PUBLIC',
      "DROP USER IF EXISTS 'u'@'%'",
      'DROP DATABASE IF EXISTS `x``y`',
    ]);
  });
});
