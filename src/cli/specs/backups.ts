import { UsageError } from '../../errors.js';
import type { CommandSpec } from '../spec.js';
import { positiveInt } from './backup.js';

const ACTIONS = ['list', 'show', 'verify', 'prune'] as const;

export const backupsSpec: CommandSpec = {
  name: 'backups',
  args: '[action] [id] [service...]',
  summary: 'list, show, verify or prune backup sets',
  description:
    'list: sets with status, size and servers.  show ID: the manifest.  verify ID [service...]: check every file against\n' +
    'its recorded sha256, start a throwaway mariadbd (loopback, own port, no grant tables, small buffer pool) on a copy of\n' +
    'each backup, run CHECK TABLE and CHECKSUM TABLE on every table, and record the result in the manifest.\n' +
    'prune --keep N: for every server, keep the sets holding its N newest good backups (a good set is complete and failed\n' +
    'no verify), and every set newer than the oldest of those (their archived binlogs serve point-in-time restore); delete\n' +
    'older sets. A server with fewer than N good backups keeps all its restorable ones. ID may be `latest`, the default of show and verify.',
  // prune deletes sets and verify records its result in the manifest; list and show only read.
  writes: ({ args, opts }) => (args[0] === 'prune' && opts.dryRun !== true) || args[0] === 'verify',
  options: [
    { flags: '--dest <dir>', help: 'root directory of backup sets (default: <state-dir>/backups)' },
    { flags: '--keep <n>', help: 'prune: good backups to keep per server' },
    {
      flags: '--retention [duration]',
      help: "prune: remove a set only when every point-in-time window it anchors ended longer ago than this (72h, 7d, 2w); without a duration, each server's longest backup.retention in services.yaml",
    },
    { flags: '--dry-run', help: 'prune: say what would be removed' },
  ],
  examples: [
    'dbps backups',
    'dbps backups show latest',
    'dbps backups verify 20261125T172650Z',
    'dbps backups prune --keep 7',
    'dbps backups prune --retention       # backup.retention of services.yaml',
    'dbps backups prune --retention 14d --dry-run',
  ],
  exitCodes: {
    0: 'done; verify passed',
    2: 'unknown action or set, bad option',
    3: 'verify failed, or the set is partial',
  },
  async run({ args, opts, io }) {
    const [action = 'list', id, ...servers] = args;
    if (!(ACTIONS as readonly string[]).includes(action))
      throw new UsageError(`unknown backups action "${action}"`, { hint: `choose from ${ACTIONS.join(', ')}` });
    const { run } = await import('../../commands/backups.js');
    const keep = positiveInt('--keep', opts.keep);
    const result = await run({
      stateDir: io.opts.stateDir,
      action: action as (typeof ACTIONS)[number],
      ...(opts.dest ? { dest: String(opts.dest) } : {}),
      ...(id ? { id } : {}),
      ...(keep ? { keep } : {}),
      ...(opts.retention !== undefined ? { retention: opts.retention === true ? true : String(opts.retention) } : {}),
      file: io.opts.file,
      servers,
      dryRun: opts.dryRun === true,
      onProgress: (p) => io.info(`${p.server}: ${p.phase}${p.message ? `: ${p.message}` : ''}`),
    });
    if (io.opts.json) {
      io.json({ version: 1, ...result });
    } else {
      const { backupsText } = await import('../../ui/render/backup.js');
      io.out(backupsText(result, io.paint));
    }
    return result.exitCode;
  },
};
