// services.yaml text -> a schema-valid ServicesFile with a SourceMap, or every problem with its place.

import type { ErrorObject, ValidateFunction } from 'ajv';
import {
  type Alias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type Scalar,
  visit,
  type YAMLError,
} from 'yaml';
import type { ConfigIssue } from '../errors.js';
import { escapeChar, firstControl, quoted } from '../util/printable.js';
import { closest, didYouMean } from '../util/suggest.js';
import { type DocPath, formatPath, SourceMap } from './source-map.js';
import type { ServicesFile } from './types.js';
import { loadValidator } from './validator.js';

export interface ParsedServices {
  data: ServicesFile;
  source: SourceMap;
}

/**
 * A failed parse may still carry `partial`: the data with every value the schema refused taken out (so
 * it is schema-valid), for the semantic checks to run on the rest and report their problems in the
 * same run; `pruned` are the paths taken out (their problems are already among `issues`).
 */
export type ParseOutcome =
  | { ok: true; value: ParsedServices }
  | { ok: false; issues: ConfigIssue[]; partial?: ParsedServices; pruned?: DocPath[] };

// Loaded on first use (precompiled after `npm run build`; compiled from the schema from source).
let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  compiled ??= loadValidator();
  return compiled;
}

/** Parses and schema-checks services.yaml text; pure (the caller reads the file). */
export function parseServices(text: string): ParseOutcome {
  const lines = new LineCounter();
  const nul = text.indexOf('\u0000');
  if (nul >= 0) {
    const before = text.slice(0, nul);
    const line = before.split('\n').length;
    const column = nul - before.lastIndexOf('\n');
    return {
      ok: false,
      issues: [
        {
          path: '',
          line,
          column,
          message: 'the file holds binary data (a NUL byte), not YAML text; check that -f names your services.yaml',
        },
      ],
    };
  }
  // uniqueKeys is off because the yaml library checks it in quadratic time (minutes on a 5 MB file);
  // duplicateKeys() below does the same check in one pass and says which entry came first.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, merge: true });
  const source = new SourceMap(doc, lines);
  if (doc.errors.length > 0) return { ok: false, issues: syntaxIssues(doc.errors, text, lines) };
  const duplicates = duplicateKeys(doc.contents, [], lines);
  const structural = [
    ...duplicates,
    ...unsupportedTags(doc.contents, text, lines),
    ...controlCharacters(doc.contents, [], lines),
  ];
  // A key written twice still leaves data to check (the later entry wins): only tags and control
  // characters stop here, since the rest of the checks would echo or interpret them.
  if (structural.length > duplicates.length)
    return { ok: false, issues: structural.sort((a, b) => a.line - b.line || a.column - b.column) };
  const outcome = checkData(doc, source, lines);
  if (duplicates.length === 0) return outcome;
  const issues = [...duplicates, ...(outcome.ok ? [] : outcome.issues)].sort(
    (a, b) => a.line - b.line || a.column - b.column,
  );
  if (outcome.ok) return { ok: false, issues, partial: outcome.value, pruned: [] };
  return { ...outcome, issues };
}

function checkData(doc: ReturnType<typeof parseDocument>, source: SourceMap, lines: LineCounter): ParseOutcome {
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, issues: [dataIssue(e, doc.contents, lines)] };
  }
  if (data === null || data === undefined) {
    return {
      ok: false,
      issues: [
        {
          path: '',
          line: 1,
          column: 1,
          message: 'the file is empty; run `dbps init` to create one, or add version, fleet and services',
        },
      ],
    };
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    const place = source.valueAt([]);
    return {
      ok: false,
      issues: [
        {
          path: '',
          ...place,
          message: `the file holds ${Array.isArray(data) ? 'a list' : `a single ${typeof data} value`}, but services.yaml must be a mapping with the keys version, fleet and services`,
        },
      ],
    };
  }
  const version = (data as Record<string, unknown>).version;
  if (version !== undefined && version !== 1) {
    const place = source.valueAt(['version']);
    const message =
      typeof version === 'number' && Number.isInteger(version) && version > 1
        ? `version ${version} is newer than this dbps understands (it reads version 1); upgrade dbps`
        : `version is ${JSON.stringify(version)}, but it must be the number 1; write "version: 1"`;
    return { ok: false, issues: [{ path: 'version', ...place, message }] };
  }
  const validate = validator();
  if (!validate(data)) {
    const issues = schemaIssues(validate.errors ?? [], source);
    const rest = withoutRefused(data as Record<string, unknown>, validate);
    return rest
      ? { ok: false, issues, partial: { data: rest.data, source }, pruned: rest.pruned }
      : { ok: false, issues };
  }
  return { ok: true, value: { data: data as ServicesFile, source } };
}

