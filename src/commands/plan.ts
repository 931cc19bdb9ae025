// dbps plan: provision with --dry-run forced, one code path for both verbs.
import { type ProvisionOptions, type ProvisionResult, run as provision } from './provision.js';

export type PlanOptions = Omit<ProvisionOptions, 'dryRun' | 'yes'>;

/** The pending changes of the fleet, computed exactly as provision would, without applying any. */
export function run(opts: PlanOptions): Promise<ProvisionResult> {
  return provision({ ...opts, dryRun: true, yes: false });
}
