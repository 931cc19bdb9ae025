// outbox: a business row and its event in one transaction, behind an idempotency key.
import { objectName, plainName } from './names.js';
import { outbox, outboxTablePart } from './outbox-table.js';
import type { Pattern, PatternInput } from './types.js';

function build(input: PatternInput) {
  const orders = objectName(input, 'orders');
  const createOrder = objectName(input, 'create_order');
  return [
    outboxTablePart(input),
    {
      part: 'orders',
      summary: `${orders}: the business table, one row per idempotency key`,
      statements: [
        `CREATE TABLE IF NOT EXISTS ${orders} (
  order_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  idempotency_key VARCHAR(128) NOT NULL,
  customer_id BIGINT UNSIGNED NOT NULL,
  total_amount DECIMAL(12,2) NOT NULL,
  status VARCHAR(32) NOT NULL DEFAULT 'created',
  created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY ${plainName(input, 'uq_orders_idempotency_key')} (idempotency_key)
) ENGINE=InnoDB`,
      ],
    },
    {
      part: 'create-order',
      summary: `${createOrder}(key, customer, amount, OUT order_id): the order and its OrderCreated event in one transaction`,
      statements: [
        `CREATE OR REPLACE PROCEDURE ${createOrder}(
  IN p_idempotency_key VARCHAR(128),
  IN p_customer_id BIGINT UNSIGNED,
  IN p_total_amount DECIMAL(12,2),
  OUT p_order_id BIGINT UNSIGNED)
  MODIFIES SQL DATA
  SQL SECURITY INVOKER
  COMMENT 'dbps scaffold outbox: order + OrderCreated in one transaction; a repeated key returns the first order'
BEGIN
  DECLARE v_duplicate BOOLEAN DEFAULT FALSE;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  SET p_order_id = NULL;
  START TRANSACTION;
  BEGIN
    -- The key is claimed by the insert itself, inside the transaction (not checked beforehand):
    -- a concurrent call with the same key waits on the unique index, then takes the path below.
    DECLARE CONTINUE HANDLER FOR 1062 SET v_duplicate = TRUE;
    INSERT INTO ${orders} (idempotency_key, customer_id, total_amount)
      VALUES (p_idempotency_key, p_customer_id, p_total_amount);
  END;
  IF v_duplicate THEN
    -- A locking read sees the committed first order, whatever this transaction's snapshot holds.
    SELECT order_id INTO p_order_id FROM ${orders} WHERE idempotency_key = p_idempotency_key LOCK IN SHARE MODE;
  ELSE
    SET p_order_id = LAST_INSERT_ID();
    INSERT INTO ${outbox(input)} (aggregate_type, aggregate_id, event_type, payload)
      VALUES ('order', p_order_id, 'OrderCreated',
              JSON_OBJECT('order_id', p_order_id, 'customer_id', p_customer_id,
                          'total_amount', p_total_amount, 'idempotency_key', p_idempotency_key));
  END IF;
  COMMIT;
END`,
      ],
    },
  ];
}

export const outboxPattern: Pattern = {
  name: 'outbox',
  summary: 'transactional outbox: the order and its event in one transaction, with an idempotency key',
  fixes:
    'the key is claimed by the INSERT inside the transaction, so concurrent calls with one key return the first order instead of failing with a duplicate-key error',
  build,
};
