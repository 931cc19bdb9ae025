import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ensureSecrets,
  generatePassword,
  legacySecretKey,
  parseSecretKey,
  parseSecrets,
  passwordFor,
  readSecrets,
  secretKey,
  storedPassword,
} from '../../../src/runtime/secrets.js';

describe('secrets.env', () => {
  it('names keys DBPS_PASSWORD__<server>__<user>: shell names, reversible, odd names as _<hex>', () => {
    expect(secretKey('shared', 'orders_app')).toBe('DBPS_PASSWORD__shared__orders_app');
    expect(secretKey('shared-1', 'orders_app')).toBe('DBPS_PASSWORD___7368617265642D31__orders_app');
    expect(secretKey('s', 'a.b=c%d é')).toBe('DBPS_PASSWORD__s___612E623D63256420C3A9');
    for (const [server, user] of [
      ['shared', 'orders_app'],
      ['a_', 'b'],
      ['a', '_b'],
      ['a__b', 'c'],
      ['s$1', 'u.x-y'],
      ['Srv', 'é'],
    ] as const) {
      expect(secretKey(server, user)).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      expect(parseSecretKey(secretKey(server, user))).toStrictEqual({ server, user });
    }
    expect(parseSecretKey('DBPS_PASSWORD_SHARED_ORDERS_APP')).toBeUndefined();
    // The old form, still read where unambiguous.
    expect(legacySecretKey('shared-1', 'orders.app')).toBe('DBPS_PASSWORD_SHARED_1_ORDERS_APP');
  });

  it('gives server a + user b_app and server a_b + user app different keys (the old form did not)', () => {
    expect(legacySecretKey('a', 'b_app')).toBe(legacySecretKey('a_b', 'app'));
    expect(secretKey('a', 'b_app')).not.toBe(secretKey('a_b', 'app'));
    // No two of these pairs share a key: case, `-` vs `_` and the server/user boundary all count.
    const pairs: [string, string][] = [
      ['a', 'b_app'],
      ['a_b', 'app'],
      ['a-b', 'app'],
      ['a', 'b-app'],
      ['a.b', 'app'],
      ['a', 'b.app'],
      ['a', 'App'],
      ['a', 'app'],
      ['a_', 'b'],
      ['a', '_b'],
      ['a__b', 'c'],
      ['a', 'b__c'],
    ];
    expect(new Set(pairs.map(([s, u]) => secretKey(s, u))).size).toBe(pairs.length);
    for (const [s, u] of pairs) expect(parseSecrets(`${secretKey(s, u)}=pw`).get(secretKey(s, u))).toBe('pw');
  });

  it('reads an old-form key only when no other account of the fleet maps to it', () => {
    const owners = [
      { server: 'a', user: 'b_app' },
      { server: 'a_b', user: 'app' },
      { server: 'shared', user: 'orders_app' },
    ];
    const old = parseSecrets('DBPS_PASSWORD_A_B_APP=shared-by-two\nDBPS_PASSWORD_SHARED_ORDERS_APP=old-orders\n');
    expect(storedPassword(old, 'shared', 'orders_app', owners)).toBe('old-orders');
    expect(storedPassword(old, 'a', 'b_app', owners)).toBeUndefined();
    expect(storedPassword(old, 'a_b', 'app', owners)).toBeUndefined();
    // Without the fleet (or with only one of the pair in it) the old key is the password on the server.
    expect(storedPassword(old, 'a', 'b_app')).toBe('shared-by-two');
    expect(storedPassword(old, 'a', 'b_app', owners.slice(0, 1))).toBe('shared-by-two');
    // A new-form key wins over the old one.
    old.set(secretKey('shared', 'orders_app'), 'new-orders');
    expect(storedPassword(old, 'shared', 'orders_app', owners)).toBe('new-orders');
  });

  it('moves unambiguous old keys to the new form and gives each of an ambiguous pair its own password', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-secrets-'));
    try {
      await writeFile(
        path.join(dir, 'secrets.env'),
        'DBPS_PASSWORD_A_B_APP=shared-by-two\nDBPS_PASSWORD_SHARED_ORDERS_APP=old-orders\n',
        { mode: 0o600 },
      );
      const owners = [
        { server: 'a', user: 'b_app' },
        { server: 'a_b', user: 'app' },
        { server: 'shared', user: 'orders_app' },
      ];
      const s = await ensureSecrets(dir, owners);
      expect(s.get(secretKey('shared', 'orders_app'))).toBe('old-orders');
      const x = s.get(secretKey('a', 'b_app'));
      const y = s.get(secretKey('a_b', 'app'));
      expect(new Set([x, y, 'shared-by-two']).size).toBe(3);
      expect(await readSecrets(dir)).toEqual(s);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('generates URL-safe passwords of at least 24 characters', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{24,}$/);
    expect(generatePassword()).not.toBe(a);
  });

  it('generates each password once, stores it 0600, and keeps it on later runs (even concurrent ones)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-secrets-'));
    try {
      const [o1, o2, o3] = [
        { server: 's', user: 'u1' },
        { server: 's', user: 'u2' },
        { server: 's', user: 'u3' },
      ];
      const K1 = secretKey('s', 'u1');
      const [a, b] = await Promise.all([ensureSecrets(dir, [o1, o2]), ensureSecrets(dir, [o1, o2])]);
      expect(a.get(K1)).toBe(b.get(K1));
      const again = await ensureSecrets(dir, [o1, o3]);
      expect(again.get(K1)).toBe(a.get(K1));
      expect(again.get(secretKey('s', 'u3'))).toBeDefined();
      expect((await stat(path.join(dir, 'secrets.env'))).mode & 0o777).toBe(0o600);
      expect(await readSecrets(dir)).toEqual(again);
      expect(parseSecrets(await readFile(path.join(dir, 'secrets.env'), 'utf8')).size).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prefers passwordEnv over the stored secret', () => {
    const secrets = new Map([[secretKey('s', 'u'), 'stored']]);
    expect(passwordFor({ server: 's', user: 'u' }, secrets, {})).toBe('stored');
    expect(passwordFor({ server: 's', user: 'u', passwordEnv: 'P' }, secrets, { P: 'from-env' })).toBe('from-env');
    // An empty value is no password at all, not the empty password.
    expect(passwordFor({ server: 's', user: 'u', passwordEnv: 'P' }, secrets, { P: '' })).toBeUndefined();
  });
});
