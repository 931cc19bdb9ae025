import { UsageError } from '../../errors.js';
import type { CommandSpec } from '../spec.js';

/** A positive whole number flag, or undefined when absent. */
export function positiveInt(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} "${String(value)}" is not a whole number of at least 1`);
  return n;
}

export const backupSpec: CommandSpec = {
  name: 'backup',
  args: '[service...]',
  summary: 'back up every server together into one set (mariadb-backup or mariadb-dump, consistent binlog positions)',
  description:
    'Take one backup set (id = UTC start time) holding a physical backup of every selected local server, all started together.\n' +
    'Each backup runs as the managed account dbps_backup (password from .dbps/secrets.env through a 0600 defaults file),\n' +
    "records the consistent binlog file, position and GTID from the backup's own binlog-info file, is prepared so it restores\n" +
    'as is, and gets a sha256 of its files. Closed binlogs since the previous set are archived into the set for point-in-time\n' +
    'restore. manifest.json is written last and the set directory appears under its id only when complete or partial.\n' +
    'External servers (and local ones with --method logical) are backed up logically at the same time: one\n' +
    'mariadb-dump --single-transaction --master-data=2 --gtid --routines --triggers --events of their service databases,\n' +
    'through zstd into servers/<server>.sql.zst, sha256 taken while streaming, with the binlog position the dump itself\n' +
    'recorded inside its snapshot. It runs as dbps_backup@<backupHost> (created by `dbps provision`); logical works across versions.',
  writes: true,
  options: [
    { flags: '--dest <dir>', help: 'root directory of backup sets (default: <state-dir>/backups)' },
    { flags: '--parallel <n>', help: 'servers backed up at the same time (default: all)' },
    { flags: '--threads <n>', help: "mariadb-backup's own copy threads per server", defaultValue: '2' },
    { flags: '--compress <kind>', help: 'none, or zstd (tar + zstd)', defaultValue: 'none', choices: ['none', 'zstd'] },
    { flags: '--no-prepare', help: 'keep the raw copy (restore and verify prepare it then)' },
    {
      flags: '--method <kind>',
      help: 'physical (mariadb-backup, local servers only) or logical (mariadb-dump, any server); default: physical for local servers, logical for external ones',
      choices: ['physical', 'logical'],
    },
  ],
  examples: [
    'dbps backup',
    'dbps backup orders customers --parallel 2',
    'dbps backup --compress zstd --dest /backups/shop',
    'dbps --json backup',
    'dbps backup --method logical orders',
  ],
  exitCodes: {
    0: 'every server backed up',
    2: 'invalid services.yaml, unknown service or bad option',
    3: 'a server failed (the set is partial), mariadb-backup, mariadb-dump or zstd missing or of another version, disk full',
  },
  async run({ args, opts, io }) {
    const { run } = await import('../../commands/backup.js');
    const { taskRunner } = await import('../../ui/tasks.js');
    const parallel = positiveInt('--parallel', opts.parallel);
    const threads = positiveInt('--threads', opts.threads);
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      services: args,
      ...(opts.dest ? { dest: String(opts.dest) } : {}),
      ...(parallel ? { parallel } : {}),
      ...(threads ? { threads } : {}),
      compress: opts.compress === 'zstd' ? 'zstd' : 'none',
      prepare: opts.prepare !== false,
      ...(opts.method === 'physical' || opts.method === 'logical' ? { method: opts.method } : {}),
      runJobs: taskRunner(io),
    });
    if (io.opts.json) {
      io.json({
        version: 1,
        command: 'backup',
        id: result.id,
        dir: result.dir,
        status: result.manifest.status,
        warnings: result.warnings,
        manifest: result.manifest,
      });
    } else {
      const { backupText } = await import('../../ui/render/backup.js');
      io.out(backupText(result, io.paint));
    }
    return result.exitCode;
  },
};
