import { count } from '../../util/count.js';
import type { CommandSpec } from '../spec.js';

export const auditGrantsSpec: CommandSpec = {
  name: 'audit-grants',
  args: '[service...]',
  summary: "prove that no account can reach another service's data",
  description:
    "Read every selected server's privilege catalog (mysql.* tables), compute each account's effective privileges\n(direct, through roles — default, SET ROLE-able, nested — and PUBLIC; database names as LIKE patterns) and check\nthem against services.yaml: cross-service access, global data privileges, wide database patterns, mysql.* access,\nGRANT OPTION, PROXY, drift of managed accounts, orphan accounts and account hygiene. Declared `reads:` are\nreported as allowed. --dump writes the catalogs (no password hashes) so --from-dump can audit without a server.",
  options: [
    { flags: '--format <format>', help: 'report format', choices: ['text', 'json', 'junit', 'sarif'] },
    { flags: '--output <file>', help: 'write the report to this file instead of stdout' },
    { flags: '--dump <file>', help: 'also write the catalog snapshot of every audited server (no password hashes)' },
    { flags: '--from-dump <file>', help: 'audit a snapshot written by --dump instead of the servers' },
    {
      flags: '--fail-on <level>',
      help: 'lowest severity that makes the exit code 1',
      choices: ['error', 'warning'],
      defaultValue: 'warning',
    },
    {
      flags: '--timeout <seconds>',
      help: 'how long one server may take to connect and answer before it is reported unreadable (exit 3)',
      defaultValue: '30',
    },
    {
      flags: '--severity <rule=level...>',
      help: "change a rule's severity: error, warning or off (e.g. orphan-account=error)",
    },
  ],
  examples: [
    'dbps audit-grants',
    'dbps audit-grants orders customers --fail-on error',
    'dbps audit-grants --format sarif --output audit.sarif',
    'dbps audit-grants --dump catalog.json && dbps audit-grants --from-dump catalog.json --format junit',
    'dbps audit-grants --severity orphan-account=error',
  ],
  exitCodes: {
    0: 'clean: nothing at or above --fail-on (declared reads are allowed)',
    1: 'findings at or above --fail-on',
    2: 'invalid services.yaml, unknown service or rule, bad dump file',
    3: 'a server could not be read (unreachable, admin cannot read mysql.*, timeout); the others are still audited',
  },
  async run({ args, opts, io }) {
    const { UsageError } = await import('../../errors.js');
    const severity: Record<string, 'error' | 'warning' | 'off'> = {};
    for (const pair of (opts.severity as string[] | undefined) ?? []) {
      const m = /^([a-z-]+)=(error|warning|off)$/.exec(pair);
      if (!m) throw new UsageError(`--severity: "${pair}" is not rule=error|warning|off`);
      severity[m[1]!] = m[2] as 'error' | 'warning' | 'off';
    }
    const timeout = Number(opts.timeout ?? 30);
    if (!Number.isFinite(timeout) || timeout <= 0)
      throw new UsageError(`--timeout: "${String(opts.timeout)}" is not a positive number of seconds`);
    const format = (opts.format as 'text' | 'json' | 'junit' | 'sarif' | undefined) ?? (io.opts.json ? 'json' : 'text');
    const [{ run, auditExitCode }, render] = await Promise.all([
      import('../../commands/audit-grants.js'),
      import('../../ui/render/audit.js'),
    ]);
    const result = await run({
      file: io.opts.file,
      stateDir: io.opts.stateDir,
      services: args,
      failOn: opts.failOn as 'error' | 'warning',
      severity,
      timeoutMs: Math.round(timeout * 1000),
      ...(typeof opts.dump === 'string' ? { dump: opts.dump } : {}),
      ...(typeof opts.fromDump === 'string' ? { fromDump: opts.fromDump } : {}),
    });
    // The text report on stdout names unreachable servers itself; other formats need the warning on stderr.
    const reportShowsUnreachable = format === 'text' && typeof opts.output !== 'string';
    if (!reportShowsUnreachable)
      for (const s of result.servers)
        if (s.status === 'unreachable')
          io.warn(`server ${s.server} was not audited: ${s.error}${s.hint ? ` (${s.hint})` : ''}`);
    if (typeof opts.output === 'string') {
      const { writeFile } = await import('node:fs/promises');
      const { noPaint } = await import('../../ui/paint.js');
      await writeFile(opts.output, render.renderAudit(result, format, noPaint));
      const s = result.summary;
      io.info(
        `${format} report written to ${opts.output}: ${count(s.errors, 'error')}, ${count(s.warnings, 'warning')}, ${s.allowed} allowed`,
      );
    } else {
      io.out(render.renderAudit(result, format, io.paint));
    }
    return auditExitCode(result);
  },
};
