// Text for up / down / status / doctor results. Pure: a result goes in, a string comes out.
import type { DoctorResult } from '../../commands/doctor.js';
import type { DownResult } from '../../commands/down.js';
import { describeStop } from '../../commands/down.js';
import type { StatusResult } from '../../commands/status.js';
import type { UpResult } from '../../commands/up.js';
import { describeStart } from '../../commands/up.js';
import type { Paint } from '../paint.js';

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
      : `${paint.ok('ok')}  ${s.label}: ${describeStart({ server: s.server, action: s.action!, ...(s.port !== undefined ? { port: s.port } : {}), seconds: s.seconds ?? 0 })}\n`;
  }
  for (const s of r.servers) if (s.error) out += errorLines(paint, s.error);
  const failed = r.servers.filter((s) => s.error).length;
  if (failed) out += `${failed} of ${r.servers.length} server${r.servers.length === 1 ? '' : 's'} failed to come up\n`;
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

export function statusText(r: StatusResult, paint: Paint): string {
  const stateText = (cell: string) => {
    const state = cell.trim();
    return state === 'running' ? paint.ok(cell) : state === 'stopped' ? paint.dim(cell) : paint.bad(cell);
  };
  const rows = [
    ['SERVER', 'DRIVER', 'SERVICES', 'STATE', 'HOST:PORT', 'PID', 'VERSION', 'UPTIME', 'THREADS', 'SOCKET'],
  ];
  for (const s of r.servers) {
    rows.push([
      s.server,
      s.driver,
      s.services.join(','),
      s.state,
      s.port !== undefined ? `${s.host}:${s.port}` : '-',
      s.pid !== undefined ? String(s.pid) : '-',
      s.version ? s.version.split('-')[0]! : '-',
      s.uptimeSeconds !== undefined ? formatUptime(s.uptimeSeconds) : '-',
      s.threadsConnected !== undefined ? String(s.threadsConnected) : '-',
      s.socket ?? '-',
    ]);
  }
  let out = `${table(rows, paint, (cell, row, col) => (row > 0 && col === 3 ? stateText(cell) : cell))}\n`;
  const health = r.servers.flatMap((s) => s.health.map((h) => ({ ...h, server: s.server })));
  if (health.length) {
    const hrows = [['SERVICE', 'SERVER', 'DATABASE', 'ACTIVE QUERIES', 'THREADS', 'BUFFER POOL READS (server)']];
    for (const h of health) {
      hrows.push([
        h.service,
        h.server,
        h.databaseExists ? h.database : `${h.database} (not created yet)`,
        String(h.activeQueries),
        String(h.threadsConnected),
        String(h.bufferPoolReads),
      ]);
    }
    out += `\n${table(hrows, paint)}\n`;
  }
  const notes = r.servers.filter(
    (s) => s.restoreInterrupted || (s.state !== 'running' && s.detail && (s.state !== 'stopped' || s.shouldRun)),
  );
  if (notes.length) out += `\n${notes.map((s) => `${stateText(s.state)} ${s.server}: ${s.detail}`).join('\n')}\n`;
  // `dbps up` starts local servers only; an external one that does not answer needs its own fix.
  const driverOf = new Map(r.servers.map((s) => [s.server, s.driver]));
  const localDown = r.down.filter((n) => driverOf.get(n) !== 'external');
  const externalDown = r.servers.filter((s) => s.driver === 'external' && r.down.includes(s.server));
  if (localDown.length)
    out += `${localDown.length} local server${localDown.length === 1 ? '' : 's'} should be running but ${localDown.length === 1 ? 'is' : 'are'} not: ${localDown.join(', ')}; run \`dbps up\`\n`;
  for (const s of externalDown) out += `external server ${s.server}: ${externalAdvice(s.detail)}\n`;
  return out;
}

/** What to do about an external server that does not answer: dbps never starts those. */
export function externalAdvice(detail: string | undefined): string {
  if (detail && /access denied/i.test(detail))
    return "it refused dbps's admin login; check servers.<name>.admin.user in services.yaml and that its passwordEnv variable holds that user's password";
  if (detail && /environment variable/.test(detail)) return 'export the admin password variable named in services.yaml';
  return 'dbps does not start external servers; check that it runs and that host and port in services.yaml are right';
}

export function doctorText(r: DoctorResult, paint: Paint): string {
  let out = '';
  for (const c of r.checks) {
    out += `${c.ok ? paint.ok('ok  ') : paint.bad('FAIL')}  ${c.check}: ${c.detail}\n`;
    if (!c.ok && c.fix) out += `      fix: ${c.fix}\n`;
  }
  if (r.skipped) out += `${paint.dim(`note: ${r.skipped}`)}\n`;
  const failed = r.checks.filter((c) => !c.ok);
  out += failed.length
    ? `${failed.length} problem${failed.length === 1 ? '' : 's'} found\n`
    : 'everything dbps needs is in place\n';
  return out;
}
