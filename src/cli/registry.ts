// Every command, in help order. Each spec file is light; the work is imported when the command runs.
import type { CommandSpec } from './spec.js';
import { initSpec } from './specs/init.js';
import { validateSpec } from './specs/validate.js';
import { generateSpec } from './specs/generate.js';
import { planSpec } from './specs/plan.js';
import { provisionSpec } from './specs/provision.js';
import { auditGrantsSpec } from './specs/audit-grants.js';

export const COMMANDS: CommandSpec[] = [
  initSpec,
  validateSpec,
  generateSpec,
  planSpec,
  provisionSpec,
  auditGrantsSpec,
];
