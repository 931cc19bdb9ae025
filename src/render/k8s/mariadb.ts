// The MariaDB resource of one server: image, my.cnf from its profile, memory, storage, root secret.
import { mariadbObjectName, passwordSecretName, rootSecretName, userObjectName } from '../../fleet/k8s-names.js';
import type { Fleet, FleetServer } from '../../fleet/model.js';
import { exporterCollectorFlags } from '../../fleet/monitor.js';
import { MONITOR_USER } from '../../fleet/roles.js';
import { renderMyCnf, targetVersion } from '../../mycnf/render.js';
import {
  ACCESS_LABEL,
  API_VERSION,
  CLIENT_OF_LABEL,
  type K8sOptions,
  MARIADB_LABEL,
  MARIADB_PORT,
  metadata,
  PASSWORD_KEY,
  quantity,
  storageQuantity,
} from './common.js';
import type { YamlValue } from './yaml.js';

/** MariaDB (k8s.mariadb.com/v1alpha1) for a server; the operator generates the root password. */
export function mariadbResource(fleet: Fleet, server: FleetServer, opts: K8sOptions): YamlValue {
  const name = mariadbObjectName(server);
  const version = targetVersion(fleet, server);
  // Requests equal limits: the profile sizes the buffer pool from this memory, so it must be guaranteed.
  const memory = quantity(server.memoryBytes);
  const monitorSecret = passwordSecretName(userObjectName(server, { user: MONITOR_USER }));
  return {
    apiVersion: API_VERSION,
    kind: 'MariaDB',
    metadata: metadata(fleet, opts, name, { labels: { [MARIADB_LABEL]: name } }),
    spec: {
      image: `mariadb:${version.text}`,
      port: MARIADB_PORT,
      rootPasswordSecretKeyRef: { name: rootSecretName(server), key: PASSWORD_KEY, generate: true },
      // No local paths (target without `paths`): the image's datadir and socket apply.
      myCnf: renderMyCnf(fleet, server, { version }),
      // The operator issues and mounts the server's certificate; every connection must use TLS.
      tls: { enabled: true, required: true },
      resources: { requests: { memory }, limits: { memory } },
      storage: { size: storageQuantity(server.storage) },
      podMetadata: { labels: { [MARIADB_LABEL]: name } },
      metrics: opts.operatorMetrics
        ? {
            enabled: true,
            username: MONITOR_USER,
            passwordSecretKeyRef: { name: monitorSecret, key: PASSWORD_KEY },
            exporter: {
              args: exporterCollectorFlags(),
              podMetadata: { labels: { [ACCESS_LABEL]: 'exporter', [CLIENT_OF_LABEL]: name } },
            },
          }
        : undefined,
    },
  };
}
