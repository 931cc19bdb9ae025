import { describe, expect, it } from 'vitest';
import type { ProfileName } from '../../../src/config/types.js';
import { KNOWN_OPTIONS, optionDeprecated, optionKnown, REMOVED_OPTIONS } from '../../../src/mycnf/options.js';
import { OPEN_FILES_BUDGET, PROFILES, sizeProfile } from '../../../src/mycnf/profiles.js';
import { renderMyCnf, targetVersion } from '../../../src/mycnf/render.js';
import { parseVersion } from '../../../src/util/version.js';
import { cnfBytes, ecommerceFleet, fixtureFleet, parseCnf, singleServerFleet } from '../../helpers/fleets.js';

const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];
const SIZES = ['128M', '512M', '2G', '16G'] as const;
const VERSIONS = ['10.11', '11.8'] as const;
const MiB = 1024 ** 2;
const bytesOf = (size: string) => cnfBytes(size);

function cnfFor(profile: ProfileName, memory: string, version: string): Map<string, string> {
  const fleet = singleServerFleet(profile, memory, version);
  const server = fleet.servers[0]!;
  return parseCnf(renderMyCnf(fleet, server, { version: targetVersion(fleet, server) }));
}

describe('workload profiles at several memory sizes', () => {
  it('covers exactly the four documented profiles', () => {
    expect(PROFILE_NAMES.sort()).toStrictEqual(['archive', 'olap', 'oltp', 'sessions']);
  });

  for (const profile of PROFILE_NAMES) {
    for (const version of VERSIONS) {
      describe(`${profile} on MariaDB ${version}`, () => {
        for (const memory of SIZES) {
          it(`${memory}: buffer pool 60-70 %, small per-connection buffers, required options, nothing removed`, () => {
            const o = cnfFor(profile, memory, version);
            const mem = bytesOf(memory);
            const pool = cnfBytes(o.get('innodb_buffer_pool_size')!);
            expect(pool / mem).toBeGreaterThanOrEqual(0.6);
            expect(pool / mem).toBeLessThanOrEqual(0.7);

            // Per-connection buffers stay small; even every connection sorting and joining at once
            // cannot take more than the server's memory.
            const join = cnfBytes(o.get('join_buffer_size')!);
            const sort = cnfBytes(o.get('sort_buffer_size')!);
            const connections = Number(o.get('max_connections'));
            expect(join).toBeLessThanOrEqual(1 * MiB);
            expect(sort).toBeLessThanOrEqual(4 * MiB);
            expect((join + sort) * connections).toBeLessThanOrEqual(mem);

            const redo = cnfBytes(o.get('innodb_log_file_size')!);
            expect(redo).toBeGreaterThanOrEqual(48 * MiB);
            expect(redo).toBeLessThanOrEqual(4 * 1024 * MiB);
            const tmp = cnfBytes(o.get('tmp_table_size')!);
            expect(o.get('max_heap_table_size')).toBe(o.get('tmp_table_size'));
            expect(tmp).toBeLessThanOrEqual(mem / 8);
            expect(Number(o.get('thread_pool_max_threads'))).toBeGreaterThanOrEqual(connections);
            // mariadbd's own file-descriptor request stays within the budget (no max_open_files warning).
            const files =
              10 + connections + Number(o.get('table_open_cache')) * 2 * Number(o.get('table_open_cache_instances'));
            expect(files).toBeLessThanOrEqual(OPEN_FILES_BUDGET);

            expect(o.get('binlog_format')).toBe('ROW');
            expect(o.get('query_cache_type')).toBe('OFF');
            expect(o.get('query_cache_size')).toBe('0');
            expect(o.get('log_bin')).toBe('svc-bin');
            expect(Number(o.get('server_id'))).toBeGreaterThan(0);
            expect(o.has('gtid_domain_id')).toBe(true);
            expect(o.get('thread_handling')).toBe('pool-of-threads');

            for (const removed of REMOVED_OPTIONS) expect(o.has(removed)).toBe(false);
            for (const name of o.keys()) expect(optionKnown(name, parseVersion(version)), name).toBe(true);
            for (const name of o.keys()) expect(optionDeprecated(name, parseVersion(version)), name).toBe(false);
          });
        }

        it('scales with memory: more memory never means a smaller pool, redo log, connection limit or temp table', () => {
          const figures = SIZES.map((m) => sizeProfile(profile, bytesOf(m)));
          for (let i = 1; i < figures.length; i++) {
            const [prev, cur] = [figures[i - 1]!, figures[i]!];
            expect(cur.bufferPool).toBeGreaterThan(prev.bufferPool);
            expect(cur.redoLog).toBeGreaterThanOrEqual(prev.redoLog);
            expect(cur.maxConnections).toBeGreaterThanOrEqual(prev.maxConnections);
            expect(cur.tmpTable).toBeGreaterThanOrEqual(prev.tmpTable);
          }
          // Growth is real, not pinned at the floor: 16G gets a larger redo log and more connections than 128M.
          expect(figures.at(-1)!.redoLog).toBeGreaterThan(figures[0]!.redoLog);
          expect(figures.at(-1)!.maxConnections).toBeGreaterThan(figures[0]!.maxConnections);
        });
      });
    }
  }

  it('gives each profile its own character: sessions relax durability, oltp and archive keep it, olap gets the biggest pool', () => {
    const at2G = Object.fromEntries(PROFILE_NAMES.map((p) => [p, cnfFor(p, '2G', '11.8')]));
    expect(at2G.sessions!.get('innodb_flush_log_at_trx_commit')).toBe('2');
    expect(at2G.sessions!.get('sync_binlog')).toBe('0');
    for (const p of ['oltp', 'olap', 'archive'] as const) {
      expect(at2G[p]!.get('innodb_flush_log_at_trx_commit')).toBe('1');
      expect(at2G[p]!.get('sync_binlog')).toBe('1');
    }
    const pools = PROFILE_NAMES.map((p) => cnfBytes(at2G[p]!.get('innodb_buffer_pool_size')!));
    expect(cnfBytes(at2G.olap!.get('innodb_buffer_pool_size')!)).toBe(Math.max(...pools));
    expect(Number(at2G.sessions!.get('max_connections'))).toBeGreaterThan(Number(at2G.olap!.get('max_connections')));
    expect(at2G.archive!.get('innodb_compression_default')).toBe('ON');
  });
});

