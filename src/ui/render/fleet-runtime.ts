// Text for up / down / status / doctor results. Pure: a result goes in, a string comes out.
import type { DoctorResult } from '../../commands/doctor.js';
import type { DownResult } from '../../commands/down.js';
import { describeStop } from '../../commands/down.js';
import type { StatusResult } from '../../commands/status.js';
import type { UpResult } from '../../commands/up.js';
import { describeStart } from '../../commands/up.js';
import type { FailureKind } from '../../runtime/failures.js';
import { count } from '../../util/count.js';
import { someNames } from '../../util/suggest.js';
import type { Paint } from '../paint.js';
import { driftLines, driftList } from './settings-drift.js';

/** Left-aligned columns separated by two spaces; the header row is dimmed. */
export function table(
  rows: string[][],
  paint: Paint,
  style: (padded: string, row: number, col: number) => string = (t) => t,
): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r, i) => {
      // Colour is applied after padding so escape codes do not break the columns.
      const line = r
        .map((cell, c) => style(c === r.length - 1 ? cell : cell.padEnd(widths[c]!), i, c))
        .join('  ')
        .trimEnd();
      return i === 0 ? paint.dim(line) : line;
    })
    .join('\n');
}

/** "3d 4h", "2h 5m", "4m 10s", "12s". */
export function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

function errorLines(paint: Paint, error: { message: string; hint?: string }): string {
  return `${paint.bad('error:')} ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`;
}

/** `perServer: false` when progress already showed each server's line (then only errors and the summary). */
export function upText(r: UpResult, paint: Paint, perServer = true): string {
  let out = '';
  for (const s of perServer ? r.servers : []) {
    out += s.error
      ? `${paint.bad('failed')}  ${s.label}\n`
      : `${paint.ok('ok')}  ${s.label}: ${describeStart({ server: s.server, action: s.action!, ...(s.port !== undefined ? { port: s.port } : {}), seconds: s.seconds ?? 0, ...(s.pendingSettings ? { pendingSettings: s.pendingSettings } : {}), ...(s.appliedSettings ? { appliedSettings: s.appliedSettings } : {}) })}\n`;
  }
  const applied = r.servers.filter((s) => s.appliedSettings?.length && !s.error);
  for (const s of applied.slice(0, 5))
    out += `${paint.ok('applied')} ${s.server}: ${driftList(s.appliedSettings!, 'was')} (${s.action === 'restarted' ? 'clean restart' : 'SET GLOBAL'}; my.cnf rewritten)\n`;
  if (applied.length > 5) out += `and ${applied.length - 5} more servers with new settings\n`;
  const pending = r.servers
    .filter((s) => s.pendingSettings?.length && !s.error)
    .map((s) => ({ server: s.server, drift: s.pendingSettings! }));
  for (const line of driftLines(pending)) out += `${paint.warn('settings:')} ${line}\n`;
  for (const s of r.servers) if (s.error) out += errorLines(paint, s.error);
  for (const s of r.servers) {
    if (s.movedFromPort !== undefined && !s.error)
      out += `${paint.warn('note:')} ${s.server}: port ${s.movedFromPort} is now used by another program, so it moved to port ${s.port} (set \`port:\` in services.yaml to pin one)\n`;
  }
  for (const v of r.versionNotes ?? []) out += `${paint.warn('note:')} ${v.note}\n`;
  const failed = r.servers.filter((s) => s.error).length;
  if (failed) out += `${failed} of ${r.servers.length} server${r.servers.length === 1 ? '' : 's'} failed to come up\n`;
  else if (!r.changed && pending.length)
    out += `all ${r.servers.length} server${r.servers.length === 1 ? ' is' : 's are'} already running; ${pending.length} with settings to apply (\`dbps up --restart\`)\n`;
  else if (!r.changed)
    out += `nothing to do: all ${r.servers.length} server${r.servers.length === 1 ? ' is' : 's are'} already running\n`;
  else
    out += `fleet is up (${r.servers.length} server${r.servers.length === 1 ? '' : 's'}); next: dbps status, dbps provision\n`;
  return out;
}

