// Every my.cnf dbps generates is accepted by the real mariadbd on this machine, and the check that
// proves it can fail. `mariadbd --defaults-file=F --verbose --help` parses every option in F (an
// unknown or badly valued option is an [ERROR] and a non-zero exit) without starting a server.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfileName } from '../../src/config/types.js';
import { KNOWN_OPTIONS, optionKnown, REMOVED_OPTIONS } from '../../src/mycnf/options.js';
import { renderMyCnf, serverOptions, targetVersion } from '../../src/mycnf/render.js';
import { type ServerVersion, seriesOf } from '../../src/util/version.js';
import { ecommerceFleet, fixtureFleet, fleetOf, singleServerFleet } from '../helpers/fleets.js';
import {
  mariadbProgram,
  pristineDatadir,
  startTestServer,
  stopAllTestServers,
  testedMariadbVersion,
  userArgs,
} from '../helpers/mariadb-server.js';

const run = promisify(execFile);
let dir: string;
let local: ServerVersion;

interface Verdict {
  ok: boolean;
  code: number;
  errors: string[];
  /** Every [Warning] line: a deprecated, removed or adjusted option is as much a defect as an unknown one. */
  warnings: string[];
}

const optionWarnings = (stderr: string) => stderr.split('\n').filter((l) => l.includes('[Warning]'));

/** Runs the server's own option parser over one file. --defaults-file (first) replaces every system file. */
async function check(file: string): Promise<Verdict> {
  try {
    const r = await run(mariadbProgram('mariadbd'), [`--defaults-file=${file}`, ...userArgs(), '--verbose', '--help'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const errors = r.stderr.split('\n').filter((l) => l.includes('[ERROR]'));
    return { ok: errors.length === 0, code: 0, errors, warnings: optionWarnings(r.stderr) };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    const stderr = err.stderr ?? '';
    return {
      ok: false,
      code: err.code ?? -1,
      errors: stderr.split('\n').filter((l) => l.includes('[ERROR]')),
      warnings: optionWarnings(stderr),
    };
  }
}

async function checkText(name: string, text: string): Promise<Verdict> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return check(file);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-mycnf-'));
  local = testedMariadbVersion();
});
afterAll(async () => {
  await stopAllTestServers();
  await rm(dir, { recursive: true, force: true });
});

describe('the check itself', () => {
  it('rejects a my.cnf with an unknown option (so a pass below means something)', async () => {
    const v = await checkText('bad.cnf', '[mysqld]\nbinlog_format = ROW\ndbps_no_such_option = 1\n');
    expect(v.ok).toBe(false);
    expect(v.code).not.toBe(0);
    expect(v.errors.join('\n')).toContain('dbps_no_such_option');
  });

  it('rejects a bad value for a known option', async () => {
    const v = await checkText('badvalue.cnf', '[mysqld]\nbinlog_format = SOMETIMES\n');
    expect(v.ok).toBe(false);
  });

  it('accepts a [mysqld] section with one harmless option, with no warning', async () => {
    // Not an empty one: mariadbd's built-in defaults ask for ~32,000 file descriptors (table_open_cache
    // 2000 x 2 x 8 instances) and warn on machines that allow fewer, as many containers do.
    expect(await checkText('minimal.cnf', '[mysqld]\ntable_open_cache_instances = 1\n')).toStrictEqual({
      ok: true,
      code: 0,
      errors: [],
      warnings: [],
    });
  });

  it('reports a deprecated option as a warning (so "no warning" below means something)', async () => {
    const v = await checkText('deprecated.cnf', '[mysqld]\ntable_open_cache_instances = 1\nsecure_auth = 1\n');
    expect(v.warnings.join('\n')).toMatch(/secure[-_]auth/);
  });
});

