// Every command, in help order. Each spec file is light; the work is imported when the command runs.
import type { CommandSpec } from './spec.js';
import { auditGrantsSpec } from './specs/audit-grants.js';
import { backupSpec } from './specs/backup.js';
import { backupsSpec } from './specs/backups.js';
import { binlogsSpec } from './specs/binlogs.js';
import { connectSpec } from './specs/connect.js';
import { doctorSpec } from './specs/doctor.js';
import { downSpec } from './specs/down.js';
import { envSpec } from './specs/env.js';
import { generateSpec } from './specs/generate.js';
import { initSpec } from './specs/init.js';
import { moveSpec } from './specs/move.js';
import { planSpec } from './specs/plan.js';
import { provisionSpec } from './specs/provision.js';
import { restoreSpec } from './specs/restore.js';
import { scaffoldSpec } from './specs/scaffold.js';
import { statusSpec } from './specs/status.js';
import { upSpec } from './specs/up.js';
import { validateSpec } from './specs/validate.js';

export const COMMANDS: CommandSpec[] = [
  initSpec,
  validateSpec,
  generateSpec,
  upSpec,
  downSpec,
  statusSpec,
  connectSpec,
  envSpec,
  planSpec,
  provisionSpec,
  backupSpec,
  backupsSpec,
  binlogsSpec,
  restoreSpec,
  moveSpec,
  auditGrantsSpec,
  scaffoldSpec,
  doctorSpec,
];
