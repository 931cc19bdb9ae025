import { UsageError } from '../../errors.js';
import type { CommandSpec } from '../spec.js';
import { parseTimeout, TIMEOUT_OPTION } from '../timeout-option.js';

const ACTIONS = ['pull', 'follow'] as const;

export const binlogsSpec: CommandSpec = {
  name: 'binlogs',
  args: '<action> [service...]',
  summary: "archive the servers' binlogs into the backup root (pull once, or follow continuously)",
  description:
    'pull: copy every closed binlog and the current one, up to now, of each selected server (local and external) into\n' +
    '<backup root>/binlogs/<server>/<history>/, over the replication protocol as the backup account. Resumable and\n' +
    'idempotent: a file is stored under its name only once it is whole; the current one is kept as <name>.partial, cut at\n' +
    'an event boundary. follow: keep the stream open and archive each event as it is written, reconnecting after a drop\n' +
    'or a server restart; stop it with SIGTERM or Ctrl-C. The archive feeds `restore --to-time` and the windows that\n' +
    '`backups list` shows.',
  options: [
    { flags: '--dest <dir>', help: 'root directory of backup sets (default: <state-dir>/backups)' },
    {
      ...TIMEOUT_OPTION,
      help: 'pull: longest wait for a server, to connect, to list its binlogs and for the next binlog data (default: connect 10 s, else 30 s); a server that does not answer is reported (exit 3)',
    },
  ],
  examples: ['dbps binlogs pull', 'dbps binlogs pull orders --dest /backups/shop', 'dbps binlogs follow'],
  exitCodes: {
    0: 'archived (follow: stopped by a signal)',
    2: 'unknown action or service, bad option',
    3: 'a server could not be read, or binlogs were purged before they were archived (a gap)',
  },
  async run({ args, opts, io }) {
    const [action, ...services] = args;
    if (!action || !(ACTIONS as readonly string[]).includes(action))
      throw new UsageError(`${action ? `unknown binlogs action "${action}"` : 'binlogs needs an action'}`, {
        hint: `choose from ${ACTIONS.join(', ')}`,
      });
    const timeoutSeconds = parseTimeout(opts.timeout);
    const common = {
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      services,
      ...(opts.dest ? { dest: String(opts.dest) } : {}),
      progress: (server: string, text: string) => io.info(`${server}: ${text}`),
    };
    const cmd = await import('../../commands/binlogs.js');
    if (action === 'follow') {
      // follow waits for new events by design; its reconnects are bounded on their own.
      if (timeoutSeconds !== undefined)
        throw new UsageError('--timeout applies to `binlogs pull`; `binlogs follow` waits for new events by design', {
          hint: 'leave out --timeout',
        });
      const stop = new AbortController();
      const end = () => stop.abort();
      process.once('SIGTERM', end);
      process.once('SIGINT', end);
      try {
        return await cmd.follow({ ...common, signal: stop.signal });
      } finally {
        process.off('SIGTERM', end);
        process.off('SIGINT', end);
      }
    }
    const result = await cmd.pull({ ...common, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) });
    if (io.opts.json) io.json({ version: 1, ...result });
    else {
      const { binlogsPullText } = await import('../../ui/render/binlogs.js');
      io.out(binlogsPullText(result, io.paint));
    }
    return result.exitCode;
  },
};
