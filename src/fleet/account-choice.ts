// Which account a per-service command (connect, env) acts as: one of the service's accounts, or the
// backup / monitor account dbps keeps on the service's server. Pure.
import { UsageError } from '../errors.js';
import { quoted } from '../util/printable.js';
import { didYouMean, someNames } from '../util/suggest.js';
import { desiredServer } from './desired.js';
import { type Fleet, type FleetService, serverOf } from './model.js';

export interface ChosenAccount {
  user: string;
  /** The account's host part: `localhost` means socket connections only. */
  host: string;
  /** `app`, `migrator`, …, or `backup` / `monitor` for the server's own accounts. */
  kind: string;
  passwordEnv?: string;
  /** Default database of a session: the service's own for its accounts, none for backup / monitor. */
  database?: string;
}

/** The named service or a usage error (exit 2) that lists the services and suggests the closest. */
export function findService(fleet: Fleet, name: string): FleetService {
  const service = fleet.services.find((s) => s.name === name);
  if (service) return service;
  const names = fleet.services.map((s) => s.name);
  throw new UsageError(`${quoted(name)} is not a service in ${fleet.file}${didYouMean(name, names)}`, {
    hint: `services: ${someNames(names)}`,
  });
}

/**
 * The account `--user` names (default: the service's app account, else its first). The server's backup and
 * monitor accounts are accepted too, so an operator gets their connection the same way; anything else: exit 2.
 */
export function chooseAccount(fleet: Fleet, service: FleetService, user: string | undefined): ChosenAccount {
  const own: ChosenAccount[] = service.accounts.map((a) => ({
    user: a.user,
    host: a.host,
    kind: a.role,
    ...(a.passwordEnv ? { passwordEnv: a.passwordEnv } : {}),
    database: service.database,
  }));
  if (user === undefined) {
    const account = own.find((a) => a.kind === 'app') ?? own[0];
    if (!account)
      throw new UsageError(`service "${service.name}" has no accounts`, {
        hint: 'add users: in services.yaml, or pass --user dbps_monitor',
      });
    return account;
  }
  const found = own.find((a) => a.user === user);
  if (found) return found;
  const ops: ChosenAccount[] = desiredServer(fleet, serverOf(fleet, service))
    .accounts.filter((a) => a.service === undefined)
    .map((a) => ({
      user: a.user,
      host: a.host,
      kind: a.kind,
      ...(a.passwordEnv ? { passwordEnv: a.passwordEnv } : {}),
    }));
  const op = ops.find((a) => a.user === user);
  if (op) return op;
  const names = [...own, ...ops].map((a) => a.user);
  throw new UsageError(`${quoted(user)} is not an account of service "${service.name}"${didYouMean(user, names)}`, {
    hint: `its accounts: ${names.join(', ')}`,
  });
}
