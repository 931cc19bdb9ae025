// Renderers for plan / provision results: pure, result in, string out. SQL shown is the masked `display`.
import type { PlannedChange, ProvisionResult } from '../../commands/provision.js';
import type { MoveHint } from '../../fleet/moves.js';
import type { Paint } from '../paint.js';
import { driftLines } from './settings-drift.js';

const MARK: Record<PlannedChange['kind'], string> = {
  'create-database': '+',
  'alter-database': '~',
  'create-outbox-table': '+',
  'create-outbox-purge': '+',
  'drop-outbox-purge': '-',
  'install-connect': '+',
  'create-link-server': '+',
  'create-link-table': '+',
  'create-link-view': '+',
  'drop-link-view': '-',
  'drop-link-table': '-',
  'drop-link-server': '-',
  'create-user': '+',
  'alter-user': '~',
  grant: '+',
  revoke: '-',
  'revoke-role': '-',
  'revoke-proxy': '-',
  'revoke-public': '-',
  'revoke-public-role': '-',
  'drop-user': '-',
  'drop-database': '-',
};

function indent(text: string, pad: string): string {
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

/** Readable plan or provision report. */
export function provisionText(r: ProvisionResult, paint: Paint, verbose = false): string {
  const out: string[] = [];
  let pending = 0;
  for (const s of r.servers) {
    if (s.error) {
      out.push(
        `${paint.bold(s.label)}: ${paint.bad('error')}: ${s.error.message}${s.error.hint ? `\n  hint: ${s.error.hint}` : ''}`,
      );
      if (s.interrupted) {
        // The server stopped answering mid-way: each change with what is known of it.
        const applied = new Set(s.interrupted.applied);
        let seenRunning = false;
        for (const c of s.changes) {
          const name = c.object;
          const running = !seenRunning && name === s.interrupted.running;
          if (running) seenRunning = true;
          const state = applied.has(name)
            ? paint.ok('applied')
            : running
              ? paint.warn('was running (may or may not have taken effect)')
              : paint.dim('not confirmed');
          out.push(`  ${MARK[c.kind]} ${c.kind} ${name}: ${state}`);
        }
      }
      continue;
    }
    if (s.changes.length === 0 && s.orphans.length === 0 && s.deferred.length === 0) {
      out.push(`${paint.bold(s.label)}: ${paint.ok('no changes')}`);
      continue;
    }
    const failed = new Set(s.failures.map((f) => f.object + f.kind));
    const header =
      s.changes.length === 0
        ? paint.ok('no changes')
        : r.dryRun
          ? `${s.changes.length} change${s.changes.length === 1 ? '' : 's'} pending`
          : `${s.applied} of ${s.changes.length} applied`;
    out.push(`${paint.bold(s.label)}: ${header}`);
    pending += r.dryRun ? s.changes.length : s.changes.length - s.applied;
    for (const c of s.changes) {
      const mark = MARK[c.kind];
      const paintMark = mark === '-' ? paint.bad(mark) : mark === '~' ? paint.warn(mark) : paint.ok(mark);
      const status = failed.has(c.object + c.kind) ? ` ${paint.bad('FAILED')}` : '';
      out.push(`  ${paintMark} ${c.kind} ${c.object}${c.destructive ? paint.bad(' (destructive)') : ''}${status}`);
      if (r.dryRun || verbose) {
        out.push(paint.dim(indent(`${c.sql};`, '      ')));
        out.push(paint.dim(`      -- ${c.reason}`));
      }
    }
    for (const f of s.failures) out.push(`  ${paint.bad('error')}: ${f.message}`);
    for (const d of s.deferred)
      out.push(`  ${d.blocking ? paint.bad('broken') : paint.warn('deferred')} ${d.object}: ${d.reason}`);
    // An orphan that --prune drops is already shown as its drop; listing it again would say it stays.
    const dropped = new Set(
      s.changes.filter((c) => c.kind === 'drop-user' || c.kind === 'drop-database').map((c) => c.object),
    );
    for (const o of s.orphans.filter((x) => !dropped.has(x.object))) {
      const tables = o.tables ? ` (${o.tables} table${o.tables === 1 ? '' : 's'})` : '';
      const move = (r.moves ?? []).find(
        (m) => m.kind !== 'moved-out' && m.from.server === s.server && `database ${m.from.database}` === o.object,
      );
      if (move) {
        out.push(`  ${paint.warn('moved')} ${o.object}${tables}: ${move.service}'s data; run \`${move.command}\``);
        continue;
      }
      out.push(
        `  ${paint.warn('orphan')} ${o.object}${tables}: not in services.yaml${o.kept ? `; kept: ${o.kept}` : '; `provision --prune --yes` drops it'}`,
      );
    }
  }
  const moves = r.moves ?? [];
  for (const m of moves) out.push(moveLine(m, paint, r.servers));
  const errors = r.servers.filter((s) => s.error).length + r.servers.reduce((n, s) => n + s.failures.length, 0);
  const deferred = r.servers.reduce((n, s) => n + s.deferred.length, 0);
  // Settings drift (plan only): applied by `dbps up --restart`, not by provision.
  const drifted = r.servers
    .filter((s) => s.settingsDrift?.length)
    .map((s) => ({ server: s.server, drift: s.settingsDrift! }));
  for (const line of driftLines(drifted)) out.push(`${paint.warn('settings')} ${line}`);
  let summary: string;
  if (r.dryRun) {
    summary = r.inSync
      ? 'In sync: no changes.'
      : pending > 0
        ? `${pending} change${pending === 1 ? '' : 's'} pending; run \`dbps provision\` to apply.`
        : moves.some((m) => m.kind !== 'moved-out')
          ? 'Not in sync: move the services above with `dbps move` (provision leaves them alone until then).'
          : errors > 0
            ? 'Not known to be in sync: the servers above could not be planned.'
            : r.servers.some((s) => s.deferred.some((d) => d.blocking))
              ? 'Not in sync: fix what is marked broken above (dbps cannot repair it).'
              : deferred > 0
                ? `Not in sync: ${deferred} grant${deferred === 1 ? ' waits' : 's wait'} for ${deferred === 1 ? 'its table' : 'their tables'}; run \`dbps provision\` again once ${deferred === 1 ? 'it exists' : 'they exist'}.`
                : 'No changes.';
    summary = withSettingsSummary(summary, drifted.length);
  } else {
    const applied = r.servers.reduce((n, s) => n + s.applied, 0);
    summary = applied === 0 && errors === 0 ? 'No changes.' : `${applied} change${applied === 1 ? '' : 's'} applied.`;
  }
  if (errors > 0) summary += ` ${errors} error${errors === 1 ? '' : 's'}.`;
  out.push(errors > 0 ? paint.bad(summary) : summary);
  return `${out.join('\n')}\n`;
}

/** A plan summary that also says when servers run with settings that differ from services.yaml. */
function withSettingsSummary(summary: string, drifted: number): string {
  if (drifted === 0) return summary;
  const servers = `${drifted} server${drifted === 1 ? ' runs' : 's run'}`;
  if (summary === 'No changes.')
    return `Not in sync: ${servers} with settings that differ from services.yaml; run \`dbps up --restart\` to apply them.`;
  return `${summary} Settings differ on ${drifted} server${drifted === 1 ? '' : 's'}: \`dbps up --restart\` applies them.`;
}

/** One line about a service whose data is elsewhere than services.yaml puts it. */
function moveLine(m: MoveHint, paint: Paint, servers: ProvisionResult['servers']): string {
  const held = servers.reduce((n, s) => n + (s.heldBack ?? []).filter((c) => c.service === m.service).length, 0);
  const waits =
    held > 0
      ? ` (${held} change${held === 1 ? '' : 's'} on ${m.to.server} ${held === 1 ? 'waits' : 'wait'} for it)`
      : '';
  switch (m.kind) {
    case 'moved':
      return `${paint.warn('moved')}: ${m.service}'s data is on ${m.from.server} (database ${m.from.database}), services.yaml puts it on ${m.to.server}: run \`${m.command}\`${waits}`;
    case 'renamed':
      return `${paint.warn('renamed')}: ${m.from.database} on ${m.from.server} looks renamed to ${m.service}: \`${m.command}\` keeps its data${waits}`;
    case 'moved-out':
      return `${paint.dim('moved')}: ${m.service} runs on ${m.to.server}; its old copy on ${m.from.server} (database ${m.from.database}) is read-only until \`${m.command}\``;
  }
}

/** The `--json` document: `{ version, inSync, changes: [{ server, service, kind, object, sql }], … }`. */
export function provisionJson(r: ProvisionResult): unknown {
  return {
    version: 1,
    command: r.command,
    inSync: r.inSync,
    changes: r.servers.flatMap((s) =>
      s.changes.map((c) => ({
        server: c.server,
        service: c.service ?? null,
        kind: c.kind,
        object: c.object,
        sql: c.sql,
        reason: c.reason,
        destructive: c.destructive,
      })),
    ),
    servers: r.servers.map((s) => ({
      server: s.server,
      changes: s.changes.length,
      applied: s.applied,
      elapsedMs: s.elapsedMs,
      ...(s.error ? { error: s.error } : {}),
      ...(s.interrupted ? { interrupted: s.interrupted } : {}),
    })),
    failures: r.servers.flatMap((s) => s.failures.map((f) => ({ server: s.server, ...f }))),
    orphans: r.servers.flatMap((s) => s.orphans),
    moves: r.moves ?? [],
    heldBack: r.servers.flatMap((s) =>
      (s.heldBack ?? []).map((c) => ({ server: c.server, service: c.service ?? null, kind: c.kind, object: c.object })),
    ),
    deferred: r.servers.flatMap((s) => s.deferred),
    settings: r.servers.flatMap((s) => (s.settingsDrift ?? []).map((d) => ({ server: s.server, ...d }))),
  };
}

/** Exit code: 3 when anything failed, 1 for pending changes in a plan, else 0. */
export function provisionExitCode(r: ProvisionResult): number {
  return r.outcome === 'error' ? 3 : r.outcome === 'findings' ? 1 : 0;
}
