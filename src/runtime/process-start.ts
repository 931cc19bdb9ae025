// When a process started, from /proc: with its pid, it names one process (a reused pid has another).
// Kept apart from process.ts so the start-up path (run dir, locks) loads no child_process.
import { readFileSync } from 'node:fs';

/**
 * The start time of a process (field 22 of /proc/<pid>/stat, clock ticks since boot): a reused pid has
 * another one, so an owner record with pid and start time names one process. Undefined without /proc.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
