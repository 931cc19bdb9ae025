// `dbps move` result as text. Pure.
import type { MoveResult } from '../../commands/move.js';

/** Readable move report: what went where, the write pause, and the next step. */
export function moveText(r: MoveResult): string {
  const lines: string[] = [];
  if (r.action === 'finished') {
    lines.push(`${r.service}: dropped its old copy (database ${r.from.database} on ${r.from.server}).`);
  } else {
    const size = r.bytes !== undefined ? `, ${(r.bytes / 1024 / 1024).toFixed(1)} MiB copied` : '';
    lines.push(
      `${r.service}: moved from ${r.from.server} (database ${r.from.database}) to ${r.to.server} (database ${r.to.database}) in ${(r.elapsedMs / 1000).toFixed(1)} s${size}.`,
    );
    if (r.writePauseMs !== undefined) {
      const killed = r.killedConnections
        ? `; ${r.killedConnections} connection${r.killedConnections === 1 ? '' : 's'} on the old server ended`
        : '';
      lines.push(`write pause: ${(r.writePauseMs / 1000).toFixed(3)} s${killed}`);
    }
    lines.push(`old copy: read-only for ${r.service}'s accounts until --finish`);
  }
  lines.push(`next: ${r.next}`);
  return `${lines.join('\n')}\n`;
}
