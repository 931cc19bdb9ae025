// Turns generate's flags into GenerateFileOptions. Pure and light: the CLI spec imports it at start-up.
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { CiInstall } from '../render/ci-workflow.js';
import { DEFAULT_KINDS, type GenerateFileOptions, OUTPUT_KINDS, type OutputKind } from './files.js';

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `--ci-install repo`: the repository's package.json (and lock file) lists dbps, so the job runs `npm ci`. */
export const CI_INSTALL_REPO = 'repo';

/** A path as the CI workflow should write it: relative to where dbps runs (the repository root), with "/". */
function workflowPath(target: string, cwd: string): string {
  const rel = path.relative(cwd, path.resolve(cwd, target)) || '.';
  return rel.split(path.sep).join('/');
}

/** Parses --only into output kinds (all when absent); an empty list or an unknown name is a usage error. */
export function parseKinds(only: string | undefined): OutputKind[] {
  if (only === undefined) return [...DEFAULT_KINDS];
  const kinds = only
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (kinds.length === 0)
    throw new UsageError(`--only "${only}" names no output`, { hint: `choose from ${OUTPUT_KINDS.join(', ')}` });
  for (const k of kinds) {
    if (!(OUTPUT_KINDS as readonly string[]).includes(k)) {
      throw new UsageError(`--only: unknown output "${k}"`, { hint: `choose from ${OUTPUT_KINDS.join(', ')}` });
    }
  }
  // Output order, without repeats: `--only ci,k8s,k8s` and `--only k8s,ci` mean the same thing.
  return OUTPUT_KINDS.filter((k) => kinds.includes(k));
}

/** How the workflow installs dbps, from --ci-install or, without it, from what the repository holds. */
export function ciInstallFrom(
  spec: string | undefined,
  defaults: { repoListsDbps: boolean; version: string },
): CiInstall {
  if (spec === undefined) return defaults.repoListsDbps ? { kind: 'repo' } : { kind: 'unset' };
  const text = spec.trim();
  const hint = `use "${CI_INSTALL_REPO}" (npm ci, dbps in package.json) or what \`npm install --global\` takes: a tarball (dbps-${defaults.version}.tgz from \`npm pack\`, or its URL), github:owner/dbps#v${defaults.version}`;
  if (text === '' || /[\s]/.test(text))
    throw new UsageError(`--ci-install "${spec}" is not an npm package spec or "${CI_INSTALL_REPO}"`, { hint });
  // dbps is not published on any registry: a bare name would install whatever someone registered under it.
  if (/^dbps(@|$)/.test(text))
    throw new UsageError(`--ci-install "${spec}" names a registry package, and dbps is not published on one`, {
      hint,
    });
  return text === CI_INSTALL_REPO ? { kind: 'repo' } : { kind: 'global', spec: text };
}

/** The --ci-install value that reproduces `install`. */
export function ciInstallFlag(install: CiInstall): string | undefined {
  if (install.kind === 'unset') return undefined;
  return install.kind === 'repo' ? CI_INSTALL_REPO : install.spec;
}

export interface GenerateFlags {
  only?: unknown;
  namespace?: unknown;
  physicalBackups?: unknown;
  operatorMetrics?: unknown;
  ciInstall?: unknown;
  systemdDbps?: unknown;
  systemdFile?: unknown;
}

/**
 * Options for the k8s and ci outputs from generate's flags. Flags for an output that --only leaves out
 * are usage errors (they would shape nothing). The workflow's `generate --check` gets every flag that
 * shapes the output, so it regenerates exactly the files this run writes.
 */
export function fileOptionsFromFlags(
  flags: GenerateFlags,
  where: {
    cwd: string;
    fleetFile: string;
    outDir: string;
    /** Defaults to every kind (no --only). */
    kinds?: readonly OutputKind[];
    /** Whether the repository's package.json lists dbps (decides the default --ci-install). */
    repoListsDbps?: boolean;
    /** dbps's own version, for the --ci-install hint. */
    version?: string;
  },
): GenerateFileOptions {
  const kinds = where.kinds ?? DEFAULT_KINDS;
  const namespace = flags.namespace === undefined ? undefined : String(flags.namespace);
  const physicalBackups = flags.physicalBackups === true;
  const operatorMetrics = flags.operatorMetrics === true;
  if (!kinds.includes('k8s')) {
    const k8sFlag =
      namespace !== undefined
        ? '--namespace'
        : physicalBackups
          ? '--physical-backups'
          : operatorMetrics
            ? '--operator-metrics'
            : undefined;
    if (k8sFlag) throw new UsageError(`${k8sFlag} shapes the k8s output; add k8s to --only`);
  }
  if (flags.ciInstall !== undefined && !kinds.includes('ci'))
    throw new UsageError('--ci-install shapes the ci output; add ci to --only');
  if (namespace !== undefined && (!NAMESPACE.test(namespace) || namespace.length > 63)) {
    throw new UsageError(`--namespace "${namespace}" is not a Kubernetes namespace name`, {
      hint: 'use lower-case letters, digits and "-", at most 63 characters',
    });
  }
  const install = ciInstallFrom(flags.ciInstall === undefined ? undefined : String(flags.ciInstall), {
    repoListsDbps: where.repoListsDbps === true,
    version: where.version ?? '0.0.0',
  });
  // Everything that shapes the output, in a fixed order; --generate-secrets writes outside it and is left out.
  const onlyGiven = flags.only !== undefined && kinds.join() !== DEFAULT_KINDS.join();
  const generateFlags = [
    ...(onlyGiven ? ['--only', kinds.join(',')] : []),
    ...(namespace ? ['--namespace', namespace] : []),
    ...(physicalBackups ? ['--physical-backups'] : []),
    ...(operatorMetrics ? ['--operator-metrics'] : []),
    ...(kinds.includes('ci') && ciInstallFlag(install) ? ['--ci-install', ciInstallFlag(install)!] : []),
  ];
  if ((flags.systemdDbps !== undefined || flags.systemdFile !== undefined) && !kinds.includes('systemd'))
    throw new UsageError(
      `${flags.systemdDbps !== undefined ? '--systemd-dbps' : '--systemd-file'} shapes the systemd output; add systemd to --only`,
    );
  const dbpsCommand = String(flags.systemdDbps ?? '/usr/local/bin/dbps')
    .trim()
    .split(/\s+/);
  if (!path.isAbsolute(dbpsCommand[0] ?? ''))
    throw new UsageError(`--systemd-dbps "${String(flags.systemdDbps)}" must start with an absolute path`, {
      hint: 'e.g. --systemd-dbps /usr/local/bin/dbps, or "/usr/bin/node /opt/dbps/bin/dbps.js"',
    });
  const systemdFile = path.resolve(where.cwd, String(flags.systemdFile ?? where.fleetFile));
  return {
    systemd: { dbpsCommand, fleetFile: systemdFile },
    k8s: { ...(namespace ? { namespace } : {}), physicalBackups, operatorMetrics },
    ci: {
      fleetFile: workflowPath(where.fleetFile, where.cwd),
      outDir: workflowPath(where.outDir, where.cwd),
      generateFlags,
      install,
    },
  };
}
