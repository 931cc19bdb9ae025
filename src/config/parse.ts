// services.yaml text -> a schema-valid ServicesFile with a SourceMap, or every problem with its place.
import { LineCounter, parseDocument } from 'yaml';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ConfigIssue } from '../errors.js';
import { didYouMean } from '../util/suggest.js';
import { servicesSchema } from './schema.js';
import { formatPath, SourceMap, type DocPath } from './source-map.js';
import type { ServicesFile } from './types.js';

export interface ParsedServices {
  data: ServicesFile;
  source: SourceMap;
}

export type ParseOutcome = { ok: true; value: ParsedServices } | { ok: false; issues: ConfigIssue[] };

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  compiled ??= new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true }).compile(servicesSchema);
  return compiled;
}

/** Parses and schema-checks services.yaml text; pure (the caller reads the file). */
export function parseServices(text: string): ParseOutcome {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  const source = new SourceMap(doc, lines);
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { path: '', line: pos.line, column: pos.col, message: yamlMessage(e.code, e.message) };
      }),
    };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) {
    return { ok: false, issues: [{ path: '', line: 1, column: 1, message: 'the file is empty; run `dbps init` to create one' }] };
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, issues: [{ path: '', line: 1, column: 1, message: 'the file must be a mapping with version, fleet and services' }] };
  }
  const version = (data as Record<string, unknown>).version;
  if (version !== undefined && version !== 1) {
    const place = source.valueAt(['version']);
    return {
      ok: false,
      issues: [{ path: 'version', ...place, message: `version ${JSON.stringify(version)} is not supported; this dbps reads version 1` }],
    };
  }
  const validate = validator();
  if (!validate(data)) {
    return { ok: false, issues: schemaIssues(validate.errors ?? [], source) };
  }
  return { ok: true, value: { data: data as ServicesFile, source } };
}

function yamlMessage(code: string, message: string): string {
  const first = message.split('\n')[0] ?? message;
  if (code === 'DUPLICATE_KEY') return `duplicate key: ${first.replace(/ at line.*/, '')}`;
  return `YAML syntax error: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}

function pathOf(pointer: string): DocPath {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

const PATTERN_HELP: Record<string, string> = {
  memory: 'a size such as 512M or 2G',
  storage: 'a size such as 10Gi or 500M',
  mariadb: 'a MariaDB version such as 10.11 or 11.8',
  passwordEnv: 'an environment variable name such as ORDERS_DB_PASSWORD',
  retention: 'a duration such as 72h, 7d or 4w',
  charset: 'a character set name such as utf8mb4',
  collation: 'a collation name such as utf8mb4_unicode_ci',
};

function schemaIssues(errors: ErrorObject[], source: SourceMap): ConfigIssue[] {
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  // An enum/const error under a oneOf-free schema is enough; skip "must match a schema in anyOf" noise.
  for (const e of errors) {
    const path = pathOf(e.instancePath);
    const issue = describe(e, path, source);
    if (!issue) continue;
    const key = `${issue.line}:${issue.column}:${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  return issues;
}

function describe(e: ErrorObject, path: DocPath, source: SourceMap): ConfigIssue | undefined {
  const where = formatPath(path);
  const last = path[path.length - 1];
  const schemaProps = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const keyPath = [...path, key];
      const known = Object.keys(schemaProps ?? {});
      return {
        path: formatPath(keyPath),
        ...source.keyAt(keyPath),
        message: `unknown key "${key}" in ${where}${didYouMean(key, known)}${known.length && !didYouMean(key, known) ? ` (allowed: ${known.join(', ')})` : ''}`,
      };
    }
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      return { path: where, ...source.valueAt(path), message: `${where} is missing required key "${missing}"` };
    }
    case 'propertyNames':
      return undefined; // reported through the nested pattern error below, which names the key
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const got = valueAt(source, path);
      return {
        path: where,
        ...source.valueAt(path),
        message: `${where} is ${JSON.stringify(got)}, which is not one of ${allowed.join(', ')}${typeof got === 'string' ? didYouMean(got, allowed) : ''}`,
      };
    }
    case 'const':
      return { path: where, ...source.valueAt(path), message: `${where} must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}` };
    case 'type':
      return { path: where, ...source.valueAt(path), message: `${where} must be ${article((e.params as { type: string }).type)}` };
    case 'pattern': {
      if (e.propertyName !== undefined) {
        const keyPath = [...path, e.propertyName];
        const what = path[path.length - 1] === 'servers' ? 'server' : 'service';
        return {
          path: formatPath(keyPath),
          ...source.keyAt(keyPath),
          message: `${what} name "${e.propertyName}" must start with a lowercase letter and hold only lowercase letters, digits, "_" and "-"`,
        };
      }
      const help = typeof last === 'string' ? PATTERN_HELP[last] : undefined;
      const got = valueAt(source, path);
      const name = typeof last === 'string' && last === 'fleet' ? 'fleet name' : where;
      return {
        path: where,
        ...source.valueAt(path),
        message: help
          ? `${where} is ${JSON.stringify(got)}, which is not ${help}`
          : `${name} ${JSON.stringify(got)} must start with a lowercase letter and hold only lowercase letters, digits, "_" and "-"`,
      };
    }
    case 'maxLength':
      if (e.propertyName !== undefined) {
        const keyPath = [...path, e.propertyName];
        return { path: formatPath(keyPath), ...source.keyAt(keyPath), message: `name "${e.propertyName}" is longer than ${(e.params as { limit: number }).limit} characters` };
      }
      return { path: where, ...source.valueAt(path), message: `${where} is longer than ${(e.params as { limit: number }).limit} characters` };
    case 'minLength':
      return { path: where, ...source.valueAt(path), message: `${where} must not be empty` };
    case 'minimum':
    case 'maximum':
      return { path: where, ...source.valueAt(path), message: `${where} must be ${e.keyword === 'minimum' ? '>=' : '<='} ${(e.params as { limit: number }).limit}` };
    case 'minItems':
      return { path: where, ...source.valueAt(path), message: `${where} must list at least ${(e.params as { limit: number }).limit} item` };
    case 'minProperties':
      return { path: where, ...source.valueAt(path), message: `${where} must define at least one entry` };
    default:
      return { path: where, ...source.valueAt(path), message: `${where} ${e.message ?? 'is invalid'}` };
  }
}

function article(type: string): string {
  if (type === 'object') return 'a mapping';
  if (type === 'array') return 'a list';
  if (type === 'integer') return 'a whole number';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function valueAt(source: SourceMap, path: DocPath): unknown {
  return source.lookup(path);
}
