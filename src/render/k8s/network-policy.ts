// The network half of "no service reaches another service's data": a server's pods accept MariaDB
// connections only from its own services' pods, its exporter and backup jobs, the MariaDB pods of servers
// that read it through a declared link (and the operator).
import { databaseObjectName, mariadbObjectName } from '../../fleet/k8s-names.js';
import type { Fleet, FleetServer } from '../../fleet/model.js';
import { servicesOn } from '../../fleet/model.js';
import {
  ACCESS_LABEL,
  CLIENT_OF_LABEL,
  type K8sOptions,
  MARIADB_LABEL,
  MARIADB_PORT,
  metadata,
  OPERATOR_NAMESPACE,
  OPERATOR_POD_LABELS,
  SERVICE_LABEL,
} from './common.js';
import type { YamlValue } from './yaml.js';

/** NetworkPolicy selecting the server's MariaDB pods; everything not listed is denied. */
export function networkPolicyResource(fleet: Fleet, server: FleetServer, opts: K8sOptions): YamlValue {
  const name = mariadbObjectName(server);
  const clients: YamlValue[] = servicesOn(fleet, server).map((s) => ({
    podSelector: { matchLabels: { [SERVICE_LABEL]: databaseObjectName(s) } },
  }));
  // A declared link: the reader's MariaDB pods connect here with the link account (CONNECT tables).
  const readers = new Set(
    fleet.services.filter((s) => (s.links ?? []).some((l) => l.server === server.name)).map((s) => s.server),
  );
  for (const reader of fleet.servers.filter((s) => readers.has(s.name))) {
    clients.push({ podSelector: { matchLabels: { [MARIADB_LABEL]: mariadbObjectName(reader) } } });
  }
  for (const access of ['exporter', 'backup']) {
    clients.push({ podSelector: { matchLabels: { [ACCESS_LABEL]: access, [CLIENT_OF_LABEL]: name } } });
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(fleet, opts, name),
    spec: {
      podSelector: { matchLabels: { [MARIADB_LABEL]: name } },
      policyTypes: ['Ingress'],
      ingress: [
        { from: clients, ports: [{ protocol: 'TCP', port: MARIADB_PORT }] },
        // The operator manages users, grants and backups over SQL and its agent, so it keeps every port.
        {
          from: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': OPERATOR_NAMESPACE } },
              podSelector: { matchLabels: OPERATOR_POD_LABELS },
            },
          ],
        },
      ],
    },
  };
}
