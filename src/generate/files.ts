// Every file `dbps generate` can write, as pure (path, content) pairs: the command writes or compares them.
// The --only list lives here too, and the CLI spec imports it at start-up, so each renderer is imported
// inside its case: the `yaml` package and the renderers load only when generate runs.
import type { Fleet } from '../fleet/model.js';
import type { CiOptions } from '../render/ci-workflow.js';
import type { K8sOptions } from '../render/k8s/common.js';

export const OUTPUT_KINDS = ['mycnf', 'compose', 'prometheus', 'graph', 'k8s', 'ci'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

export interface GeneratedFile {
  /** Path relative to the output directory, with forward slashes. */
  path: string;
  content: string;
  kind: OutputKind;
}

/** Flags that shape some outputs; every field is optional so older callers keep working. */
export interface GenerateFileOptions {
  /** --namespace, --physical-backups, --operator-metrics for the k8s output. */
  k8s?: K8sOptions;
  /** How the CI workflow names services.yaml, the out dir and the generate flags (defaults: services.yaml, generated). */
  ci?: Partial<CiOptions>;
}

/** The files of the requested kinds, in a stable order (kinds in OUTPUT_KINDS order, then fleet order). */
export async function generatedFiles(
  fleet: Fleet,
  kinds: readonly OutputKind[],
  options: GenerateFileOptions = {},
): Promise<GeneratedFile[]> {
  const files: GeneratedFile[] = [];
  for (const kind of OUTPUT_KINDS) {
    if (!kinds.includes(kind)) continue;
    switch (kind) {
      case 'mycnf': {
        const { renderMyCnf, targetVersion } = await import('../mycnf/render.js');
        for (const server of fleet.servers) {
          // External servers are configured by whoever runs them; dbps does not own their my.cnf.
          if (server.driver === 'external') continue;
          files.push({
            kind,
            path: `mycnf/${server.name}.cnf`,
            content: renderMyCnf(fleet, server, { version: targetVersion(fleet, server) }),
          });
        }
        break;
      }
      case 'compose': {
        const { renderCompose } = await import('../render/compose.js');
        files.push({ kind, path: 'docker-compose.yml', content: renderCompose(fleet) });
        break;
      }
      case 'prometheus': {
        const { renderPrometheus } = await import('../render/prometheus.js');
        files.push({ kind, path: 'prometheus/prometheus.yml', content: renderPrometheus(fleet) });
        break;
      }
      case 'graph': {
        const { renderFleetGraph } = await import('../render/mermaid.js');
        files.push({ kind, path: 'fleet.md', content: renderFleetGraph(fleet) });
        break;
      }
      case 'k8s': {
        const { k8sFiles } = await import('../render/k8s/manifests.js');
        for (const f of k8sFiles(fleet, options.k8s ?? {})) files.push({ kind, ...f });
        break;
      }
      case 'ci': {
        const { renderCiWorkflow, CI_WORKFLOW_PATH } = await import('../render/ci-workflow.js');
        const { VERSION } = await import('../version.js');
        const ci = {
          fleetFile: 'services.yaml',
          outDir: 'generated',
          generateFlags: [],
          dbpsVersion: VERSION,
          ...options.ci,
        };
        files.push({ kind, path: CI_WORKFLOW_PATH, content: renderCiWorkflow(fleet, ci) });
        break;
      }
      default:
        // A kind added to OUTPUT_KINDS without a case fails to compile here.
        return assertNever(kind);
    }
  }
  return files;
}

function assertNever(kind: never): never {
  throw new Error(`no renderer for output kind ${String(kind)}`);
}
