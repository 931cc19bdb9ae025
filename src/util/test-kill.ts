// Test-only: DBPS_TEST_KILL_AT=<point> makes dbps SIGKILL itself on reaching that point, so integration
// tests can interrupt a command at a named moment (e.g. `restore:copy-back`). Never set it in real use.

/** Kills this process with SIGKILL when DBPS_TEST_KILL_AT names `point` (test-only hook). */
export function killHere(point: string): void {
  const at = process.env.DBPS_TEST_KILL_AT;
  if (at?.split(',').includes(point)) process.kill(process.pid, 'SIGKILL');
}
