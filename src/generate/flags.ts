// Turns generate's k8s/ci flags into GenerateFileOptions. Pure and light: the CLI spec imports it at start-up.
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { GenerateFileOptions } from './files.js';

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A path as the CI workflow should write it: relative to where dbps runs (the repository root), with "/". */
function workflowPath(target: string, cwd: string): string {
  const rel = path.relative(cwd, path.resolve(cwd, target)) || '.';
  return rel.split(path.sep).join('/');
}

/** Options for the k8s and ci outputs from generate's flags; a bad --namespace is a usage error. */
export function fileOptionsFromFlags(
  flags: { namespace?: unknown; physicalBackups?: unknown; operatorMetrics?: unknown },
  where: { cwd: string; fleetFile: string; outDir: string },
): GenerateFileOptions {
  const namespace = flags.namespace === undefined ? undefined : String(flags.namespace);
  if (namespace !== undefined && (!NAMESPACE.test(namespace) || namespace.length > 63)) {
    throw new UsageError(`--namespace "${namespace}" is not a Kubernetes namespace name`, {
      hint: 'use lower-case letters, digits and "-", at most 63 characters',
    });
  }
  const physicalBackups = flags.physicalBackups === true;
  const operatorMetrics = flags.operatorMetrics === true;
  // The workflow's `generate --check` must regenerate with the same flags, or it would always be stale.
  const generateFlags = [
    ...(namespace ? ['--namespace', namespace] : []),
    ...(physicalBackups ? ['--physical-backups'] : []),
    ...(operatorMetrics ? ['--operator-metrics'] : []),
  ];
  return {
    k8s: { ...(namespace ? { namespace } : {}), physicalBackups, operatorMetrics },
    ci: {
      fleetFile: workflowPath(where.fleetFile, where.cwd),
      outDir: workflowPath(where.outDir, where.cwd),
      generateFlags,
    },
  };
}