/**
 * The document without the values the schema refused, when that leaves a schema-valid file (a few
 * rounds: taking out a value can only remove errors). A refused entry name (a service "Orders") is
 * kept, so its other settings are still checked; a missing required key of a nested entry takes the
 * entry's key out. Undefined when what is left is not a fleet (no services mapping, no version).
 */
function withoutRefused(
  data: Record<string, unknown>,
  validate: ValidateFunction,
): { data: ServicesFile; pruned: DocPath[] } | undefined {
  const copy = structuredClone(data);
  const pruned: DocPath[] = [];
  for (let round = 0; round < 5; round++) {
    // An entry name against the name pattern: the key is reported, the entry stays.
    const left = validate(copy)
      ? []
      : (validate.errors ?? []).filter((e) => e.propertyName === undefined && e.keyword !== 'propertyNames');
    if (left.length === 0) return { data: copy as unknown as ServicesFile, pruned };
    let removed = false;
    for (const e of left) {
      if (e.keyword === 'required' && e.instancePath === '') {
        if ((e.params as { missingProperty: string }).missingProperty !== 'fleet') return undefined;
        copy.fleet = 'fleet';
        removed = true;
        continue;
      }
      let path = pathOf(e.instancePath);
      if (e.keyword === 'additionalProperties')
        path = [...path, String((e.params as { additionalProperty: string }).additionalProperty)];
      // Inside a list, the whole list goes: removing one item would renumber the ones after it.
      const list = path.findIndex((p) => typeof p === 'number');
      if (list >= 0) path = path.slice(0, list);
      const top = path[0];
      if (path.length === 0 || top === 'version' || (path.length === 1 && top === 'services')) return undefined;
      if (path.length === 1 && top === 'fleet') {
        copy.fleet = 'fleet';
        removed = true;
        continue;
      }
      // A service or server entry itself stays (others refer to it by name): a non-mapping becomes {}.
      if (path.length === 2 && (top === 'services' || top === 'servers')) {
        setAt(copy, path, {});
        pruned.push(path);
        removed = true;
        continue;
      }
      if (deleteAt(copy, path)) {
        pruned.push(path);
        removed = true;
      }
    }
    if (!removed) return undefined;
  }
  return undefined;
}

function deleteAt(data: Record<string, unknown>, path: DocPath): boolean {
  let node: unknown = data;
  for (const p of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return false;
    node = (node as Record<string | number, unknown>)[p];
  }
  const last = path[path.length - 1]!;
  if (node === null || typeof node !== 'object' || !Object.hasOwn(node, last)) return false;
  delete (node as Record<string | number, unknown>)[last];
  return true;
}

function setAt(data: Record<string, unknown>, path: DocPath, value: unknown): void {
  let node: unknown = data;
  for (const p of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[p];
  (node as Record<string | number, unknown>)[path[path.length - 1]!] = value;
}

/** One issue per line for YAML syntax errors, placed where the mistake is and saying how to fix it. */
function syntaxIssues(errors: readonly YAMLError[], text: string, lines: LineCounter): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seenLines = new Set<number>();
  for (const e of errors) {
    const { offset, message } = explainSyntax(e, text);
    const pos = lines.linePos(offset);
    // Later errors on a line are usually the parser tripping over the first one.
    if (seenLines.has(pos.line)) continue;
    seenLines.add(pos.line);
    issues.push({ path: '', line: pos.line, column: pos.col, message });
  }
  return issues.sort((a, b) => a.line - b.line || a.column - b.column);
}

