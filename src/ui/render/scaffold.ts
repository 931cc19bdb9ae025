// Renderers for dbps scaffold: pure, result in, string out.
import type { ScaffoldListResult, ScaffoldResult } from '../../commands/scaffold.js';
import type { Paint } from '../paint.js';

const MARK = { written: '+', overwritten: '~', unchanged: '=', conflict: '!' } as const;

/** `--list` and the files written, as text. */
export function scaffoldText(r: ScaffoldResult | ScaffoldListResult, paint: Paint, cwd: string): string {
  if ('list' in r) {
    const width = Math.max(...r.list.map((p) => p.name.length));
    return `${r.list.map((p) => `${paint.bold(p.name.padEnd(width))}  ${p.summary}`).join('\n')}\n\n${paint.dim(r.xa)}\n`;
  }
  const rel = cwd && r.dir.startsWith(cwd) ? r.dir.slice(cwd.length + 1) || '.' : r.dir;
  const lines = r.files.map((f) => `  ${MARK[f.status]} ${rel}/${f.name}  ${paint.dim(f.summary)}`);
  const head = `${r.pattern} for ${r.service} (database ${r.database}):`;
  const tail = r.appliedAs
    ? paint.ok(`Applied ${r.files.length} file(s) as ${r.appliedAs}.`)
    : paint.dim(`Apply with \`dbps scaffold ${r.pattern} ${r.service} --apply\` (as the service's migrator).`);
  return `${head}\n${lines.join('\n')}\n${tail}\n`;
}

/** The result as one JSON document. */
export function scaffoldJson(r: ScaffoldResult | ScaffoldListResult): unknown {
  return { version: 1, ...r };
}