export function downText(r: DownResult, paint: Paint, perServer = true): string {
  let out = '';
  for (const s of perServer ? r.servers : []) {
    out += s.error
      ? `${paint.bad('failed')}  ${s.label}\n`
      : `${paint.ok('ok')}  ${s.label}: ${describeStop({ server: s.server, action: s.action!, destroyed: s.destroyed })}\n`;
  }
  for (const s of r.servers) if (s.error) out += errorLines(paint, s.error);
  for (const w of r.warnings) out += `${paint.warn('warning:')} ${w}\n`;
  if (!r.servers.some((s) => s.error)) out += r.changed ? 'fleet is down\n' : 'nothing to do: no server was running\n';
  return out;
}

/** Text width when stdout is not a terminal (CI logs, pipes): lines stay readable in any log viewer. */
export const DEFAULT_TEXT_WIDTH = 100;

/** `text` cut to `max` characters with an ellipsis, so one long name cannot widen a whole table. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}

/**
 * Rows clipped so the table fits `width` (two spaces between columns): the widest of the `shrinkable`
 * columns loses a character at a time, down to 8; other columns are short by nature (state, pid, version).
 */
export function fitColumns(rows: string[][], width: number, shrinkable: readonly number[]): string[][] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  while (total() > width) {
    const widest = shrinkable.reduce((best, c) => (widths[c]! > widths[best]! ? c : best), shrinkable[0]!);
    if (widths[widest]! <= 8) break;
    widths[widest]!--;
  }
  return rows.map((r) => r.map((cell, c) => (shrinkable.includes(c) ? clip(cell, widths[c]!) : cell)));
}

/** A server's services for a table cell: the names when they fit, else their count. */
function servicesCell(services: readonly string[], max: number): string {
  const names = services.join(',');
  if (names.length <= max) return names;
  return count(services.length, 'service');
}

export interface StatusTextOptions {
  /** Columns the text must fit in (the terminal's, or DEFAULT_TEXT_WIDTH). */
  width?: number;
  /** Every column in full (socket, threads, all service names): for wide terminals and grep. */
  wide?: boolean;
}

/** dbps's session to the server: `TLSv1.3 verified`, `TLSv1.3` (not verified), `socket`, `none`; `-` when not asked. */
function tlsCell(s: StatusResult['servers'][number]): string {
  if (!s.tls) return '-';
  if (s.tls.transport === 'socket') return s.tls.serverTls ? 'socket (server has TLS)' : 'socket';
  if (!s.tls.version) return 'none';
  return s.tls.verified ? `${s.tls.version} verified` : s.tls.version;
}

