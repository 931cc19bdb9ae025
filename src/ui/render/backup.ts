// Text for the backup commands: pure functions of their results.

import type { BackupManifest } from '../../backup/manifest.js';
import type { RestoreWindow } from '../../backup/windows.js';
import type { BackupResult } from '../../commands/backup.js';
import type { BackupsResult } from '../../commands/backups.js';
import type { RestoreResult } from '../../commands/restore.js';
import { count } from '../../util/count.js';
import { someNames } from '../../util/suggest.js';
import type { Paint } from '../paint.js';

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** Summary printed after `dbps backup`. */
export function backupText(r: BackupResult, p: Paint): string {
  const m = r.manifest;
  const lines = [
    `backup set ${p.bold(m.id)}: ${m.status === 'complete' ? p.ok('complete') : p.bad('partial')} (${r.dir})`,
  ];
  for (const e of m.servers) {
    if (e.status === 'failed') {
      lines.push(`  ${p.bad('failed')} ${e.server}: ${e.reason ?? 'unknown reason'}`);
      continue;
    }
    const pos = e.binlog
      ? `${e.binlog.file}:${e.binlog.position}${e.binlog.gtid ? ` gtid ${e.binlog.gtid}` : ''}`
      : 'no binlog';
    if (e.method === 'logical') {
      lines.push(
        `  ${p.ok('ok')}     ${e.server}: logical, ${mib(e.sizeBytes ?? 0)} (mariadb-dump, zstd), dump ${((e.copyMs ?? 0) / 1000).toFixed(1)} s, ${pos}`,
      );
      continue;
    }
    lines.push(
      `  ${p.ok('ok')}     ${e.server}: ${mib(e.sizeBytes ?? 0)}, copy ${((e.copyMs ?? 0) / 1000).toFixed(1)} s, prepare ${((e.prepareMs ?? 0) / 1000).toFixed(1)} s, ${pos}, ${e.archivedBinlogs.length} binlog file(s) archived`,
    );
  }
  for (const w of r.warnings) lines.push(`${p.warn('warning:')} ${w}`);
  if (m.status === 'partial') lines.push('The set is partial: the failed servers have no restorable backup in it.');
  return `${lines.join('\n')}\n`;
}

