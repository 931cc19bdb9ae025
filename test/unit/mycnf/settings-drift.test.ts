// Settings drift, pure: the options dbps would write now against SHOW GLOBAL VARIABLES text, which
// options SET GLOBAL can change (per version), and the statements that apply them.
import { describe, expect, it } from 'vitest';
import {
  driftRemedy,
  isDynamic,
  localServerOptions,
  type SettingDrift,
  sameValue,
  setGlobalStatements,
  settingsDrift,
} from '../../../src/mycnf/drift.js';
import { parseVersion } from '../../../src/util/version.js';
import { fleetOf } from '../../helpers/fleets.js';

const V10_11 = parseVersion('10.11.19');
const V10_6 = parseVersion('10.6.18');
const fleetWith = (memory: string, profile = 'oltp') =>
  fleetOf(`version: 1\nfleet: t\nservices:\n  orders: { memory: ${memory}, profile: ${profile} }\n`);

/** SHOW GLOBAL VARIABLES as the server prints the options it was started with (sizes in bytes). */
function runningAs(memory: string, profile = 'oltp'): Map<string, string> {
  const fleet = fleetWith(memory, profile);
  const rows = localServerOptions(fleet, fleet.servers[0]!, V10_11, 1).map(([k, v]): [string, string] => {
    const m = /^(\d+)([KMG])$/.exec(String(v));
    const bytes = m ? Number(m[1]) * { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as 'K' | 'M' | 'G'] : undefined;
    return [k, bytes !== undefined ? String(bytes) : typeof v === 'number' ? String(v) : String(v).toUpperCase()];
  });
  rows.push(['log_bin', 'ON'], ['datadir', '/elsewhere/'], ['long_query_time', '0.500000']);
  return new Map(rows);
}

describe('settingsDrift', () => {
  it('none when the server runs what services.yaml asks for (values written differently)', () => {
    const fleet = fleetWith('128M');
    expect(settingsDrift(localServerOptions(fleet, fleet.servers[0]!, V10_11, 1), runningAs('128M'), V10_11)).toEqual(
      [],
    );
  });

  it('a memory change: the buffer pool alone is dynamic; a larger one moves the redo log buffer too', () => {
    const small = fleetWith('256M');
    expect(settingsDrift(localServerOptions(small, small.servers[0]!, V10_11, 1), runningAs('128M'), V10_11)).toEqual([
      { name: 'innodb_buffer_pool_size', wanted: '166M', running: String(82 * 1024 ** 2), dynamic: true },
    ]);
    const large = fleetWith('512M');
    const drift = settingsDrift(localServerOptions(large, large.servers[0]!, V10_11, 1), runningAs('128M'), V10_11);
    expect(drift.map((d) => [d.name, d.dynamic])).toEqual([
      ['innodb_buffer_pool_size', true],
      ['innodb_log_file_size', true],
      ['innodb_log_buffer_size', false],
      ['max_connections', true],
    ]);
    expect(driftRemedy(drift)).toBe('restart');
  });

  it('the memory scale the server was started with is part of what it should run', () => {
    const fleet = fleetWith('512M');
    expect(
      settingsDrift(localServerOptions(fleet, fleet.servers[0]!, V10_11, 0.25), runningAs('128M'), V10_11),
    ).toEqual([]);
  });

  it('paths, the port and log_bin are not settings drift', () => {
    const fleet = fleetWith('128M');
    const running = runningAs('128M');
    running.set('port', '1');
    running.set('socket', '/x');
    const options = localServerOptions(fleet, fleet.servers[0]!, V10_11, 1);
    expect(
      settingsDrift([...options, ['port', 3307], ['socket', '/y'], ['log_bin', 'orders-bin']], running, V10_11),
    ).toEqual([]);
  });
});

describe('what SET GLOBAL can change', () => {
  it('follows the version: the redo log size is dynamic from 10.9, the io threads from 10.11', () => {
    expect(isDynamic('innodb_buffer_pool_size', V10_6)).toBe(true);
    expect(isDynamic('innodb_log_file_size', V10_6)).toBe(false);
    expect(isDynamic('innodb_log_file_size', V10_11)).toBe(true);
    expect(isDynamic('innodb_read_io_threads', V10_6)).toBe(false);
    expect(isDynamic('innodb_read_io_threads', V10_11)).toBe(true);
    for (const fixed of ['innodb_log_buffer_size', 'thread_handling', 'table_open_cache_instances', 'server_id'])
      expect(isDynamic(fixed, V10_11)).toBe(false);
  });

  it('values are parameters in bytes; io_capacity_max is set around io_capacity', () => {
    const drift: SettingDrift[] = [
      { name: 'innodb_io_capacity', wanted: '2000', running: '1000', dynamic: true },
      { name: 'innodb_io_capacity_max', wanted: '4000', running: '2000', dynamic: true },
      { name: 'innodb_buffer_pool_size', wanted: '166M', running: '1', dynamic: true },
      { name: 'event_scheduler', wanted: 'OFF', running: 'ON', dynamic: true },
      { name: 'innodb_log_buffer_size', wanted: '10M', running: '8388608', dynamic: false },
    ];
    expect(setGlobalStatements(drift)).toEqual([
      { sql: 'SET GLOBAL innodb_io_capacity_max = ?', params: [4000] },
      { sql: 'SET GLOBAL innodb_io_capacity = ?', params: [2000] },
      { sql: 'SET GLOBAL innodb_buffer_pool_size = ?', params: [166 * 1024 ** 2] },
      { sql: 'SET GLOBAL event_scheduler = ?', params: ['OFF'] },
      { sql: 'SET GLOBAL innodb_io_capacity_max = ?', params: [4000] },
    ]);
    expect(driftRemedy(drift.slice(0, 4))).toBe('set-global');
    expect(driftRemedy([])).toBe('none');
  });

  it('sameValue reads my.cnf and SHOW VARIABLES spellings alike', () => {
    expect(sameValue('256M', '268435456')).toBe(true);
    expect(sameValue(0.5, '0.500000')).toBe(true);
    expect(sameValue('ON', '1')).toBe(true);
    expect(sameValue('pool-of-threads', 'pool-of-threads')).toBe(true);
    expect(sameValue('OFF', 'ON')).toBe(false);
    expect(sameValue('256M', '268435457')).toBe(false);
  });
});