function explainSyntax(e: YAMLError, text: string): { offset: number; message: string } {
  const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
  const [start, end] = e.pos;
  if (/call stack/i.test(first))
    return { offset: start, message: 'the file nests lists or mappings too deeply to read' };
  switch (e.code) {
    case 'TAB_AS_INDENT':
      return {
        offset: start,
        message:
          'YAML syntax error: a tab is used for indentation; YAML allows only spaces there, so replace the tab with spaces',
      };
    case 'MISSING_CHAR': {
      const quote = /'quote|single/i.test(first) ? "'" : /"quote|double/i.test(first) ? '"' : undefined;
      if (quote) {
        // The value is unclosed, so the last quote of that kind before the error is the opening one.
        const open = text.lastIndexOf(quote, Math.max(0, start - 1));
        return {
          offset: open >= 0 ? open : start,
          message: `YAML syntax error: this value opens a ${quote} quote that is never closed; add the closing ${quote} at the end of the value`,
        };
      }
      return { offset: start, message: `YAML syntax error: ${lowerFirst(first)}` };
    }
    case 'BAD_INDENT':
      if (/flow map|flow sequence|flow collection/i.test(first)) {
        const bracket = /sequence/i.test(first) ? '[' : '{';
        const open = text.lastIndexOf(bracket, start);
        const close = bracket === '[' ? ']' : '}';
        return {
          offset: open >= 0 ? open : start,
          message: `YAML syntax error: this ${bracket} ... ${close} is not closed before the next line; add the closing ${close}`,
        };
      }
      return {
        offset: start,
        message: `YAML syntax error: ${lowerFirst(first)}; indent the keys of one mapping by the same number of spaces`,
      };
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY': {
      // "profile: oltp" followed by a line indented deeper reads as one multi-line key: point at that line.
      const nextLine = text.indexOf('\n', start);
      if (nextLine >= 0 && nextLine < Math.max(end, start + 1) + 200) {
        let col = nextLine + 1;
        while (text[col] === ' ') col++;
        return {
          offset: col,
          message:
            'YAML syntax error: this line is indented differently from the key above it, so YAML cannot tell which mapping it belongs to; indent the keys of one mapping by the same number of spaces',
        };
      }
      return {
        offset: start,
        message: `YAML syntax error: ${lowerFirst(first)}; check the indentation of this line and the one below`,
      };
    }
    case 'MULTIPLE_DOCS':
      return {
        offset: start,
        message:
          'YAML syntax error: the file holds more than one YAML document (a second "---"); keep the fleet in one document',
      };
    default:
      return { offset: start, message: `YAML syntax error: ${lowerFirst(first)}` };
  }
}

function lowerFirst(s: string): string {
  return s.length > 1 && /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

/** Every key that appears twice in one mapping, reported at its second appearance. */
function duplicateKeys(node: unknown, path: (string | number)[], lines: LineCounter): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // An explicit stack instead of recursion: a deeply nested hostile file must not overflow the JS stack.
  const stack: { node: unknown; path: (string | number)[] }[] = [{ node, path }];
  while (stack.length > 0) {
    const { node: current, path: at } = stack.pop()!;
    if (isMap(current)) {
      const firstSeen = new Map<string, number>();
      for (const pair of current.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined && pair.key !== null && typeof pair.key === 'object') {
          // "? [a, b]: x" makes a list a key; JavaScript would turn it into the text "[ a, b ]".
          const pos = lines.linePos((pair.key as Node).range?.[0] ?? 0);
          issues.push({
            path: formatPath(at),
            line: pos.line,
            column: pos.col,
            message: 'a key must be a plain name, not a list or a mapping',
          });
          continue;
        }
        if (key !== undefined) {
          const offset = (pair.key as Scalar).range?.[0] ?? 0;
          const first = firstSeen.get(key);
          if (first === undefined) {
            firstSeen.set(key, offset);
          } else {
            const pos = lines.linePos(offset);
            issues.push({
              path: formatPath([...at, key]),
              line: pos.line,
              column: pos.col,
              message: duplicateMessage(key, at, lines.linePos(first).line),
            });
          }
          stack.push({ node: pair.value, path: [...at, key] });
        }
      }
    } else if (isSeq(current)) {
      current.items.forEach((item, i) => {
        stack.push({ node: item, path: [...at, i] });
      });
    }
  }
  return issues.sort((a, b) => a.line - b.line || a.column - b.column);
}

