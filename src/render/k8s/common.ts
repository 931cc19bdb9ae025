// Shared pieces of the Kubernetes output: options, labels, metadata, quantities.
import { k8sName } from '../../fleet/k8s-names.js';
import type { Fleet } from '../../fleet/model.js';
import type { YamlValue } from './yaml.js';

export interface K8sOptions {
  /** metadata.namespace of every object (and a Namespace object); absent: kubectl's current namespace. */
  namespace?: string;
  /** PhysicalBackup (mariadb-backup) instead of Backup (logical dump). */
  physicalBackups?: boolean;
  /**
   * Let the operator run mysqld_exporter as dbps_monitor (MariaDB.spec.metrics). Off by default because
   * the operator then grants that account SELECT ON *.* (and REPLICATION CLIENT, SLAVE MONITOR), wider
   * than dbps's monitor grants (performance_schema only); see README "Scaling out".
   */
  operatorMetrics?: boolean;
}

export const API_VERSION = 'k8s.mariadb.com/v1alpha1';
export const MARIADB_PORT = 3306;
/** Key of the password inside every account Secret. */
export const PASSWORD_KEY = 'password';

/** Label an application's pods carry to reach their service's server (value: the service's Kubernetes name). */
export const SERVICE_LABEL = 'dbps.dev/service';
/** Label dbps puts on a server's MariaDB pods, selected by its NetworkPolicy. */
export const MARIADB_LABEL = 'dbps.dev/mariadb';
/** `exporter` or `backup`: the non-service clients a server admits, together with CLIENT_OF_LABEL. */
export const ACCESS_LABEL = 'dbps.dev/access';
export const CLIENT_OF_LABEL = 'dbps.dev/client-of';
/** Namespace and pod label of the operator as its Helm chart installs it. */
export const OPERATOR_NAMESPACE = 'mariadb-operator';
export const OPERATOR_POD_LABELS = { 'app.kubernetes.io/name': 'mariadb-operator' };

/** Labels on every generated object, so `kubectl get -l dbps.dev/fleet=shop` finds them all. */
export function commonLabels(fleet: Fleet): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'dbps', 'dbps.dev/fleet': k8sName(fleet.name) };
}

/** metadata for one object. */
export function metadata(
  fleet: Fleet,
  opts: K8sOptions,
  name: string,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): YamlValue {
  return {
    name,
    namespace: opts.namespace,
    labels: { ...commonLabels(fleet), ...(extra.labels ?? {}) },
    annotations: extra.annotations,
  };
}

/** A byte count as a Kubernetes quantity (binary units when exact, else plain bytes). */
export function quantity(bytes: number): string {
  for (const [unit, size] of [
    ['Ti', 1024 ** 4],
    ['Gi', 1024 ** 3],
    ['Mi', 1024 ** 2],
    ['Ki', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** services.yaml's storage size as a Kubernetes quantity ("10Gi" stays; "500K" becomes "500k", Kubernetes' spelling). */
export function storageQuantity(size: string): string {
  return size.endsWith('K') ? `${size.slice(0, -1)}k` : size;
}

/** `7d` / `72h` / `2w` as the Go duration the operator's maxRetention takes (`168h`). */
export function retentionDuration(retention: string): string {
  const m = /^([0-9]+)(h|d|w)$/.exec(retention);
  if (!m) throw new Error(`retention "${retention}" passed the schema but is not <n>h|d|w`);
  const hours = Number(m[1]) * (m[2] === 'w' ? 168 : m[2] === 'd' ? 24 : 1);
  return `${hours}h`;
}