describe('version-aware option sets', () => {
  it('writes innodb_flush_method only below 11.0, where it is not deprecated', () => {
    expect(cnfFor('oltp', '1G', '10.11').get('innodb_flush_method')).toBe('O_DIRECT');
    expect(cnfFor('oltp', '1G', '11.8').has('innodb_flush_method')).toBe(false);
  });

  it('writes innodb_file_per_table only below 11.0 (11.0 deprecated it; ON is its default)', () => {
    expect(cnfFor('oltp', '1G', '10.11').get('innodb_file_per_table')).toBe('ON');
    expect(cnfFor('oltp', '1G', '11.8').has('innodb_file_per_table')).toBe(false);
    expect(optionDeprecated('innodb_file_per_table', parseVersion('11.0'))).toBe(true);
    expect(optionDeprecated('innodb_file_per_table', parseVersion('10.11'))).toBe(false);
  });

  it('never writes the change buffer options, and knows 11.0 removed them', () => {
    for (const version of VERSIONS) {
      for (const profile of PROFILE_NAMES)
        expect(cnfFor(profile, '2G', version).has('innodb_change_buffering')).toBe(false);
    }
    expect(optionKnown('innodb_change_buffering', parseVersion('10.11'))).toBe(true);
    expect(optionKnown('innodb_change_buffering', parseVersion('11.0'))).toBe(false);
    expect(optionKnown('innodb_change_buffering', parseVersion('11.8'))).toBe(false);
  });

  it('rejects removed and never-valid option names for every version', () => {
    for (const version of ['10.6', '10.11', '11.4', '11.8']) {
      for (const removed of REMOVED_OPTIONS) expect(optionKnown(removed, parseVersion(version)), removed).toBe(false);
      // tx_isolation is a system variable name only; in my.cnf mariadbd wants transaction_isolation.
      expect(optionKnown('tx_isolation', parseVersion(version))).toBe(false);
      expect(optionKnown('transaction_isolation', parseVersion(version))).toBe(true);
    }
    for (const removed of REMOVED_OPTIONS) expect(KNOWN_OPTIONS[removed]).toBeUndefined();
  });

  it('binlog_expire_logs_seconds is known from 10.6 only', () => {
    expect(optionKnown('binlog_expire_logs_seconds', parseVersion('10.5'))).toBe(false);
    expect(optionKnown('binlog_expire_logs_seconds', parseVersion('10.6'))).toBe(true);
  });
});

describe('server identity across a fleet', () => {
  it('gives every server of the ecommerce fleet a unique server_id and its own gtid_domain_id', () => {
    const fleet = ecommerceFleet('10.11');
    const cnfs = fleet.servers.map((s) => parseCnf(renderMyCnf(fleet, s, { version: targetVersion(fleet, s) })));
    const ids = cnfs.map((o) => o.get('server_id'));
    const domains = cnfs.map((o) => o.get('gtid_domain_id'));
    expect(new Set(ids).size).toBe(fleet.servers.length);
    expect(new Set(domains).size).toBe(fleet.servers.length);
    expect(new Set(cnfs.map((o) => o.get('log_bin'))).size).toBe(fleet.servers.length);
  });

  it('keeps an explicit serverId and never hands it to another server', () => {
    const fleet = fixtureFleet('fleets/generate-mixed.yaml');
    const byName = new Map(
      fleet.servers.map((s) => [s.name, parseCnf(renderMyCnf(fleet, s, { version: targetVersion(fleet, s) }))]),
    );
    expect(byName.get('customers')!.get('server_id')).toBe('42');
    const ids = [...byName.values()].map((o) => o.get('server_id'));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('takes the version from the server, else from defaults.mariadb', () => {
    const fleet = singleServerFleet('oltp', '1G', '10.11');
    expect(targetVersion(fleet, fleet.servers[0]!).text).toBe('10.11');
    const text = renderMyCnf(fleet, fleet.servers[0]!, { version: targetVersion(fleet, fleet.servers[0]!) });
    expect(text).toContain('MariaDB 10.11');
  });
});