function duplicateMessage(key: string, parent: (string | number)[], firstLine: number): string {
  if (parent.length === 1 && parent[0] === 'services') {
    return `service "${key}" is declared twice (first on line ${firstLine}); merge the two entries or rename one`;
  }
  if (parent.length === 1 && parent[0] === 'servers') {
    return `server "${key}" is declared twice (first on line ${firstLine}); merge the two entries or rename one`;
  }
  return `key "${key}" appears twice in ${formatPath(parent)} (first on line ${firstLine}); keep one of them`;
}

/** Why a syntactically valid document cannot be turned into data (alias bomb, bad merge key, too deep). */
function dataIssue(e: unknown, contents: unknown, lines: LineCounter): ConfigIssue {
  const text = e instanceof Error ? e.message : String(e);
  const at = (offset: number | undefined, message: string): ConfigIssue => {
    const pos = lines.linePos(offset ?? 0);
    return { path: '', line: pos.line, column: pos.col, message };
  };
  // The yaml library refuses alias bombs (billion laughs) with a ReferenceError.
  if (/alias/i.test(text) && /excessive|exhaustion/i.test(text)) {
    return at(
      firstAlias(contents)?.range?.[0],
      'the file expands YAML aliases (*name) too many times (an alias bomb?); write the repeated values out instead',
    );
  }
  if (/merge/i.test(text)) {
    return at(
      firstMergeKey(contents)?.range?.[0],
      'a merge key (<<) must name a mapping, written as "<<: *name" in block style; write the values out instead',
    );
  }
  if (e instanceof RangeError) return at(0, 'the file nests lists or mappings too deeply to read');
  return at(0, `the file cannot be read as data: ${lowerFirst(text.split('\n')[0] ?? text)}`);
}

function firstAlias(node: unknown): Alias | undefined {
  let found: Alias | undefined;
  visit(node as Node, {
    Alias(_key, alias) {
      found = alias;
      return visit.BREAK;
    },
  });
  return found;
}

