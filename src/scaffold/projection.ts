// projection: an idempotent event consumer keeping a local copy of another service's entity.
import { jsonField, objectName } from './names.js';
import type { Pattern, PatternInput } from './types.js';

/** The copied fields; each remembers the event that set it, which makes the result order-independent. */
export const PROJECTION_FIELDS = [
  { name: 'name', type: 'VARCHAR(255)' },
  { name: 'email', type: 'VARCHAR(255)' },
  { name: 'address', type: 'VARCHAR(1000)' },
] as const;

function build(input: PatternInput) {
  const table = objectName(input, 'customers_projection');
  const apply = objectName(input, 'apply_customer_event');
  const has = (f: string) => `v_has_${f}`;
  const cols = PROJECTION_FIELDS.map(
    (f) => `  ${f.name} ${f.type} NULL,\n  ${f.name}_event_id BIGINT UNSIGNED NOT NULL DEFAULT 0,`,
  ).join('\n');
  const declares = PROJECTION_FIELDS.map(
    (f) => `  DECLARE ${has(f.name)} BOOLEAN DEFAULT JSON_CONTAINS_PATH(p_payload, 'one', '$.${f.name}');`,
  ).join('\n');
  const insertCols = PROJECTION_FIELDS.map((f) => `${f.name}, ${f.name}_event_id`).join(', ');
  const insertVals = PROJECTION_FIELDS.map(
    (f) =>
      `\n            IF(${has(f.name)}, ${jsonField('p_payload', f.name)}, NULL), IF(${has(f.name)}, p_event_id, 0),`,
  ).join('');
  // Order matters: MariaDB assigns left to right, so each value is compared before its event id moves.
  const updates = PROJECTION_FIELDS.map(
    (f) =>
      `    ${f.name} = IF(VALUES(${f.name}_event_id) > ${f.name}_event_id, VALUES(${f.name}), ${f.name}),\n` +
      `    ${f.name}_event_id = GREATEST(${f.name}_event_id, VALUES(${f.name}_event_id)),`,
  ).join('\n');
  return [
    {
      part: 'customers-projection',
      summary: `${table}: the local copy, every field with the id of the event that set it`,
      statements: [
        `CREATE TABLE IF NOT EXISTS ${table} (
  customer_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  -- Nullable fields: the first event seen for a customer may carry only some of them
  -- (an address change delivered before the creation).
${cols}
  last_event_id BIGINT UNSIGNED NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB`,
      ],
    },
    {
      part: 'apply-customer-event',
      summary: `${apply}(event_id, customer_id, payload): applies each event once; redelivered and older ones change nothing`,
      statements: [
        `CREATE OR REPLACE PROCEDURE ${apply}(
  IN p_event_id BIGINT UNSIGNED,
  IN p_customer_id BIGINT UNSIGNED,
  IN p_payload JSON)
  MODIFIES SQL DATA
  SQL SECURITY INVOKER
  COMMENT 'dbps scaffold projection: idempotent, order-independent apply of a (partial) customer event'
BEGIN
${declares}
  -- One upsert: the row lock serializes concurrent consumers of one customer, and a field only
  -- takes a value from an event newer than the one that last set it (a redelivery is not newer).
  INSERT INTO ${table} (customer_id, ${insertCols}, last_event_id)
    VALUES (p_customer_id,${insertVals}
            p_event_id)
  ON DUPLICATE KEY UPDATE
${updates}
    last_event_id = GREATEST(last_event_id, VALUES(last_event_id));
END`,
      ],
    },
  ];
}

export const projectionPattern: Pattern = {
  name: 'projection',
  summary: "idempotent event consumer: a local copy of another service's entity with last_event_id",
  fixes:
    'applies each event once and in order whatever the delivery order (per-field event ids), serializes concurrent consumers, and accepts a partial first event instead of inserting NULL into NOT NULL',
  build,
};
