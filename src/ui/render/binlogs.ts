// Text for `dbps binlogs pull`: one line per server, then warnings. Pure.
import type { BinlogsPullResult } from '../../commands/binlogs.js';
import { printable } from '../../util/printable.js';
import type { Paint } from '../paint.js';

export function binlogsPullText(r: BinlogsPullResult, p: Paint): string {
  const lines = [`binlog archive ${printable(r.root)}/binlogs`];
  for (const s of r.servers) {
    if (s.error) {
      lines.push(`  ${p.bad('failed')} ${s.server}: ${s.error}`);
      continue;
    }
    if (s.skipped) {
      lines.push(`  ${p.warn('skipped')} ${s.server}: ${s.skipped}`);
      continue;
    }
    const whole = s.archived.length
      ? `${s.archived.length} file(s) archived whole (${s.archived[0]}${s.archived.length > 1 ? ` … ${s.archived[s.archived.length - 1]}` : ''})`
      : 'no file closed since the last pull';
    const current = s.partial ? `, current ${s.partial.file} up to ${s.partial.coveredUntil}` : '';
    lines.push(`  ${p.ok('ok')}     ${s.server}: ${whole}${current}`);
  }
  for (const s of r.servers) for (const w of s.warnings) lines.push(`${p.warn('warning:')} ${w}`);
  return `${lines.join('\n')}\n`;
}
