// Text for settings drift (status, plan, up): which settings of a server differ from services.yaml and the
// command that applies them. Pure; bounded at any fleet size (a few settings per line, a few servers).
import type { SettingDrift } from '../../mycnf/drift.js';
import { driftRemedy } from '../../mycnf/drift.js';
import { printable } from '../../util/printable.js';
import { formatSize, parseSize } from '../../util/size.js';
import { someNames } from '../../util/suggest.js';

/** At most this many settings are spelt out per server; the rest are counted. */
const SHOWN = 4;

/** `innodb_buffer_pool_size 332M (runs with 166M)`: a running size in the unit my.cnf uses. */
function settingText(d: SettingDrift, before: string): string {
  const running =
    parseSize(d.wanted) !== undefined && /^\d+$/.test(d.running) ? formatSize(Number(d.running)) : printable(d.running);
  return `${d.name} ${d.wanted} (${before} ${running})`;
}

/** The settings of one server, bounded: `a 1 (runs with 2), b … and 3 more`; `was` once applied. */
export function driftList(drift: readonly SettingDrift[], before: 'runs with' | 'was' = 'runs with'): string {
  const shown = drift
    .slice(0, SHOWN)
    .map((d) => settingText(d, before))
    .join(', ');
  return drift.length > SHOWN ? `${shown} and ${drift.length - SHOWN} more` : shown;
}

/** How `dbps up --restart` applies this drift, in a few words. */
export function remedyText(drift: readonly SettingDrift[]): string {
  if (driftRemedy(drift) === 'set-global') return 'with SET GLOBAL, no restart';
  const staticOnes = drift.filter((d) => !d.dynamic).map((d) => d.name);
  return `with a clean restart (${someNames(staticOnes, 3)} cannot change at run time)`;
}

/** One line: `shared: 2 settings differ from services.yaml: …; `dbps up --restart shared` applies them …`. */
export function driftLine(server: string, drift: readonly SettingDrift[]): string {
  const n = drift.length;
  return `${server}: ${n} setting${n === 1 ? ' differs' : 's differ'} from services.yaml: ${driftList(drift)}; \`dbps up --restart ${server}\` applies ${n === 1 ? 'it' : 'them'} ${remedyText(drift)}`;
}

/** Lines for the servers with drift, at most `max` of them, then a count with the command for all. */
export function driftLines(servers: readonly { server: string; drift: readonly SettingDrift[] }[], max = 5): string[] {
  const lines = servers.slice(0, max).map((s) => driftLine(s.server, s.drift));
  if (servers.length > max)
    lines.push(
      `and ${servers.length - max} more server${servers.length - max === 1 ? '' : 's'} with settings that differ from services.yaml; \`dbps up --restart\` applies every one`,
    );
  return lines;
}