function firstMergeKey(node: unknown): Scalar | undefined {
  let found: Scalar | undefined;
  visit(node as Node, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && (pair.key.value === '<<' || String(pair.key.source) === '<<')) {
        found = pair.key;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * No name or value of services.yaml may hold a control character: a line break in `host:` would
 * inject keys into docker-compose.yml, an escape sequence would repaint the terminal of whoever
 * reads a message naming it. Every key and every string scalar is checked, with its place.
 */
function controlCharacters(node: unknown, at: (string | number)[], lines: LineCounter): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (scalar: unknown, where: (string | number)[], what: 'name' | 'value') => {
    if (!isScalar(scalar) || typeof scalar.value !== 'string') return;
    const bad = firstControl(scalar.value);
    if (!bad) return;
    const pos = lines.linePos(scalar.range?.[0] ?? 0);
    const shown = formatPath(where) || '(top level)';
    issues.push({
      path: formatPath(where),
      line: pos.line,
      column: pos.col,
      message: `the ${what} ${what === 'name' ? quoted(scalar.value) : `of ${shown}`} holds the control character ${escapeChar(bad.char)}; names and values must be plain text on one line, so remove it`,
    });
  };
  const walk = (current: unknown, where: (string | number)[]) => {
    if (isMap(current)) {
      for (const pair of current.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        check(pair.key, [...where, key], 'name');
        walk(pair.value, [...where, key]);
      }
    } else if (isSeq(current)) {
      current.items.forEach((item, i) => {
        walk(item, [...where, i]);
      });
    } else {
      check(current, where, 'value');
    }
  };
  walk(node, at);
  return issues;
}

/** Tags that only say what plain YAML already means (`!!str 10.10` forces text, which is useful). */
const PLAIN_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

/** Explicit tags such as !!binary or !custom turn values into things services.yaml has no use for. */
function unsupportedTags(node: unknown, text: string, lines: LineCounter): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const stack: unknown[] = [node];
  while (stack.length > 0) {
    const current = stack.pop();
    if (isMap(current) || isSeq(current) || isScalar(current)) {
      const tag = (current as { tag?: string }).tag;
      if (tag && !PLAIN_TAGS.has(tag)) {
        // The node's range starts at its value; point at the tag written before it on the same line.
        const valueAt = current.range?.[0] ?? 0;
        let bang = text.lastIndexOf('!', valueAt);
        while (bang > 0 && text[bang - 1] === '!') bang--;
        const lineStart = text.lastIndexOf('\n', valueAt - 1);
        const pos = lines.linePos(bang > lineStart ? bang : valueAt);
        const shown = tag.replace(/^tag:yaml\.org,2002:/, '!!');
        issues.push({
          path: '',
          line: pos.line,
          column: pos.col,
          message: `the YAML tag ${shown} has no meaning in services.yaml; remove it and write a plain value`,
        });
      }
    }
    if (isMap(current)) for (const pair of current.items) stack.push(pair.key, pair.value);
    else if (isSeq(current)) for (const item of current.items) stack.push(item);
  }
  return issues;
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
  'outbox.retention': 'a duration such as 30m, 12h or 7d',
  charset: 'a character set name such as utf8mb4',
  collation: 'a collation name such as utf8mb4_unicode_ci',
};

/** What each value of an enum means, so a wrong value is fixed without opening the docs. */
const ENUM_HELP: Record<string, string> = {
  driver: 'local: dbps runs the server on this machine; external: an existing server reached through host:',
  role: 'app reads and writes data, migrator also changes the schema, readonly only reads',
  profile: 'oltp for transactions, olap for analytics, sessions for small hot rows, archive for cold data',
};

const SERVER_ONLY_KEYS = new Set(['driver', 'host', 'admin', 'mariadb']);
const PASSWORD_KEYS = /^(password|passwd|pwd|pass|secret|pw)$/i;

