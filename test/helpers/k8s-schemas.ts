// Validators for the Kubernetes output: each mariadb-operator CRD's openAPIV3Schema made strict (as
// `kubectl apply --validate=strict`: unknown fields are errors) and the core kinds' standalone-strict schemas.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { vendoredSchemas } from './fleets.js';

type Schema = Record<string, unknown>;

/**
 * Adds additionalProperties: false wherever an object schema lists properties but says nothing about
 * other keys (the API server would prune them silently; strict validation rejects them).
 */
export function strictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema as Schema))
    out[k] = k === 'properties' ? mapValues(v as Schema) : strictSchema(v);
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields'])
    out.additionalProperties = false;
  return out;
}

function mapValues(props: Schema): Schema {
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, strictSchema(v)]));
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
let ajv: Ajv | undefined;
function instance(): Ajv {
  if (!ajv) {
    // strict: false: the schemas carry x-kubernetes-* keywords; logger off for formats like "int-or-string".
    ajv = new Ajv({ strict: false, allErrors: true, logger: false });
    addFormats(ajv);
  }
  return ajv;
}

const CRD_FILES: Record<string, string> = {
  MariaDB: 'k8s.mariadb.com_mariadbs.yaml',
  Database: 'k8s.mariadb.com_databases.yaml',
  User: 'k8s.mariadb.com_users.yaml',
  Grant: 'k8s.mariadb.com_grants.yaml',
  Backup: 'k8s.mariadb.com_backups.yaml',
  PhysicalBackup: 'k8s.mariadb.com_physicalbackups.yaml',
};
const CORE_FILES: Record<string, string> = {
  NetworkPolicy: 'networkpolicy-networking-v1.json',
  Secret: 'secret-v1.json',
  Namespace: 'namespace-v1.json',
  ConfigMap: 'configmap-v1.json',
};

const cache = new Map<string, ValidateFunction>();

/** The strict validator for a kind, or undefined when no schema is known for it. */
export function validatorFor(kind: string): ValidateFunction | undefined {
  const cached = cache.get(kind);
  if (cached) return cached;
  let schema: unknown;
  if (CRD_FILES[kind]) {
    const crd = parse(readFileSync(path.join(vendoredSchemas, 'mariadb-operator', CRD_FILES[kind]!), 'utf8')) as {
      spec: { names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
    };
    if (crd.spec.names.kind !== kind) throw new Error(`${CRD_FILES[kind]} defines ${crd.spec.names.kind}, not ${kind}`);
    schema = strictSchema(crd.spec.versions[0]!.schema.openAPIV3Schema);
  } else if (CORE_FILES[kind]) {
    schema = JSON.parse(readFileSync(path.join(vendoredSchemas, 'kubernetes', CORE_FILES[kind]!), 'utf8'));
  } else {
    return undefined;
  }
  const validate = instance().compile(schema as Schema);
  cache.set(kind, validate);
  return validate;
}

/** Schema errors of one manifest ("" when valid); a kind without a schema is an error too. */
export function manifestErrors(doc: unknown): string {
  const kind = (doc as { kind?: unknown }).kind;
  const validate = typeof kind === 'string' ? validatorFor(kind) : undefined;
  if (!validate) return `no schema for kind ${String(kind)}`;
  if (validate(doc)) return '';
  return (validate.errors ?? [])
    .map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`)
    .join('\n');
}
