// Privilege names as MariaDB stores them: the `access` bitmask of mysql.global_priv (version-aware),
// the `*_priv` columns of mysql.db and the SET values of tables_priv / columns_priv / procs_priv.
import { atLeast, type ServerVersion } from '../util/version.js';

/** The privilege bit that means WITH GRANT OPTION rather than a privilege of its own. */
export const GRANT_OPTION = 'GRANT OPTION';

interface PrivilegeBit {
  bit: number;
  name: string;
  /** First series that has this bit (10.11 is the oldest dbps supports). */
  since?: [number, number];
}

// Order of sql/privilege.h; checked against a real server by test/integration/catalog.test.ts,
// which grants each privilege to a fresh account and reads the bitmask back.
const BITS: PrivilegeBit[] = [
  { bit: 0, name: 'SELECT' },
  { bit: 1, name: 'INSERT' },
  { bit: 2, name: 'UPDATE' },
  { bit: 3, name: 'DELETE' },
  { bit: 4, name: 'CREATE' },
  { bit: 5, name: 'DROP' },
  { bit: 6, name: 'RELOAD' },
  { bit: 7, name: 'SHUTDOWN' },
  { bit: 8, name: 'PROCESS' },
  { bit: 9, name: 'FILE' },
  { bit: 10, name: GRANT_OPTION },
  { bit: 11, name: 'REFERENCES' },
  { bit: 12, name: 'INDEX' },
  { bit: 13, name: 'ALTER' },
  { bit: 14, name: 'SHOW DATABASES' },
  { bit: 15, name: 'SUPER' },
  { bit: 16, name: 'CREATE TEMPORARY TABLES' },
  { bit: 17, name: 'LOCK TABLES' },
  { bit: 18, name: 'EXECUTE' },
  { bit: 19, name: 'REPLICATION SLAVE' },
  { bit: 20, name: 'BINLOG MONITOR' },
  { bit: 21, name: 'CREATE VIEW' },
  { bit: 22, name: 'SHOW VIEW' },
  { bit: 23, name: 'CREATE ROUTINE' },
  { bit: 24, name: 'ALTER ROUTINE' },
  { bit: 25, name: 'CREATE USER' },
  { bit: 26, name: 'EVENT' },
  { bit: 27, name: 'TRIGGER' },
  { bit: 28, name: 'CREATE TABLESPACE' },
  { bit: 29, name: 'DELETE HISTORY' },
  { bit: 30, name: 'SET USER' },
  { bit: 31, name: 'FEDERATED ADMIN' },
  { bit: 32, name: 'CONNECTION ADMIN' },
  { bit: 33, name: 'READ_ONLY ADMIN' },
  { bit: 34, name: 'REPLICATION SLAVE ADMIN' },
  { bit: 35, name: 'REPLICATION MASTER ADMIN' },
  { bit: 36, name: 'BINLOG ADMIN' },
  { bit: 37, name: 'BINLOG REPLAY' },
  { bit: 38, name: 'SLAVE MONITOR' },
  // MDEV-29167: 11.3 split SHOW CREATE ROUTINE out of SELECT on mysql.proc.
  { bit: 39, name: 'SHOW CREATE ROUTINE', since: [11, 3] },
];

/** The global privileges a server of this version knows, in bit order (GRANT OPTION excluded). */
export function globalPrivilegeNames(version: ServerVersion): string[] {
  return bitsFor(version)
    .filter((b) => b.name !== GRANT_OPTION)
    .map((b) => b.name);
}

function bitsFor(version: ServerVersion): PrivilegeBit[] {
  return BITS.filter((b) => !b.since || atLeast(version, b.since[0], b.since[1]));
}

// Per server version: the name of each of the 64 bits (undefined = unknown to that version), and the
// decoded answer per distinct access value. A catalog has thousands of accounts but only a handful of
// distinct masks (most service accounts hold no global privilege), so each is decoded once.
const bitTables = new Map<
  string,
  { names: (string | undefined)[]; decoded: Map<bigint, { privileges: string[]; grantOption: boolean }> }
>();

function bitTable(version: ServerVersion) {
  const key = `${version.major}.${version.minor}`;
  let table = bitTables.get(key);
  if (!table) {
    const names: (string | undefined)[] = new Array(64).fill(undefined);
    for (const b of bitsFor(version)) names[b.bit] = b.name;
    table = { names, decoded: new Map() };
    bitTables.set(key, table);
  }
  return table;
}

/** Decodes `access` from mysql.global_priv: sorted privilege names and the grant option. Unknown bits stay visible. */
export function decodeAccess(access: bigint, version: ServerVersion): { privileges: string[]; grantOption: boolean } {
  const table = bitTable(version);
  let decoded = table.decoded.get(access);
  if (!decoded) {
    const privileges: string[] = [];
    let grantOption = false;
    for (let bit = 0; bit < 64; bit++) {
      if ((access & (1n << BigInt(bit))) === 0n) continue;
      const name = table.names[bit];
      if (name === GRANT_OPTION) grantOption = true;
      else privileges.push(name ?? `UNKNOWN BIT ${bit}`);
    }
    decoded = { privileges: privileges.sort(), grantOption };
    table.decoded.set(access, decoded);
  }
  // A fresh array each time: callers own what they get.
  return { privileges: [...decoded.privileges], grantOption: decoded.grantOption };
}

// mysql.db column names whose privilege name is not just the column stem upper-cased.
const DB_COLUMN_NAMES: Record<string, string> = {
  Create_tmp_table_priv: 'CREATE TEMPORARY TABLES',
  Delete_history_priv: 'DELETE HISTORY',
};

const dbColumnCache = new Map<string, string>();

/** Privilege named by a mysql.db `*_priv` column (`Show_view_priv` -> `SHOW VIEW`); `Grant_priv` -> GRANT OPTION. */
export function privilegeOfDbColumn(column: string): string {
  let name = dbColumnCache.get(column);
  if (name === undefined) {
    name =
      column === 'Grant_priv'
        ? GRANT_OPTION
        : (DB_COLUMN_NAMES[column] ??
          column
            .replace(/_priv$/, '')
            .replace(/_/g, ' ')
            .toUpperCase());
    dbColumnCache.set(column, name);
  }
  return name;
}

// SET values of tables_priv / columns_priv / procs_priv that differ from the GRANT keyword.
const SET_VALUE_NAMES: Record<string, string> = {
  grant: GRANT_OPTION,
  'delete versioning rows': 'DELETE HISTORY',
};

/** Splits a privilege SET value ("Select,Show view,Grant") into upper-case names and the grant option. */
export function decodePrivilegeSet(value: string | string[] | null | undefined): {
  privileges: string[];
  grantOption: boolean;
} {
  const privileges: string[] = [];
  let grantOption = false;
  // The mariadb connector returns SET columns as arrays; recorded fixtures may hold the text form.
  const parts = Array.isArray(value) ? value : (value ?? '').split(',');
  for (const raw of parts) {
    const v = raw.trim();
    if (!v) continue;
    const name = SET_VALUE_NAMES[v.toLowerCase()] ?? v.toUpperCase();
    if (name === GRANT_OPTION) grantOption = true;
    else privileges.push(name);
  }
  return { privileges: privileges.sort(), grantOption };
}
