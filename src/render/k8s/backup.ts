// Backup (logical) or PhysicalBackup (mariadb-backup) per server, from its services' `backup:`.
import { backupGroups, mariadbObjectName } from '../../fleet/k8s-names.js';
import type { Fleet, FleetServer } from '../../fleet/model.js';
import {
  ACCESS_LABEL,
  API_VERSION,
  CLIENT_OF_LABEL,
  type K8sOptions,
  metadata,
  retentionDuration,
  storageQuantity,
} from './common.js';
import type { YamlValue } from './yaml.js';

/** One resource per distinct schedule/retention among the server's services; none when no service asks. */
export function backupResources(fleet: Fleet, server: FleetServer, opts: K8sOptions): YamlValue[] {
  const mariadb = mariadbObjectName(server);
  return backupGroups(fleet, server).map((group) => ({
    apiVersion: API_VERSION,
    kind: opts.physicalBackups ? 'PhysicalBackup' : 'Backup',
    metadata: metadata(fleet, opts, group.name, {
      annotations: { 'dbps.dev/services': group.services.map((s) => s.name).join(',') },
    }),
    spec: {
      mariaDbRef: { name: mariadb },
      schedule: { cron: group.schedule },
      maxRetention: group.retention ? retentionDuration(group.retention) : undefined,
      // A logical dump can be limited to the services that asked; a physical backup is the whole server.
      databases: opts.physicalBackups ? undefined : group.services.map((s) => s.database),
      // A volume the size of the server's data; point it at S3 for off-site copies.
      storage: {
        persistentVolumeClaim: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: storageQuantity(server.storage) } },
        },
      },
      podMetadata: { labels: { [ACCESS_LABEL]: 'backup', [CLIENT_OF_LABEL]: mariadb } },
    },
  }));
}
