// The commander program: global options, one subcommand per spec, exit codes. The only file that exits.
import { Command, CommanderError, Option } from 'commander';
import { GLOBAL_OPTIONS, type GlobalFlags, resolveGlobalOptions } from './cli/options.js';
import { COMMANDS } from './cli/registry.js';
import type { CommandSpec } from './cli/spec.js';
import { ExitCode, UsageError } from './errors.js';
import { removeOptionFilesOnSignals } from './runtime/client-defaults.js';
import type { HeldLock } from './runtime/lock.js';
import { useRunDir } from './runtime/run-dir.js';
import { describeError } from './ui/error-text.js';
import { processOutput } from './ui/output.js';
import { VERSION } from './version.js';

const EXIT_HELP = `
Exit codes:
  0  success, nothing to report
  1  findings: audit violations, pending changes (plan), stale generated files (generate --check)
  2  bad input: invalid services.yaml, unknown service, bad flag
  3  operational failure: server unreachable, backup failed, timeout
`;

/** Builds the program; exported for tests that check help and option resolution. */
export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command('dbps')
    .description('Database-per-service on MariaDB: one services.yaml to run, provision, audit and back up a fleet.')
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addHelpText(
      'after',
      `
Examples:
  $ dbps init --template ecommerce     write services.yaml for a six-service shop
  $ dbps validate                      check it, with file:line:col for each problem
  $ dbps generate                      my.cnf per server, compose, prometheus, picture
  $ dbps up && dbps provision          run the fleet locally and create accounts
  $ dbps audit-grants --format sarif   prove no service can reach another's data
${EXIT_HELP}`,
    );
  for (const o of GLOBAL_OPTIONS) {
    program.option(o.flags, 'defaultText' in o ? `${o.help} (default: ${o.defaultText})` : o.help);
  }
  program.exitOverride();
  program.configureOutput({ outputError: (str, write) => write(str) });

  for (const spec of COMMANDS) addCommand(program, spec, onExit);
  return program;
}

function addCommand(program: Command, spec: CommandSpec, onExit: (code: number) => void): void {
  const cmd = program.command(spec.args ? `${spec.name} ${spec.args}` : spec.name).summary(spec.summary);
  cmd.description(spec.description ?? spec.summary);
  for (const o of spec.options) {
    const opt = new Option(o.flags, o.help);
    if (o.defaultValue !== undefined) opt.default(o.defaultValue);
    if (o.choices) opt.choices(o.choices);
    cmd.addOption(opt);
  }
  const codes = Object.entries(spec.exitCodes)
    .map(([code, text]) => `  ${code}  ${text}`)
    .join('\n');
  cmd.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join('\n')}\n\nExit codes:\n${codes}`);
  cmd.exitOverride();
  cmd.action(async (...received: unknown[]) => {
    const command = received[received.length - 1] as Command;
    const globals = resolveGlobalOptions(program.opts() as GlobalFlags, process.env, process.cwd());
    const io = processOutput(globals);
    // Private files of this run live under the state dir; what a killed dbps left there is swept now.
    useRunDir(globals.stateDir);
    const args = (received.slice(0, -2) as (string | string[] | undefined)[]).flatMap((a) =>
      a === undefined ? [] : Array.isArray(a) ? a : [a],
    );
    let lock: HeldLock | undefined;
    try {
      const opts = command.opts();
      const writes = typeof spec.writes === 'function' ? spec.writes({ args, opts }) : spec.writes === true;
      if (writes) {
        const { acquireFleetLock, describeOwner } = await import('./runtime/lock.js');
        lock = await acquireFleetLock(globals.stateDir, {
          command: [spec.name, ...args].join(' ').slice(0, 200),
          timeoutMs: globals.lockTimeoutMs,
          onWait: (holder) => io.info(`waiting for ${describeOwner(holder)} to finish (up to --lock-timeout)`),
        });
      }
      onExit(await spec.run({ args, opts, io }));
    } catch (e) {
      const report = describeError(e, globals.verbose);
      if (globals.json) io.json({ version: 1, ...report.json });
      process.stderr.write(report.text);
      onExit(report.exitCode);
    } finally {
      await lock?.release().catch(() => undefined);
    }
  });
}

/** Entry point used by bin/dbps.js. Sets process.exitCode and never calls process.exit. */
export async function main(argv: string[]): Promise<void> {
  // A reader that goes away early (`dbps --help | head`) is not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
  // Credentials files of child processes never outlive dbps, even when it is killed by a signal.
  removeOptionFilesOnSignals();
  let exitCode: number = ExitCode.ok;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    if (argv.length <= 2) {
      program.outputHelp();
    } else {
      await program.parseAsync(argv);
    }
  } catch (e) {
    if (e instanceof CommanderError) {
      exitCode =
        e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help'
          ? 0
          : ExitCode.usage;
      // `--json` promises one document on stdout, usage errors included (commander wrote the text to stderr).
      if (exitCode === ExitCode.usage && argv.includes('--json')) {
        const message = e.message.replace(/^error: /, '');
        process.stdout.write(`${JSON.stringify({ version: 1, error: { message, exitCode } }, null, 2)}\n`);
      }
    } else {
      const report = describeError(e instanceof UsageError ? e : e, argv.includes('-v') || argv.includes('--verbose'));
      process.stderr.write(report.text);
      exitCode = report.exitCode;
    }
  }
  process.exitCode = exitCode;
}
