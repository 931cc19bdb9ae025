// dbps env: a service's connection (DATABASE_URL, DB_HOST, …) for its application, its migration tool,
// docker compose or a Kubernetes Secret, as one of its accounts (or the server's backup / monitor account).
import { loadFleet } from '../config/load.js';
import { chooseAccount, findService } from '../fleet/account-choice.js';
import { serverOf } from '../fleet/model.js';
import { MONITOR_USER } from '../fleet/roles.js';
import { monitorPasswordEnv } from '../render/compose.js';
import type { ConnectionParts, EnvFormat } from '../render/connection-env.js';
import { accountEndpoint, accountPassword } from '../runtime/account-connection.js';

export interface EnvOptions {
  file: string;
  stateDir: string;
  service: string;
  /** One of the service's accounts, or dbps_backup / dbps_monitor; default its `app` account. */
  user?: string;
  format: EnvFormat;
  env?: NodeJS.ProcessEnv;
}

export interface EnvResult {
  command: 'env';
  service: string;
  server: string;
  connection: ConnectionParts;
  format: EnvFormat;
}

/** Resolves the account, its endpoint and its password; nothing is printed here. */
export async function run(opts: EnvOptions): Promise<EnvResult> {
  const env = opts.env ?? process.env;
  const fleet = await loadFleet(opts.file, { stateDir: opts.stateDir });
  const service = findService(fleet, opts.service);
  const server = serverOf(fleet, service);
  const account = chooseAccount(fleet, service, opts.user);
  const endpoint = await accountEndpoint(server, service, account, opts.stateDir, fleet.file);
  const password = await accountPassword(fleet, server, service, account, opts.stateDir, env);
  return {
    command: 'env',
    service: service.name,
    server: server.name,
    format: opts.format,
    connection: {
      user: account.user,
      password,
      host: endpoint.host,
      port: endpoint.port,
      database: account.database ?? '',
      ...(endpoint.socket ? { socket: endpoint.socket } : {}),
      socketOnly: endpoint.socketOnly,
      tls: { mode: endpoint.tls.mode, ...(endpoint.tls.caFile ? { ca: endpoint.tls.caFile } : {}) },
      // The variable the generated docker-compose.yml's exporter of this server reads.
      ...(account.user === MONITOR_USER ? { extra: [[monitorPasswordEnv(fleet, server), password]] } : {}),
    },
  };
}
