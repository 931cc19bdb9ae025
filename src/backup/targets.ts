// Where the backup commands find a fleet's local servers: state.json (paths) and secrets.env
// (the managed backup account's password, created by `dbps provision`).
import path from 'node:path';
import { OperationalError } from '../errors.js';
import { type Fleet, type FleetServer, servicesOn } from '../fleet/model.js';
import { BACKUP_USER } from '../fleet/roles.js';
import { interruptedRestoreText } from '../runtime/restore-record.js';
import { passwordFor, readSecrets } from '../runtime/secrets.js';
import type { FleetState } from '../runtime/state.js';
import type { LogicalTarget } from './logical.js';
import type { RestoreTarget } from './restore.js';
import type { BackupTarget } from './take.js';

/** Default root of backup sets. */
export function defaultBackupRoot(stateDir: string): string {
  return path.join(stateDir, 'backups');
}

function localEntry(server: FleetServer, state: FleetState, interrupted = false) {
  const entry = state.servers[server.name];
  if (!entry) {
    throw new OperationalError(
      `server "${server.name}" has never been started, so there is nothing to back up or restore into`,
      {
        server: server.name,
        hint: `run \`dbps up ${server.services[0] ?? server.name}\``,
      },
    );
  }
  if (entry.restore && !interrupted) {
    // A half-restored datadir is not worth a backup, and another restore must not pile onto it.
    const { message, hint } = interruptedRestoreText(server.name, entry.restore);
    throw new OperationalError(message, { server: server.name, hint });
  }
  return entry;
}

/** Backup targets for local servers; the backup account's password must exist already. */
export async function backupTargets(
  servers: FleetServer[],
  state: FleetState,
  stateDir: string,
  env: NodeJS.ProcessEnv,
): Promise<BackupTarget[]> {
  const secrets = await readSecrets(stateDir);
  return servers.map((server) => {
    const entry = localEntry(server, state);
    const password = passwordFor({ server: server.name, user: BACKUP_USER }, secrets, env);
    if (password === undefined) {
      throw new OperationalError(
        `server "${server.name}": the backup account ${BACKUP_USER} has no password in ${path.join(stateDir, 'secrets.env')}`,
        {
          server: server.name,
          hint: 'run `dbps provision` first; it creates the backup account',
        },
      );
    }
    return {
      server: server.name,
      services: server.services,
      datadir: entry.datadir,
      socket: entry.socket,
      cnf: entry.cnf,
      credentials: { user: BACKUP_USER, password, socket: entry.socket },
      ...(entry.history ? { history: entry.history } : {}),
    };
  });
}

/**
 * Logical-backup targets: the managed dbps_backup account over the network for an external server (it
 * is created for the host dbps connects from), over the socket for a local one.
 */
export async function logicalTargets(
  fleet: Fleet,
  servers: FleetServer[],
  state: FleetState,
  stateDir: string,
  env: NodeJS.ProcessEnv,
): Promise<LogicalTarget[]> {
  const secrets = await readSecrets(stateDir);
  return servers.map((server) => {
    const entry = server.driver === 'local' ? localEntry(server, state) : undefined;
    const password = passwordFor({ server: server.name, user: BACKUP_USER }, secrets, env);
    if (password === undefined) {
      throw new OperationalError(
        `server "${server.name}": the backup account ${BACKUP_USER} has no password in ${path.join(stateDir, 'secrets.env')}`,
        { server: server.name, hint: 'run `dbps provision` first; it creates the backup account' },
      );
    }
    return {
      server: server.name,
      services: server.services,
      databases: servicesOn(fleet, server).map((s) => s.database),
      credentials: entry
        ? { user: BACKUP_USER, password, socket: entry.socket }
        : { user: BACKUP_USER, password, host: server.host!, port: server.port ?? 3306 },
      ...(entry?.history ? { history: entry.history } : {}),
    };
  });
}

/** Restore targets for local servers; `interrupted` (for --resume / --rollback) accepts servers with an unfinished restore. */
export function restoreTargets(servers: FleetServer[], state: FleetState, interrupted = false): RestoreTarget[] {
  return servers.map((server) => {
    const entry = localEntry(server, state, interrupted);
    return {
      server: server.name,
      datadir: entry.datadir,
      socket: entry.socket,
      cnf: entry.cnf,
      adminUser: entry.adminUser,
      ...(entry.history ? { history: entry.history } : {}),
      ...(entry.movedAside ? { movedAside: entry.movedAside } : {}),
      ...(entry.restore ? { restore: entry.restore } : {}),
    };
  });
}