describe(`generated my.cnf files on MariaDB ${seriesOf(testedMariadbVersion())}`, () => {
  const profiles: ProfileName[] = ['oltp', 'olap', 'sessions', 'archive'];
  const sizes = ['128M', '512M', '2G', '16G'];
  for (const profile of profiles) {
    it(`${profile} at ${sizes.join(', ')} is accepted`, async () => {
      for (const memory of sizes) {
        const fleet = singleServerFleet(profile, memory, seriesOf(local));
        const server = fleet.servers[0]!;
        const v = await checkText(
          `${profile}-${memory}.cnf`,
          renderMyCnf(fleet, server, { version: targetVersion(fleet, server) }),
        );
        expect(v, `${profile} ${memory}`).toStrictEqual({ ok: true, code: 0, errors: [], warnings: [] });
      }
    });
  }

  it('every server of the ecommerce template (defaults.mariadb = the local series) is accepted', async () => {
    const fleet = ecommerceFleet(seriesOf(local));
    expect(fleet.servers.length).toBeGreaterThanOrEqual(6);
    for (const server of fleet.servers) {
      const v = await checkText(
        `ecommerce-${server.name}.cnf`,
        renderMyCnf(fleet, server, { version: targetVersion(fleet, server) }),
      );
      expect(v, server.name).toStrictEqual({ ok: true, code: 0, errors: [], warnings: [] });
    }
  });

  it('the pre-10.10 default collation (utf8mb4_unicode_520_ci) that a 10.6 fleet gets is one this server knows', async () => {
    // The ecommerce template names uca1400 explicitly (an error on 10.6), so a fleet without a collation.
    const fleet = singleServerFleet('oltp', '1G', '10.6');
    for (const server of fleet.servers) {
      const text = renderMyCnf(fleet, server, { version: local });
      expect(text).toContain('collation_server = utf8mb4_unicode_520_ci');
      const v = await checkText(`collation-${server.name}.cnf`, text);
      expect(v, server.name).toStrictEqual({ ok: true, code: 0, errors: [], warnings: [] });
    }
  });

  it('every local server of the mixed fixture, with local paths as `dbps up` writes them, is accepted', async () => {
    const fleet = fixtureFleet('fleets/generate-mixed.yaml');
    for (const server of fleet.servers.filter((s) => s.driver === 'local')) {
      const base = path.join(dir, 'srv', server.name);
      // A real datadir: --help reads mysql.plugin from it, and warns when the table is missing.
      await cp(await pristineDatadir(), `${base}/data`, { recursive: true });
      const paths = {
        port: 3400,
        bindAddress: '127.0.0.1',
        datadir: `${base}/data`,
        socket: `${base}/s.sock`,
        pidFile: `${base}/p.pid`,
        logError: `${base}/e.log`,
        tmpdir: dir,
        // secure_file_priv as `dbps up` sets it: a directory under the state dir.
        secureFilePriv: dir,
      };
      const v = await checkText(`mixed-${server.name}.cnf`, renderMyCnf(fleet, server, { version: local, paths }));
      expect(v, server.name).toStrictEqual({ ok: true, code: 0, errors: [], warnings: [] });
    }
  });
});

describe('the option table agrees with the local mariadbd', () => {
  it('every option the table calls valid for this version is one mariadbd knows', async () => {
    const { stdout } = await run(mariadbProgram('mariadbd'), ['--no-defaults', ...userArgs(), '--verbose', '--help'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const unknown = Object.keys(KNOWN_OPTIONS)
      .filter((name) => optionKnown(name, local))
      .filter((name) => !new RegExp(`^\\s*(-\\w, )?--(skip-)?${name.replace(/_/g, '-')}([=[ ]|$)`, 'm').test(stdout));
    expect(unknown).toStrictEqual([]);
  });

  it('every option the table lists as removed is rejected, or reported as removed, by mariadbd', async () => {
    // 10.11 still parses these so old files start, but says each "was removed" and does nothing;
    // a later version may refuse them outright. Either way dbps must not write them.
    for (const option of REMOVED_OPTIONS) {
      const v = await checkText(`removed-${option}.cnf`, `[mysqld]\n${option} = 1\n`);
      const reported = !v.ok || v.warnings.some((w) => w.includes(`'${option.replace(/_/g, '-')}' was removed`));
      expect(reported, `${option}: ${JSON.stringify(v)}`).toBe(true);
    }
  });
});

describe('a server starts with a generated option set', () => {
  it('each profile at 128M boots and reports the options it was given', async () => {
    for (const profile of ['oltp', 'olap', 'sessions', 'archive'] as ProfileName[]) {
      const fleet = fleetOf(
        `version: 1\nfleet: t\ndefaults: { mariadb: "${seriesOf(local)}" }\nservices:\n  svc: { profile: ${profile}, memory: 128M, serverId: 7 }\n`,
      );
      const options = serverOptions(fleet, fleet.servers[0]!, { version: local });
      // The same options as the file, as argv after the helper's own (later ones win); paths stay the helper's.
      const server = await startTestServer({ name: `boot-${profile}`, args: options.map(([k, v]) => `--${k}=${v}`) });
      try {
        const [row] = await server.query<Record<string, string | number | bigint>>(
          'SELECT @@innodb_buffer_pool_size AS pool, @@binlog_format AS fmt, @@server_id AS id, @@gtid_domain_id AS domain, @@query_cache_type AS qc, @@thread_handling AS th, @@log_bin AS lb',
        );
        const want = new Map(options.map(([k, v]) => [k, String(v)]));
        expect(Number(row!.pool)).toBe(Number.parseInt(want.get('innodb_buffer_pool_size')!, 10) * 1024 * 1024);
        expect(row!.fmt).toBe('ROW');
        expect(Number(row!.id)).toBe(7);
        expect(Number(row!.domain)).toBe(7);
        expect(row!.qc).toBe('OFF');
        expect(row!.th).toBe('pool-of-threads');
        expect(Number(row!.lb)).toBe(1);
      } finally {
        await server.stop();
      }
    }
  });
});
