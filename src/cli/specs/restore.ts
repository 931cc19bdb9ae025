import { UsageError } from '../../errors.js';
import type { CommandSpec } from '../spec.js';

export const restoreSpec: CommandSpec = {
  name: 'restore',
  args: '[id] [service...]',
  summary: 'restore servers from a backup set, optionally all to one point in time',
  description:
    'Stop the servers (all in the set, or those holding the named services), move each datadir aside (kept as\n' +
    '<datadir>.before-restore-<time>, never deleted), copy the prepared backup back (mariadb-backup --copy-back), start\n' +
    "and check. With --to-time, replay each server's binlogs (archived in this and later sets, plus those in the datadir\n" +
    "moved aside) from the backup's recorded position up to that moment, so every server ends at the same point in time.\n" +
    'Refuses before stopping anything when a binlog for the window is missing or belongs to another binlog history (names\n' +
    'restart at every restore), or when a backup file or archived binlog no longer matches the sha256 recorded at backup\n' +
    'time. Binlog times have one-second resolution: events in the second of --to-time are not replayed.\n' +
    'All or nothing: free space is checked before anything stops, a "restore in progress" record (set, phase, moved-aside\n' +
    'datadir, new binlog history) is written to state.json before the stop, and any failure puts the moved-aside datadir\n' +
    'back. If dbps itself is killed, `up` and `status` refuse the server (exit 3) until `dbps restore --resume` finishes\n' +
    'the same restore (same set and --to-time) or `dbps restore --rollback` puts the previous datadir back; running\n' +
    'the same restore again (same set and --to-time) finishes it too, and a different one is refused until then.\n' +
    'A physical restore takes the whole server back: the prompt and the result name every service on it. --database\n' +
    "restores only the named services' databases: the set's backup of their server is prepared in a scratch server\n" +
    '(socket only), each database is copied from it into a new database on the running server, and one RENAME TABLE\n' +
    '(all or nothing) swaps the restored tables in; the current ones are kept in <database>_before_<time>. Views,\n' +
    'triggers, routines and events are refused (restore the whole server). Test-only: DBPS_TEST_FAIL_AT=restore-database:swap.\n' +
    'A server backed up logically (external servers, or `backup --method logical`) is restored over SQL instead, into\n' +
    'the same server or, with --target-server, another declared one: the dump is checked against its sha256 first, its\n' +
    'tables and rows are loaded into new databases <db>__restore_<id>, then one RENAME TABLE per database swaps every\n' +
    'table in (the previous ones move to <db>__old_<id>) and the triggers, views, routines and events are created under\n' +
    'the real name with their original definers; the service grants on <db> keep working. A failure at any step puts the\n' +
    'previous tables back (or never moved them), so every server keeps its previous data, readable.\n' +
    'Test-only: DBPS_TEST_KILL_AT=restore:stop|restore:copy-back|restore:start|restore:replay|restore:done|restore:logical-load makes dbps\n' +
    'SIGKILL itself at that point.',
  writes: true,
  options: [
    { flags: '--to-time <iso8601>', help: 'roll forward to this moment (with a zone: 2026-11-25T17:30:00Z)' },
    { flags: '--dest <dir>', help: 'root directory of backup sets (default: <state-dir>/backups)' },
    { flags: '--memory-scale <factor>', help: 'as given to `dbps up` (env DBPS_MEMORY_SCALE)' },
    {
      flags: '--database',
      help: "restore only the named services' databases (logical; other services on a shared server keep their data)",
    },
    { flags: '--yes', help: 'restore without asking' },
    {
      flags: '--target-server <name>',
      help: 'load logical backups into this declared server (e.g. a fresh one) instead of the one they came from',
    },
    { flags: '--force', help: 'with --no-verify-checksums: restore even a set whose `backups verify` failed' },
    { flags: '--resume', help: 'finish an interrupted restore (the recorded set and --to-time), no ID needed' },
    { flags: '--rollback', help: 'undo an interrupted restore: put the moved-aside datadir back, no ID needed' },
    {
      flags: '--no-verify-checksums',
      help: "restore even when the set's files no longer match their recorded sha256 (a damaged set)",
    },
  ],
  examples: [
    'dbps restore latest --yes',
    'dbps restore 20261125T172650Z orders',
    'dbps restore latest orders --database --yes   # orders alone; its neighbours on a shared server keep theirs',
    'dbps restore 20261125T172650Z --to-time 2026-11-25T18:05:00Z --yes',
    'dbps restore 20261125T172650Z orders --target-server fresh --yes',
    'dbps restore --resume --yes     # after an interrupted restore',
    'dbps restore --rollback --yes   # or undo it',
  ],
  exitCodes: {
    0: 'restored and answering',
    2: 'unknown set or service, bad time, not confirmed',
    3: 'binlogs missing, of another history or forked for the window, a damaged set (checksums, failed verify without --force), a failed backup entry, not enough space, a server did not come back (rolled back), an interrupted restore pending',
  },
  async run({ args, opts, io }) {
    const [id, ...services] = args;
    const { run, parseToTime } = await import('../../commands/restore.js');
    if (opts.resume === true && opts.rollback === true)
      throw new UsageError('--resume and --rollback exclude each other', { hint: 'pass one of them' });
    const finish = opts.resume === true ? 'resume' : opts.rollback === true ? 'rollback' : undefined;
    const toTime = parseToTime(opts.toTime as string | undefined);
    const canAsk = process.stdin.isTTY === true && process.stderr.isTTY === true && !io.opts.json;
    const confirm = async (question: string) => {
      if (opts.yes === true) return true;
      if (!canAsk) return false;
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
      } finally {
        rl.close();
      }
    };
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      ...(id ? { id } : {}),
      ...(finish ? { finish } : {}),
      services,
      ...(opts.dest ? { dest: String(opts.dest) } : {}),
      ...(toTime ? { toTime } : {}),
      ...(opts.targetServer !== undefined ? { targetServer: String(opts.targetServer) } : {}),
      ...(opts.memoryScale ? { memoryScale: String(opts.memoryScale) } : {}),
      verifyChecksums: opts.verifyChecksums !== false,
      force: opts.force === true,
      ...(opts.database === true ? { database: true } : {}),
      confirm,
      onProgress: (p) => io.info(`${p.server}: ${p.phase}${p.message ? `: ${p.message}` : ''}`),
    });
    if (io.opts.json) {
      io.json({ version: 1, ...result });
    } else {
      const { restoreText } = await import('../../ui/render/backup.js');
      io.out(restoreText(result, io.paint));
    }
    return result.exitCode;
  },
};
