import { execFileSync } from 'node:child_process';
import { defineConfig } from 'vitest/config';
import { findBinary } from './src/runtime/binaries.js';

/**
 * The MariaDB series the integration tests run against (`mariadbd --version` of the build dbps finds:
 * DBPS_MARIADB_BINDIR, else PATH and /usr/sbin), so every integration test's name carries it.
 */
function testedSeries(): string | undefined {
  const bin = findBinary('mariadbd');
  if (!bin) return undefined;
  try {
    const banner = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 15_000 });
    return /(\d+\.\d+)\.\d+-MariaDB/.exec(banner)?.[1];
  } catch {
    return undefined;
  }
}

const series = testedSeries();

// Two projects: fast pure unit/CLI tests, and integration tests against real mariadbd
// (one file at a time so a 2-core machine is not swamped by servers starting together).
// The integration project is named after the MariaDB it runs, e.g. `integration-10.11`.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/cli/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: series ? `integration-${series}` : 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          pool: 'forks',
        },
      },
    ],
  },
});
