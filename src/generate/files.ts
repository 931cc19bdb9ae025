// Every file `dbps generate` can write, as pure (path, content) pairs: the command writes or compares them.
import type { Fleet } from '../fleet/model.js';
import { renderMyCnf, targetVersion } from '../mycnf/render.js';

export const OUTPUT_KINDS = ['mycnf', 'compose', 'prometheus', 'graph'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

export interface GeneratedFile {
  /** Path relative to the output directory, with forward slashes. */
  path: string;
  content: string;
  kind: OutputKind;
}

/** The files of the requested kinds, in a stable order. */
export function generatedFiles(fleet: Fleet, kinds: readonly OutputKind[]): GeneratedFile[] {
  const files: GeneratedFile[] = [];
  for (const kind of OUTPUT_KINDS) {
    if (!kinds.includes(kind)) continue;
    switch (kind) {
      case 'mycnf':
        for (const server of fleet.servers) {
          files.push({ kind, path: `mycnf/${server.name}.cnf`, content: renderMyCnf(fleet, server, { version: targetVersion(fleet, server) }) });
        }
        break;
      case 'compose':
      case 'prometheus':
      case 'graph':
        break;
    }
  }
  return files;
}
