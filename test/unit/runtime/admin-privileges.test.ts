import { describe, expect, it } from 'vitest';
import { fleetFromText } from '../../../src/config/from-text.js';
import { desiredServer } from '../../../src/fleet/desired.js';
import type { Catalog, CatalogAccount } from '../../../src/grants/types.js';
import {
  adminPrivilegeError,
  adminPrivilegesNeeded,
  missingAdminPrivileges,
} from '../../../src/runtime/admin-privileges.js';

const FLEET = fleetFromText(
  `version: 1
fleet: t
servers:
  shared: { driver: external, host: db, admin: { user: boss } }
services:
  orders: { server: shared, outbox: true }
`,
  'services.yaml',
);
const DESIRED = desiredServer(FLEET, FLEET.servers[0]!);

function account(user: string, host: string, globalPrivileges: string[], grantOption = false): CatalogAccount {
  return {
    user,
    host,
    isRole: host === '',
    plugin: '',
    hasPassword: true,
    locked: false,
    maxUserConnections: 0,
    sslType: '',
    defaultRole: '',
    globalPrivileges,
    globalGrantOption: grantOption,
  };
}

function catalog(accounts: CatalogAccount[], roleGrants: Catalog['roleGrants'] = []): Catalog {
  return {
    server: 'shared',
    version: '10.11.14-MariaDB',
    accounts,
    databases: [],
    dbGrants: [],
    tableGrants: [],
    columnGrants: [],
    routineGrants: [],
    proxyGrants: [],
    roleGrants,
  };
}

describe("dbps's admin account privileges", () => {
  const needed = adminPrivilegesNeeded(DESIRED, false);

  it('needs every privilege it grants, CREATE, CREATE USER and GRANT OPTION (DROP only to prune)', () => {
    expect(needed).toEqual(
      expect.arrayContaining(['SELECT', 'CREATE', 'CREATE USER', 'ALTER', 'SHOW VIEW', 'TRIGGER', 'EVENT']),
    );
    // An external server's dbps_backup dumps and archives binlogs over the network: mariadb-backup's
    // file-copy privileges are not granted there, the binlog list and stream are.
    expect(needed).not.toContain('RELOAD');
    expect(needed).toEqual(expect.arrayContaining(['BINLOG MONITOR', 'REPLICATION SLAVE']));
    expect(needed.at(-1)).toBe('GRANT OPTION');
    expect(needed).not.toContain('ALL PRIVILEGES');
    expect(adminPrivilegesNeeded(DESIRED, true)).toContain('DROP');
  });

  it('finds what a SELECT-only admin lacks, and nothing for a full admin or one whose role holds it all', () => {
    const weak = missingAdminPrivileges(
      catalog([account('boss', '%', ['SELECT'])]),
      { user: 'boss', host: '%' },
      needed,
    );
    expect(weak).toEqual(needed.filter((p) => p !== 'SELECT'));
    const full = catalog([account('boss', '%', needed.slice(0, -1), true)]);
    expect(missingAdminPrivileges(full, { user: 'boss', host: '%' }, needed)).toEqual([]);
    const viaRole = catalog(
      [account('boss', '%', []), account('dba', '', [], false), account('dba_all', '', needed.slice(0, -1), true)],
      [
        { user: 'boss', host: '%', role: 'dba', withAdmin: false },
        { user: 'dba', host: '', role: 'dba_all', withAdmin: false },
      ],
    );
    expect(missingAdminPrivileges(viaRole, { user: 'boss', host: '%' }, needed)).toEqual([]);
  });

  it('says it in one sentence naming the server, the account and the privileges', () => {
    const e = adminPrivilegeError('shared', "'boss'@'%'", needed, ['CREATE USER', 'GRANT OPTION']);
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(
      /^server "shared": dbps's admin account 'boss'@'%' lacks privileges it needs to provision \(missing: CREATE USER, GRANT OPTION\); it needs .*CREATE USER.* on \*\.\* WITH GRANT OPTION$/,
    );
    expect(e.message.split('; ')).toHaveLength(2);
    expect(e.hint).toContain("TO 'boss'@'%' WITH GRANT OPTION");
  });
});

describe('admin privileges for an outbox retention', () => {
  it('adds EVENT and SET USER: the purge event is created with the migrator as DEFINER', () => {
    const withRetention = fleetFromText(
      'version: 1\nfleet: t\nservers:\n  shared: { driver: external, host: db, admin: { user: boss } }\nservices:\n  orders: { server: shared, outbox: { retention: 7d } }\n',
      'services.yaml',
    );
    const needed = adminPrivilegesNeeded(desiredServer(withRetention, withRetention.servers[0]!), false);
    expect(needed).toContain('SET USER');
    expect(needed).toContain('EVENT');
    expect(adminPrivilegesNeeded(DESIRED, false)).not.toContain('SET USER');
  });
});