/** The whole manifest in readable form (`backups show`). */
export function manifestText(m: BackupManifest, p: Paint): string {
  const lines = [
    `set ${p.bold(m.id)} of fleet ${m.fleet}: ${m.status}, ${m.startedAt} → ${m.endedAt}, compression ${m.compress}`,
  ];
  for (const e of m.servers) {
    lines.push(
      `  ${e.server} (${e.services.join(', ') || 'no services'}): ${e.status === 'ok' ? p.ok('ok') : p.bad(`failed: ${e.reason ?? ''}`)}`,
    );
    if (e.status !== 'ok') continue;
    lines.push(
      e.method === 'logical'
        ? `    server ${e.serverVersion ?? '?'}, logical (mariadb-dump) of ${someNames(e.databases ?? [], 5)}, ${mib(e.sizeBytes ?? 0)} at ${e.path}`
        : `    server ${e.serverVersion ?? '?'}, mariadb-backup ${e.toolVersion ?? '?'}, ${mib(e.sizeBytes ?? 0)} at ${e.path}, ${e.prepared ? 'prepared' : 'not prepared'}`,
    );
    lines.push(
      `    ${e.startedAt} → ${e.endedAt} (${(e.durationMs / 1000).toFixed(1)} s), sha256 ${e.checksum ?? '-'}`,
    );
    lines.push(
      `    binlog ${e.binlog ? `${e.binlog.file}:${e.binlog.position}${e.binlog.gtid ? `, gtid ${e.binlog.gtid}` : ''} (from ${e.binlogInfoFile})${e.history ? `, history ${e.history}` : ''}` : 'off: no point-in-time restore'}`,
    );
    if (e.archivedBinlogs.length)
      lines.push(`    archived binlogs: ${e.archivedBinlogs.map((b) => b.file).join(', ')}`);
    if (e.verify)
      lines.push(
        `    verify ${e.verify.at}: ${e.verify.ok ? p.ok(`ok, ${count(e.verify.tables.length, 'table')}`) : p.bad(`FAILED: ${e.verify.reason ?? ''}`)}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

/** Text of `dbps backups …`. */
export function backupsText(r: BackupsResult, p: Paint): string {
  switch (r.action) {
    case 'list': {
      if (r.sets.length === 0) return `no backup sets in ${r.root}\n`;
      const rows = r.sets.map((s) => {
        const status = s.status === 'complete' ? p.ok(s.status.padEnd(8)) : p.bad(s.status.padEnd(8));
        const servers = s.servers
          .map(
            (e) =>
              `${e.server}${e.status === 'failed' ? '(failed)' : e.verified === true ? '(verified)' : e.verified === false ? '(verify failed)' : ''}`,
          )
          .join(', ');
        return `${s.id.padEnd(20)} ${status} ${mib(s.sizeBytes).padStart(12)}  ${servers}${s.problem ? ` ${s.problem}` : ''}`;
      });
      return `${[`${'ID'.padEnd(20)} STATUS   ${'SIZE'.padStart(12)}  SERVERS`, ...rows, ...windowLines(r.windows)].join('\n')}\n`;
    }
    case 'show':
      return `${manifestText(r.manifest, p)}${windowLines(r.windows).join('\n')}\n`;
    case 'verify': {
      const lines = r.manifest.servers
        .filter((e) => e.verify)
        .map((e) =>
          e.verify!.ok
            ? `  ${p.ok('ok')}     ${e.server}: ${count(e.verify!.tables.length, 'table')} ${e.verify!.tables.length === 1 ? 'passes' : 'pass'} CHECK TABLE, files match their checksums`
            : `  ${p.bad('FAILED')} ${e.server}: ${e.verify!.reason ?? 'failed'}`,
        );
      for (const e of r.manifest.servers.filter((x) => x.status === 'failed'))
        lines.push(`  ${p.bad('failed')} ${e.server}: not in the set (${e.reason ?? ''})`);
      return `set ${r.manifest.id}: ${r.ok ? p.ok('verified') : p.bad('verification failed')}\n${lines.join('\n')}\n`;
    }
    case 'prune': {
      const head = r.removed.length
        ? `${r.dryRun ? 'would remove' : 'removed'} ${r.removed.length} set(s): ${r.removed.join(', ')}; kept ${r.kept.length}`
        : `nothing to prune; ${r.kept.length} set(s) kept`;
      const why = Object.entries(r.protects).map(
        ([id, servers]) => `  ${id} holds a newest good backup of ${servers.join(', ')}`,
      );
      const tmp = r.abandoned.length
        ? [
            `${r.dryRun ? 'would remove' : 'removed'} ${r.abandoned.length} half-written set(s) of killed backups: ${r.abandoned.join(', ')}`,
          ]
        : [];
      const binlogs = r.binlogsRemoved.length
        ? [
            `${r.dryRun ? 'would remove' : 'removed'} ${r.binlogsRemoved.length} archived binlog file(s) no kept set can replay`,
          ]
        : [];
      return `${[head, ...tmp, ...binlogs, ...why].join('\n')}\n`;
    }
  }
}

/** "restore windows" lines: each server's newest window, and how many older ones it has. */
function windowLines(windows: RestoreWindow[]): string[] {
  if (windows.length === 0) return [];
  const servers = [...new Set(windows.map((w) => w.server))];
  const width = Math.min(24, Math.max(...servers.map((s) => s.length)));
  const lines = ['', 'restore windows (from the sets and the archived binlogs; `restore --to-time` inside one):'];
  for (const server of servers) {
    const mine = windows.filter((w) => w.server === server);
    const w = mine[mine.length - 1]!;
    const older = mine.length > 1 ? ` (and ${mine.length - 1} older window${mine.length > 2 ? 's' : ''})` : '';
    lines.push(`  ${server.padEnd(width)}  ${stamp(w.from)} → ${stamp(w.until)}${older}`);
  }
  return lines;
}

const stamp = (iso: string) => iso.replace(/\.\d+Z$/, 'Z');

/** Text of `dbps restore`. */
export function restoreText(r: RestoreResult, p: Paint): string {
  if (r.finished === 'rollback')
    return `${r.servers.map((s) => `${p.ok('ok')} ${s.server}: interrupted restore rolled back; the previous datadir is in place again`).join('\n')}\n`;
  const lines = [
    `${r.finished === 'resume' ? 'finished the interrupted restore' : 'restored'} from set ${p.bold(r.id)}${r.toTime ? ` to ${r.toTime}` : ''}:`,
  ];
  for (const d of r.databases ?? []) {
    lines.push(
      `  ${p.ok('ok')} ${d.service}: database ${d.database} on ${d.server} back to the set (${d.tables} table${d.tables === 1 ? '' : 's'}); its previous tables are kept in ${d.keptAs}`,
    );
    if (d.untouched.length) lines.push(`     left as they were on ${d.server}: ${someNames(d.untouched, 8)}`);
  }
  for (const s of r.servers) {
    if (s.method === 'logical') {
      const n = s.databases?.length ?? 0;
      lines.push(
        `  ${p.ok('ok')} ${s.server}: ${n} database(s) loaded from the logical backup of ${s.from ?? s.server} and swapped in`,
      );
      continue;
    }
    lines.push(`  ${p.ok('ok')} ${s.server}: previous datadir kept at ${s.movedAside}`);
    if (s.services?.length)
      lines.push(
        `     back to the set: ${someNames(s.services, 3)} (${s.services.length} service${s.services.length === 1 ? '' : 's'})`,
      );
    if (s.replay) lines.push(`     replayed ${s.replay.from} → ${s.replay.until} from ${s.replay.files.join(', ')}`);
    if (s.gtid) lines.push(`     gtid_binlog_pos ${s.gtid}`);
  }
  return `${lines.join('\n')}\n`;
}