function schemaIssues(errors: ErrorObject[], source: SourceMap): ConfigIssue[] {
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  // A misspelt required key shows up twice (unknown "table", missing "tables"): keep only the hint.
  const suggested = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== 'additionalProperties') continue;
    const key = String((e.params as { additionalProperty: string }).additionalProperty);
    const known = Object.keys(
      (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {},
    );
    const hit = closest(key, known);
    if (hit) suggested.add(`${e.instancePath}\u0000${hit}`);
  }
  for (const e of errors) {
    if (
      e.keyword === 'required' &&
      suggested.has(`${e.instancePath}\u0000${(e.params as { missingProperty: string }).missingProperty}`)
    )
      continue;
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
  const got = source.lookup(path);
  const at = (message: string): ConfigIssue => ({ path: path.length ? where : '', ...source.valueAt(path), message });
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const keyPath = [...path, key];
      const known = Object.keys(
        (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {},
      );
      return { path: formatPath(keyPath), ...source.keyAt(keyPath), message: unknownKeyMessage(key, path, known) };
    }
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      return at(
        `${path.length ? where : 'the file'} is missing the required key "${missing}"${REQUIRED_HELP[missing] ?? ''}`,
      );
    }
    case 'propertyNames':
      return undefined; // reported through the nested pattern error below, which names the key
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const help = typeof last === 'string' ? ENUM_HELP[last] : undefined;
      const hint = typeof got === 'string' ? didYouMean(got, allowed) : '';
      return at(
        `${where} is ${shown(got)}, which is not one of ${allowed.join(', ')}${hint}${hint || !help ? '' : ` (${help})`}`,
      );
    }
    case 'const':
      return at(
        `${where} must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}, not ${shown(got)}`,
      );
    case 'type':
      return at(typeMessage(where, last, got, (e.params as { type: string }).type, path, source.writtenAs(path)));
    case 'pattern': {
      if (e.propertyName !== undefined) {
        const keyPath = [...path, e.propertyName];
        const what = last === 'servers' ? 'server' : 'service';
        const fix = nameFix(e.propertyName);
        return {
          path: formatPath(keyPath),
          ...source.keyAt(keyPath),
          message: `${what} name "${e.propertyName}" must start with a lowercase letter and hold only lowercase letters, digits, "_" and "-"${fix}`,
        };
      }
      const parent = path[path.length - 2];
      const help =
        typeof last === 'string' ? (PATTERN_HELP[`${String(parent)}.${last}`] ?? PATTERN_HELP[last]) : undefined;
      if (!help) {
        const name = last === 'fleet' ? 'fleet name' : where;
        return at(
          `${name} ${shown(got)} must start with a lowercase letter and hold only lowercase letters, digits, "_" and "-"${typeof got === 'string' ? nameFix(got) : ''}`,
        );
      }
      return at(`${where} is ${shown(got)}, which is not ${help}${patternFix(String(last), got)}`);
    }
    case 'maxLength': {
      const limit = (e.params as { limit: number }).limit;
      if (e.propertyName !== undefined) {
        const keyPath = [...path, e.propertyName];
        return {
          path: formatPath(keyPath),
          ...source.keyAt(keyPath),
          message: `name "${e.propertyName}" is ${e.propertyName.length} characters long; the limit is ${limit}`,
        };
      }
      return at(
        `${where} is ${typeof got === 'string' ? got.length : 'too many'} characters long; the limit is ${limit}`,
      );
    }
    case 'minLength':
      return at(`${where} must not be empty`);
    case 'minimum':
    case 'maximum': {
      const limit = (e.params as { limit: number }).limit;
      if (last === 'port' || last === 'basePort') {
        const max = last === 'basePort' ? 65000 : 65535;
        return at(`${where} is ${shown(got)}, but a port must be between 1 and ${max}`);
      }
      return at(
        `${where} is ${shown(got)}, but it must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${limit}`,
      );
    }
    case 'minItems':
      return at(
        `${where} is an empty list; list at least one ${last === 'tables' ? 'table' : last === 'users' ? 'user' : 'entry'}, or remove the key`,
      );
    case 'minProperties':
      return at(
        `${where} is empty; declare at least one ${last === 'services' ? 'service, for example "orders: {}"' : 'entry'}`,
      );
    default:
      return at(`${where} ${e.message ?? 'is invalid'}`);
  }
}

/** `; try "my-shop"` for a name that breaks the name rule, when a lower-case spelling fits it. */
function nameFix(name: string): string {
  const lower = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '');
  return lower && /^[a-z][a-z0-9_-]*$/.test(lower) && lower.length <= 60 ? `; try "${lower}"` : '';
}

const REQUIRED_HELP: Record<string, string> = {
  version: '; add "version: 1" at the top',
  fleet: '; add the fleet\'s name, for example "fleet: shop"',
  services: '; add a "services:" mapping with one entry per service',
  role: ' (app, migrator or readonly)',
  name: " (the account's user name)",
  tables: ' (the tables this service may read)',
  service: ' (the service whose tables are read)',
  user: ' (the account dbps logs in as)',
};

