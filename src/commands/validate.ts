// dbps validate: schema + semantic checks; a valid file yields a summary of the resolved fleet.
import { loadFleet } from '../config/load.js';
import type { ConfigIssue } from '../errors.js';

export interface ValidateResult {
  command: 'validate';
  file: string;
  valid: true;
  fleet: string;
  services: number;
  servers: { name: string; driver: 'local' | 'external'; isolation: 'instance' | 'schema'; services: string[] }[];
  accounts: number;
  warnings: ConfigIssue[];
}

/** Loads the fleet (throws ConfigError with every issue when invalid) and summarises it. */
export async function run(opts: { file: string }): Promise<ValidateResult> {
  const fleet = await loadFleet(opts.file);
  return {
    command: 'validate',
    file: opts.file,
    valid: true,
    fleet: fleet.name,
    services: fleet.services.length,
    servers: fleet.servers.map((s) => ({
      name: s.name,
      driver: s.driver,
      isolation: s.isolation,
      services: s.services,
    })),
    accounts: fleet.services.reduce((n, s) => n + s.accounts.length, 0),
    warnings: fleet.warnings,
  };
}