export function statusText(r: StatusResult, paint: Paint, opts: StatusTextOptions = {}): string {
  const wide = opts.wide === true;
  const width = opts.width ?? DEFAULT_TEXT_WIDTH;
  const stateText = (cell: string) => {
    const state = cell.trim();
    return state === 'running' ? paint.ok(cell) : state === 'stopped' ? paint.dim(cell) : paint.bad(cell);
  };
  // Narrow view: the columns an operator scans; --wide (or --json) adds threads, socket and full names.
  const rows = [
    wide
      ? ['SERVER', 'DRIVER', 'SERVICES', 'STATE', 'HOST:PORT', 'PID', 'VERSION', 'UPTIME', 'THREADS', 'SOCKET', 'TLS']
      : ['SERVER', 'DRIVER', 'SERVICES', 'STATE', 'HOST:PORT', 'PID', 'VERSION', 'UPTIME'],
  ];
  for (const s of r.servers) {
    const row = [
      wide ? s.server : clip(s.server, 24),
      s.driver,
      s.orphan ? '(not declared)' : wide ? s.services.join(',') : servicesCell(s.services, 20),
      s.state,
      s.port !== undefined ? (wide ? `${s.host}:${s.port}` : clip(`${s.host}:${s.port}`, 24)) : '-',
      s.pid !== undefined ? String(s.pid) : '-',
      s.version ? s.version.split('-')[0]! : '-',
      s.uptimeSeconds !== undefined ? formatUptime(s.uptimeSeconds) : '-',
    ];
    if (wide)
      row.push(s.threadsConnected !== undefined ? String(s.threadsConnected) : '-', s.socket ?? '-', tlsCell(s));
    rows.push(row);
  }
  const shown = wide ? rows : fitColumns(rows, width, [0, 2, 4]);
  let out = `${table(shown, paint, (cell, row, col) => (row > 0 && col === 3 ? stateText(cell) : cell))}\n`;
  const health = r.servers.flatMap((s) => s.health.map((h) => ({ ...h, server: s.server })));
  if (health.length) {
    const hrows = [['SERVICE', 'SERVER', 'DATABASE', 'QUERIES', 'THREADS', 'POOL READS']];
    const name = (t: string) => (wide ? t : clip(t, 20));
    for (const h of health) {
      hrows.push([
        name(h.service),
        name(h.server),
        h.databaseExists ? name(h.database) : `${name(h.database)} (not created yet)`,
        String(h.activeQueries),
        String(h.threadsConnected),
        String(h.bufferPoolReads),
      ]);
    }
    out += `\n${table(wide ? hrows : fitColumns(hrows, width, [0, 1, 2]), paint)}\n`;
  }
  const notes = r.servers.filter(
    (s) => s.restoreInterrupted || (s.state !== 'running' && s.detail && (s.state !== 'stopped' || s.shouldRun)),
  );
  if (notes.length) out += `\n${notes.map((s) => `${stateText(s.state)} ${s.server}: ${s.detail}`).join('\n')}\n`;
  for (const s of r.servers.filter((x) => x.orphan)) {
    out += `${paint.warn('orphan')} ${s.server}: in the state dir but not in services.yaml (renamed or removed?), ${s.state === 'running' ? 'still running' : s.state}, data kept; \`dbps down ${s.server}\` stops it, \`dbps down ${s.server} --destroy\` deletes it\n`;
  }
  // Settings drift is no failure of status (exit 0), but it is always shown.
  const drifted = r.servers
    .filter((s) => s.settingsDrift?.length)
    .map((s) => ({ server: s.server, drift: s.settingsDrift! }));
  for (const line of driftLines(drifted)) out += `${paint.warn('settings')} ${line}\n`;
  // `dbps up` starts local servers only; an external one that does not answer needs its own fix.
  const driverOf = new Map(r.servers.map((s) => [s.server, s.driver]));
  const localDown = r.down.filter((n) => driverOf.get(n) !== 'external');
  const externalDown = r.servers.filter((s) => s.driver === 'external' && r.down.includes(s.server));
  if (localDown.length)
    out += `${localDown.length} local server${localDown.length === 1 ? '' : 's'} should be running but ${localDown.length === 1 ? 'is' : 'are'} not: ${someNames(localDown)}; run \`dbps up\`\n`;
  for (const s of externalDown) out += `external server ${s.server}: ${externalAdvice(s.detail, s.failure)}\n`;
  return out;
}

/** What to do about an external server that does not answer: dbps never starts those. */
export function externalAdvice(detail: string | undefined, failure?: FailureKind): string {
  if (failure === 'tls')
    return 'it answered, but its TLS is not what services.yaml asks for; check tls.ca and tls.mode of the server against its certificate';
  if (detail && /access denied/i.test(detail))
    return "it refused dbps's admin login; check servers.<name>.admin.user in services.yaml and that its passwordEnv variable holds that user's password";
  if (detail && /environment variable/.test(detail)) return 'export the admin password variable named in services.yaml';
  return 'dbps does not start external servers; check that it runs and that host and port in services.yaml are right';
}

export function doctorText(r: DoctorResult, paint: Paint): string {
  let out = '';
  for (const c of r.checks) {
    out += `${c.ok ? (c.warning ? paint.warn('warn') : paint.ok('ok  ')) : paint.bad('FAIL')}  ${c.check}: ${c.detail}\n`;
    if ((!c.ok || c.warning) && c.fix) out += `      fix: ${c.fix}\n`;
  }
  if (r.skipped) out += `${paint.dim(`note: ${r.skipped}`)}\n`;
  const failed = r.checks.filter((c) => !c.ok);
  out += failed.length
    ? `${failed.length} problem${failed.length === 1 ? '' : 's'} found\n`
    : 'everything dbps needs is in place\n';
  return out;
}