function unknownKeyMessage(key: string, path: DocPath, known: string[]): string {
  const where = path.length ? formatPath(path) : 'the top level';
  const isService = path.length === 2 && path[0] === 'services';
  if (PASSWORD_KEYS.test(key)) {
    const fix = known.includes('passwordEnv')
      ? 'put it in an environment variable and name that variable with "passwordEnv:"'
      : isService
        ? 'list the accounts under "users:" and give each a "passwordEnv:" naming an environment variable'
        : 'name an environment variable with "passwordEnv:" instead';
    return `unknown key "${key}" in ${where}: passwords do not belong in services.yaml (it is meant for git); ${fix}`;
  }
  if (isService && SERVER_ONLY_KEYS.has(key)) {
    return `unknown key "${key}" in ${where}: "${key}" belongs to a server; declare the server under "servers:" and point the service at it with "server:"`;
  }
  const hint = didYouMean(key, known);
  return `unknown key "${key}" in ${where}${hint || (known.length ? ` (allowed keys: ${known.join(', ')})` : '')}`;
}

function typeMessage(
  where: string,
  last: string | number | undefined,
  got: unknown,
  type: string,
  path: DocPath,
  written?: string,
): string {
  if (got === null || got === undefined) {
    if (path.length === 2 && path[0] === 'services')
      return `service "${last}" has no value; write "${last}: {}" to give it every default`;
    if (path.length === 2 && path[0] === 'servers')
      return `server "${last}" has no value; write "${last}: {}" for a local server with every default`;
    return `${where} has no value; give it ${article(type)} or remove the key`;
  }
  if (
    String(type).split(',').includes('boolean') &&
    typeof got === 'string' &&
    /^(yes|no|on|off|y|n|true|false)$/i.test(got)
  ) {
    return `${where} is "${got}", which YAML 1.2 reads as text; write true or false`;
  }
  if (last === 'outbox') {
    return `${where} is ${shown(got)}; write true, or a mapping such as { retention: 7d }`;
  }
  if ((last === 'memory' || last === 'storage') && typeof got === 'number') {
    return `${where} is ${got}, which has no unit; write a size such as ${got}M or ${last === 'memory' ? '2G' : '10Gi'}`;
  }
  if (last === 'mariadb' && typeof got === 'number') {
    const text = written ?? String(got);
    return `${where} is the number ${got}; write the version in quotes, "${text}" (YAML reads 10.10 as the number 10.1)`;
  }
  if ((type === 'integer' || type === 'number') && typeof got === 'string' && /^\s*\d+\s*$/.test(got)) {
    return `${where} is the text "${got}"; write the number without quotes`;
  }
  if (type === 'array' && (typeof got === 'string' || typeof got === 'number')) {
    return `${where} must be a list, not ${shown(got)}; write [${got}]`;
  }
  return `${where} must be ${article(type)}, not ${shown(got)}`;
}

function patternFix(key: string, got: unknown): string {
  if (typeof got !== 'string') return '';
  if (key === 'memory' || key === 'storage') {
    const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt])(i?)b?\s*$/i.exec(got);
    if (m) return `; write ${m[1]}${m[2]!.toUpperCase()}${key === 'storage' && m[3] ? 'i' : ''}`;
    return '';
  }
  if (key === 'passwordEnv') {
    const bare = got.replace(/^\$\{?|\}$/g, '').replace(/[^A-Za-z0-9_]/g, '_');
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(bare))
      return `; write ${bare}${got.startsWith('$') ? ' (the name, without $)' : ''}`;
  }
  return '';
}

/** A value as the user wrote it, for messages: `"2GB"`, `2048`, `a list`, `a mapping`. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  return String(value);
}

function article(type: string): string {
  if (type === 'object') return 'a mapping';
  if (type === 'array') return 'a list';
  if (type === 'integer') return 'a whole number';
  if (type === 'boolean') return 'true or false';
  if (type === 'string') return 'text';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
