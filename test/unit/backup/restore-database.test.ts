// restore --database, pure parts: the side databases' names stay within MariaDB's 64 characters, and the
// swap is one RENAME TABLE (atomic) that moves every current table out and every restored one in.
import { describe, expect, it } from 'vitest';
import { sideDatabase, swapStatement } from '../../../src/backup/restore-database.js';

describe('restore --database', () => {
  it('names the kept and staging databases after the service database and the time, at most 64 characters', () => {
    expect(sideDatabase('orders', 'before', '20261201T141502Z')).toBe('orders_before_20261201T141502Z');
    expect(sideDatabase('orders', 'restore', '20261201T141502Z')).toBe('orders_restore_20261201T141502Z');
    const long = 'x'.repeat(64);
    expect(sideDatabase(long, 'restore', '20261201T141502Z')).toHaveLength(64);
    expect(sideDatabase(long, 'before', '20261201T141502Z')).toHaveLength(64);
  });

  it('swaps in one statement, identifiers quoted', () => {
    expect(swapStatement('orders', 'orders_restore_t', 'orders_before_t', ['items', 'odd`name'], ['items'])).toBe(
      'RENAME TABLE `orders`.`items` TO `orders_before_t`.`items`, `orders`.`odd``name` TO `orders_before_t`.`odd``name`, `orders_restore_t`.`items` TO `orders`.`items`',
    );
    expect(swapStatement('orders', 's', 'k', [], [])).toBeUndefined();
  });
});
