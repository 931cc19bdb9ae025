// Every command, in help order. Each spec file is light; the work is imported when the command runs.
import type { CommandSpec } from './spec.js';
import { initSpec } from './specs/init.js';
import { validateSpec } from './specs/validate.js';
import { generateSpec } from './specs/generate.js';
import { upSpec } from './specs/up.js';
import { downSpec } from './specs/down.js';
import { statusSpec } from './specs/status.js';
import { connectSpec } from './specs/connect.js';
import { doctorSpec } from './specs/doctor.js';
import { planSpec } from './specs/plan.js';
import { provisionSpec } from './specs/provision.js';
import { backupSpec } from './specs/backup.js';
import { backupsSpec } from './specs/backups.js';
import { restoreSpec } from './specs/restore.js';
import { auditGrantsSpec } from './specs/audit-grants.js';

export const COMMANDS: CommandSpec[] = [
  initSpec,
  validateSpec,
  generateSpec,
  upSpec,
  downSpec,
  statusSpec,
  connectSpec,
  planSpec,
  provisionSpec,
  backupSpec,
  backupsSpec,
  restoreSpec,
  auditGrantsSpec,
  doctorSpec,
];
