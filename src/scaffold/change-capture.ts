// change-capture: an AFTER UPDATE trigger writing each real change to the service's outbox.
import { objectName } from './names.js';
import { outbox, outboxTablePart } from './outbox-table.js';
import type { Pattern, PatternInput } from './types.js';

/** The watched columns of the example table; edit the list (and the table) for your own. */
export const CAPTURED_COLUMNS = ['name', 'email', 'phone'] as const;

function build(input: PatternInput) {
  const table = objectName(input, 'customers');
  const trigger = objectName(input, 'customers_capture_update');
  const all = ['customer_id', ...CAPTURED_COLUMNS];
  const same = all.map((c) => `OLD.${c} <=> NEW.${c}`).join('\n      AND ');
  const obj = (row: 'OLD' | 'NEW') => `JSON_OBJECT(${all.map((c) => `'${c}', ${row}.${c}`).join(', ')})`;
  return [
    outboxTablePart(input),
    {
      part: 'customers',
      summary: `${table}: the watched table (an example: adapt the columns to yours)`,
      statements: [
        `CREATE TABLE IF NOT EXISTS ${table} (
  customer_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  email VARCHAR(255) NULL,
  phone VARCHAR(64) NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB`,
      ],
    },
    {
      part: 'customers-capture',
      summary: `trigger ${trigger}: a CustomerChanged event per row whose watched columns changed, NULLs included`,
      statements: [
        `CREATE OR REPLACE TRIGGER ${trigger}
  AFTER UPDATE ON ${table}
  FOR EACH ROW
BEGIN
  -- <=> is NULL-safe: NULL -> value and value -> NULL are changes (with != they compare as NULL,
  -- which is not true, and nothing would be emitted).
  IF NOT (${same}) THEN
    INSERT INTO ${outbox(input)} (aggregate_type, aggregate_id, event_type, payload)
      VALUES ('customer', NEW.customer_id, 'CustomerChanged',
              JSON_OBJECT('before', ${obj('OLD')},
                          'after', ${obj('NEW')}));
  END IF;
END`,
      ],
    },
  ];
}

export const changeCapturePattern: Pattern = {
  name: 'change-capture',
  summary: "change capture: an AFTER UPDATE trigger writing change events to the service's outbox",
  fixes: 'compares NULL-safely (<=>), so a change from or to NULL emits an event',
  build,
};
