// read-model: a denormalized read table kept exact by the procedure that writes the write table.
import { objectName, plainName } from './names.js';
import type { Pattern, PatternInput } from './types.js';

function build(input: PatternInput) {
  const items = objectName(input, 'order_items');
  const read = objectName(input, 'orders_read');
  const add = objectName(input, 'add_order_item');
  const remove = objectName(input, 'remove_order_item');
  const handler = 'DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;';
  return [
    {
      part: 'order-items',
      summary: `${items} (write side) and ${read} (read side: counts and totals per order)`,
      statements: [
        `CREATE TABLE IF NOT EXISTS ${items} (
  item_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id BIGINT UNSIGNED NOT NULL,
  product_id BIGINT UNSIGNED NOT NULL,
  quantity INT UNSIGNED NOT NULL,
  unit_price DECIMAL(12,2) NOT NULL,
  created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ${plainName(input, 'idx_order_items_order')} (order_id),
  CONSTRAINT ${plainName(input, 'chk_order_items_quantity')} CHECK (quantity > 0)
) ENGINE=InnoDB`,
        `CREATE TABLE IF NOT EXISTS ${read} (
  order_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  item_count INT NOT NULL,
  total_quantity BIGINT NOT NULL,
  total_amount DECIMAL(14,2) NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB`,
      ],
    },
    {
      part: 'maintain-orders-read',
      summary: `${add}(order, product, quantity, unit_price, OUT item_id) and ${remove}(item_id, OUT removed): write and read side in one transaction`,
      statements: [
        `CREATE OR REPLACE PROCEDURE ${add}(
  IN p_order_id BIGINT UNSIGNED,
  IN p_product_id BIGINT UNSIGNED,
  IN p_quantity INT UNSIGNED,
  IN p_unit_price DECIMAL(12,2),
  OUT p_item_id BIGINT UNSIGNED)
  MODIFIES SQL DATA
  SQL SECURITY INVOKER
  COMMENT 'dbps scaffold read-model: adds an item and its totals in one transaction'
BEGIN
  ${handler}
  START TRANSACTION;
  INSERT INTO ${items} (order_id, product_id, quantity, unit_price)
    VALUES (p_order_id, p_product_id, p_quantity, p_unit_price);
  SET p_item_id = LAST_INSERT_ID();
  -- Increments made by the server under the read row's lock (no read-then-write in the procedure):
  -- concurrent writers add up, none overwrites another.
  INSERT INTO ${read} (order_id, item_count, total_quantity, total_amount)
    VALUES (p_order_id, 1, p_quantity, p_quantity * p_unit_price)
  ON DUPLICATE KEY UPDATE
    item_count = item_count + 1,
    total_quantity = total_quantity + VALUES(total_quantity),
    total_amount = total_amount + VALUES(total_amount);
  COMMIT;
END`,
        `CREATE OR REPLACE PROCEDURE ${remove}(IN p_item_id BIGINT UNSIGNED, OUT p_removed BOOLEAN)
  MODIFIES SQL DATA
  SQL SECURITY INVOKER
  COMMENT 'dbps scaffold read-model: removes an item and takes it off the totals, once'
BEGIN
  DECLARE v_order BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_quantity INT UNSIGNED DEFAULT NULL;
  DECLARE v_price DECIMAL(12,2) DEFAULT NULL;
  ${handler}
  SET p_removed = FALSE;
  START TRANSACTION;
  SELECT order_id, quantity, unit_price INTO v_order, v_quantity, v_price
    FROM ${items} WHERE item_id = p_item_id FOR UPDATE;
  IF v_order IS NOT NULL THEN
    DELETE FROM ${items} WHERE item_id = p_item_id;
    UPDATE ${read}
      SET item_count = item_count - 1,
          total_quantity = total_quantity - v_quantity,
          total_amount = total_amount - v_quantity * v_price
      WHERE order_id = v_order;
    SET p_removed = TRUE;
  END IF;
  COMMIT;
END`,
      ],
    },
  ];
}

export const readModelPattern: Pattern = {
  name: 'read-model',
  summary: 'CQRS read model: orders_read with item counts and totals, maintained with the write table',
  fixes:
    'updates the read row with server-side increments in the same transaction as the write, so counts and totals stay exact under concurrent writes (no read-then-write, no lost update)',
  build,
};
