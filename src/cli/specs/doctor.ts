import type { CommandSpec } from '../spec.js';

export const doctorSpec: CommandSpec = {
  name: 'doctor',
  summary: 'check prerequisites (MariaDB programs, versions, ports, state dir, external servers) and how to fix them',
  description:
    'Check that mariadbd, mariadb-install-db, mariadb and mariadb-backup are installed (PATH, then /usr/sbin; or ' +
    "DBPS_MARIADB_BINDIR), that mariadb-backup is the server's own version, which MariaDB the local servers run against " +
    'the one services.yaml declares (a warn line when they differ), that the state dir is writable, that each ' +
    "local server's port is free (or held by its own running server) and that external servers answer. Each problem is " +
    'printed with the exact command that fixes it.',
  options: [],
  examples: ['dbps doctor', 'dbps --json doctor'],
  exitCodes: {
    0: 'everything is in place',
    2: 'invalid services.yaml',
    3: 'something is missing or broken (see the fix lines)',
  },
  async run({ io }) {
    const { run } = await import('../../commands/doctor.js');
    const result = await run({ file: io.opts.file, stateDir: io.opts.stateDir });
    if (io.opts.json) {
      io.json({ version: 1, ...result });
    } else {
      const { doctorText } = await import('../../ui/render/fleet-runtime.js');
      io.out(doctorText(result, io.paint));
    }
    return result.outcome === 'ok' ? 0 : 3;
  },
};
