// Where and with which password one account of a service connects (connect and env share it): the
// local server from state.json (TCP on 127.0.0.1, or its socket for `localhost` accounts) or the external host.
import { OperationalError } from '../errors.js';
import type { ChosenAccount } from '../fleet/account-choice.js';
import { desiredServer } from '../fleet/desired.js';
import type { Fleet, FleetServer, FleetService } from '../fleet/model.js';
import { passwordFor, readSecrets, type SecretOwner } from './secrets.js';
import { readState } from './state.js';
import { serverTls, type TlsTarget } from './tls.js';

export interface AccountEndpoint {
  /** Host and port a client uses; for a `localhost` account of a local server, `localhost` and the socket. */
  host: string;
  port: number;
  /** The local server's socket (absent for external servers). */
  socket?: string;
  /** True when the account can only connect through the socket (its host is `localhost`). */
  socketOnly: boolean;
  /** TLS of a TCP connection to the server (local servers: verify-full against the fleet CA). */
  tls: TlsTarget;
}

/** The endpoint of an account on its server; a local server never started is an operational error (exit 3). */
export async function accountEndpoint(
  server: FleetServer,
  service: FleetService,
  account: Pick<ChosenAccount, 'host'>,
  stateDir: string,
  fleetFile: string,
): Promise<AccountEndpoint> {
  const tls = serverTls(fleetFile, server, stateDir);
  if (server.driver === 'external') return { host: server.host!, port: server.port ?? 3306, socketOnly: false, tls };
  const local = (await readState(stateDir)).servers[server.name];
  if (!local) {
    throw new OperationalError(`server "${server.name}" has never been started`, {
      server: server.name,
      hint: `run \`dbps up ${service.name}\``,
    });
  }
  const socketOnly = account.host === 'localhost';
  return { host: socketOnly ? 'localhost' : '127.0.0.1', port: local.port, socket: local.socket, socketOnly, tls };
}

/** Every account whose password dbps generates, fleet-wide: decides whether an old secrets.env key is ambiguous. */
export function fleetSecretOwners(fleet: Fleet): SecretOwner[] {
  return fleet.servers.flatMap((s) =>
    desiredServer(fleet, s)
      .accounts.filter((a) => !a.passwordEnv)
      .map((a) => ({ server: s.name, user: a.user })),
  );
}

/** The account's password (passwordEnv, else secrets.env), or an error naming where it should come from (exit 3). */
export async function accountPassword(
  fleet: Fleet,
  server: FleetServer,
  service: FleetService,
  account: ChosenAccount,
  stateDir: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const password = passwordFor(
    { server: server.name, user: account.user, ...(account.passwordEnv ? { passwordEnv: account.passwordEnv } : {}) },
    await readSecrets(stateDir),
    env,
    fleetSecretOwners(fleet),
  );
  if (password !== undefined) return password;
  throw new OperationalError(
    account.passwordEnv
      ? `account ${account.user}: environment variable ${account.passwordEnv} (its password) is ${env[account.passwordEnv] === '' ? 'empty' : 'not set'}`
      : `account ${account.user} has no password yet (it is created by \`dbps provision\`)`,
    {
      server: server.name,
      hint: account.passwordEnv
        ? `export ${account.passwordEnv}=...`
        : `run \`dbps provision\`, or use \`dbps connect ${service.name} --admin\``,
    },
  );
}
