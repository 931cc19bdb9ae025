// reservation: a saga step holding stock for an order, with compensation and expiry.
import { objectName, plainName } from './names.js';
import { outbox, outboxTablePart } from './outbox-table.js';
import type { Pattern, PatternInput } from './types.js';

/**
 * The transactions that end a hold read the reservation before they lock the stock row. Under
 * REPEATABLE READ, MariaDB 11.6+ (innodb_snapshot_isolation=ON by default) refuses to lock a row that
 * changed after that first read (error 1020, "Record has changed since last read"), so concurrent
 * releases of one product would fail instead of queueing. Every decision is taken under the row
 * locks, so READ COMMITTED is as safe here and behaves the same on every version.
 */
const READ_COMMITTED = 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED;';

/** How often the expiry event runs; a hold outlives its expiry by at most this long. */
export const EXPIRY_EVERY_SECONDS = 2;

function build(input: PatternInput) {
  const stock = objectName(input, 'stock');
  const reservations = objectName(input, 'reservations');
  const reserve = objectName(input, 'reserve_stock');
  const end = objectName(input, 'end_reservation');
  const release = objectName(input, 'release_stock');
  const confirm = objectName(input, 'confirm_stock');
  const expireAll = objectName(input, 'release_expired_reservations');
  const event = objectName(input, 'expire_reservations');
  const handler = 'DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;';
  return [
    outboxTablePart(input),
    {
      part: 'stock',
      summary: `${stock} and ${reservations}: available quantity per product, one reservation per order`,
      statements: [
        `CREATE TABLE IF NOT EXISTS ${stock} (
  product_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  -- Signed on purpose: on an UNSIGNED column the subtraction fails with an out-of-range error
  -- before the CHECK is consulted, so the CHECK could never fire.
  available_quantity INT NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  CONSTRAINT ${plainName(input, 'chk_stock_available')} CHECK (available_quantity >= 0)
) ENGINE=InnoDB`,
        `CREATE TABLE IF NOT EXISTS ${reservations} (
  reservation_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id BIGINT UNSIGNED NOT NULL,
  product_id BIGINT UNSIGNED NOT NULL,
  quantity INT UNSIGNED NOT NULL,
  status ENUM('held', 'confirmed', 'released', 'expired') NOT NULL DEFAULT 'held',
  expires_at DATETIME(6) NOT NULL,
  created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY ${plainName(input, 'uq_reservations_order')} (order_id),
  KEY ${plainName(input, 'idx_reservations_expiry')} (status, expires_at),
  CONSTRAINT ${plainName(input, 'chk_reservations_quantity')} CHECK (quantity > 0)
) ENGINE=InnoDB`,
      ],
    },
    {
      part: 'reserve',
      summary: `${reserve}(order, product, quantity, hold_seconds, OUT status): 'held' or 'refused', never more than the stock`,
      statements: [
        `CREATE OR REPLACE PROCEDURE ${reserve}(
  IN p_order_id BIGINT UNSIGNED,
  IN p_product_id BIGINT UNSIGNED,
  IN p_quantity INT UNSIGNED,
  IN p_hold_seconds INT UNSIGNED,
  OUT p_status VARCHAR(16))
  MODIFIES SQL DATA
  SQL SECURITY INVOKER
  COMMENT 'dbps scaffold reservation: hold stock for an order (saga step)'
BEGIN
  DECLARE v_available INT DEFAULT NULL;
  DECLARE v_existing VARCHAR(16) DEFAULT NULL;
  ${handler}
  SET p_status = NULL;
  START TRANSACTION;
  -- Inside the transaction, so the stock row stays locked until COMMIT: concurrent reservations
  -- of one product queue here and each sees what the previous one left.
  SELECT available_quantity INTO v_available FROM ${stock} WHERE product_id = p_product_id FOR UPDATE;
  SELECT status INTO v_existing FROM ${reservations} WHERE order_id = p_order_id;
  IF v_existing IS NOT NULL THEN
    -- A retried call answers what the first one did.
    COMMIT;
    SET p_status = v_existing;
  ELSEIF v_available IS NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'reserve_stock: no such product in stock';
  ELSEIF v_available < p_quantity THEN
    COMMIT;
    SET p_status = 'refused';
  ELSE
    UPDATE ${stock} SET available_quantity = available_quantity - p_quantity WHERE product_id = p_product_id;
    INSERT INTO ${reservations} (order_id, product_id, quantity, expires_at)
      VALUES (p_order_id, p_product_id, p_quantity, NOW(6) + INTERVAL p_hold_seconds SECOND);
    COMMIT;
    SET p_status = 'held';
  END IF;
END`,
      ],
    },
    {
      part: 'release',
      summary: `${release}(order, OUT released) (compensation) and ${confirm}(order, OUT confirmed): each acts at most once`,
      statements: [
        `CREATE OR REPLACE PROCEDURE ${end}(
  IN p_order_id BIGINT UNSIGNED,
  IN p_new_status VARCHAR(16),
  OUT p_done BOOLEAN)
  MODIFIES SQL DATA
  SQL SECURITY INVOKER
  COMMENT 'dbps scaffold reservation: ends a held reservation inside the caller''s transaction'
BEGIN
  DECLARE v_product BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_quantity INT UNSIGNED DEFAULT NULL;
  DECLARE v_available INT DEFAULT NULL;
  SET p_done = FALSE;
  SELECT product_id INTO v_product FROM ${reservations} WHERE order_id = p_order_id;
  IF v_product IS NOT NULL THEN
    -- The stock row first, then the reservation: the order reserve_stock locks them in, so the
    -- two never deadlock.
    SELECT available_quantity INTO v_available FROM ${stock} WHERE product_id = v_product FOR UPDATE;
    -- Re-read under the lock: of two concurrent calls for one order the second finds it no longer
    -- held and does nothing.
    SELECT quantity INTO v_quantity FROM ${reservations}
      WHERE order_id = p_order_id AND status = 'held'
        AND (p_new_status <> 'expired' OR expires_at <= NOW(6))
        AND (p_new_status <> 'confirmed' OR expires_at > NOW(6))
      FOR UPDATE;
    IF v_quantity IS NOT NULL THEN
      UPDATE ${reservations} SET status = p_new_status WHERE order_id = p_order_id;
      IF p_new_status <> 'confirmed' THEN
        UPDATE ${stock} SET available_quantity = available_quantity + v_quantity WHERE product_id = v_product;
      END IF;
      SET p_done = TRUE;
    END IF;
  END IF;
END`,
        `CREATE OR REPLACE PROCEDURE ${release}(IN p_order_id BIGINT UNSIGNED, OUT p_released BOOLEAN)
  MODIFIES SQL DATA
  SQL SECURITY INVOKER
  COMMENT 'dbps scaffold reservation: compensation; gives a held reservation back to stock once'
BEGIN
  ${handler}
  ${READ_COMMITTED}
  START TRANSACTION;
  CALL ${end}(p_order_id, 'released', p_released);
  COMMIT;
END`,
        `CREATE OR REPLACE PROCEDURE ${confirm}(IN p_order_id BIGINT UNSIGNED, OUT p_confirmed BOOLEAN)
  MODIFIES SQL DATA
  SQL SECURITY INVOKER
  COMMENT 'dbps scaffold reservation: turns a live hold into a sale'
BEGIN
  ${handler}
  ${READ_COMMITTED}
  START TRANSACTION;
  CALL ${end}(p_order_id, 'confirmed', p_confirmed);
  COMMIT;
END`,
      ],
    },
    {
      part: 'expiry',
      summary: `event ${event} (every ${EXPIRY_EVERY_SECONDS} s): releases expired holds, one ReservationExpired per release that happened`,
      statements: [
        `CREATE OR REPLACE PROCEDURE ${expireAll}(OUT p_expired INT)
  MODIFIES SQL DATA
  SQL SECURITY INVOKER
  COMMENT 'dbps scaffold reservation: releases expired holds and writes ReservationExpired for each'
BEGIN
  DECLARE v_last BIGINT UNSIGNED DEFAULT 0;
  DECLARE v_id BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_order BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_done BOOLEAN DEFAULT FALSE;
  ${handler}
  SET p_expired = 0;
  expiry: LOOP
    SET v_id = NULL;
    SELECT reservation_id, order_id INTO v_id, v_order FROM ${reservations}
      WHERE status = 'held' AND expires_at <= NOW(6) AND reservation_id > v_last
      ORDER BY reservation_id LIMIT 1;
    IF v_id IS NULL THEN
      LEAVE expiry;
    END IF;
    SET v_last = v_id;
    ${READ_COMMITTED}
    START TRANSACTION;
    CALL ${end}(v_order, 'expired', v_done);
    -- Only a release that happened is announced: one released or confirmed meanwhile is skipped.
    IF v_done THEN
      INSERT INTO ${outbox(input)} (aggregate_type, aggregate_id, event_type, payload)
        SELECT 'reservation', order_id, 'ReservationExpired',
               JSON_OBJECT('order_id', order_id, 'product_id', product_id, 'quantity', quantity,
                           'expires_at', DATE_FORMAT(expires_at, '%Y-%m-%dT%H:%i:%s.%f'))
          FROM ${reservations} WHERE reservation_id = v_id;
      SET p_expired = p_expired + 1;
    END IF;
    COMMIT;
  END LOOP;
END`,
        `CREATE OR REPLACE EVENT ${event}
  ON SCHEDULE EVERY ${EXPIRY_EVERY_SECONDS} SECOND
  ON COMPLETION PRESERVE
  ENABLE
  COMMENT 'dbps scaffold reservation: needs event_scheduler=ON (dbps oltp profile)'
  DO CALL ${expireAll}(@dbps_expired)`,
      ],
    },
  ];
}

export const reservationPattern: Pattern = {
  name: 'reservation',
  summary: 'saga step: reserve stock with expiry, release (compensation), confirm, and an expiry event',
  fixes:
    'locks the stock row inside the transaction, releases each hold at most once, announces only releases that happened, and keeps the CHECK on a signed column where it can fire',
  build,
};
