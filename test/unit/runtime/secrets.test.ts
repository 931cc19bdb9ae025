import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ensureSecrets,
  generatePassword,
  parseSecrets,
  passwordFor,
  readSecrets,
  secretKey,
} from '../../../src/runtime/secrets.js';

describe('secrets.env', () => {
  it('names keys DBPS_PASSWORD_<SERVER>_<USER>, upper-cased, non-alphanumerics as _', () => {
    expect(secretKey('shared-1', 'orders.app')).toBe('DBPS_PASSWORD_SHARED_1_ORDERS_APP');
  });

  it('generates URL-safe passwords of at least 24 characters', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{24,}$/);
    expect(generatePassword()).not.toBe(a);
  });

  it('generates each password once, stores it 0600, and keeps it on later runs (even concurrent ones)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-secrets-'));
    try {
      const [a, b] = await Promise.all([ensureSecrets(dir, ['K1', 'K2']), ensureSecrets(dir, ['K1', 'K2'])]);
      expect(a.get('K1')).toBe(b.get('K1'));
      const again = await ensureSecrets(dir, ['K1', 'K3']);
      expect(again.get('K1')).toBe(a.get('K1'));
      expect(again.get('K3')).toBeDefined();
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
  });
});
