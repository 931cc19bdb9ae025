// A small, deterministic YAML writer for plain data (maps, lists, strings, numbers, booleans).
// Kubernetes manifests need nothing more, and keeping it here spares `dbps --help` from loading the
// yaml package (generate/files.ts is imported when the CLI starts).

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue | undefined };

const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9 _./@()*-]*$/;
const AMBIGUOUS =
  /^(true|false|yes|no|on|off|y|n|null|~|[-+]?(\.inf|\.nan)|[-+]?[0-9][0-9_.:eE+-]*|0x[0-9a-fA-F]+|0o[0-7]+)$/i;

/** A scalar string as YAML: plain when it cannot be misread, else double-quoted (JSON escapes are YAML's). */
export function yamlString(text: string): string {
  if (text !== '' && PLAIN.test(text) && !AMBIGUOUS.test(text) && !text.endsWith(' ')) return text;
  return JSON.stringify(text);
}

function scalar(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return yamlString(value);
  return String(value);
}

function isBlock(value: YamlValue | undefined): value is YamlValue[] | { [key: string]: YamlValue | undefined } {
  if (Array.isArray(value)) return value.length > 0;
  return typeof value === 'object' && value !== null && Object.values(value).some((v) => v !== undefined);
}

function emptyCollection(value: YamlValue): string | undefined {
  if (Array.isArray(value)) return value.length === 0 ? '[]' : undefined;
  if (typeof value === 'object' && value !== null) return isBlock(value) ? undefined : '{}';
  return undefined;
}

/** Multi-line strings become literal blocks, so embedded files (my.cnf) stay readable. */
function literalBlock(text: string, indent: string): string | undefined {
  if (!text.includes('\n') || /[^\S\n]\n|[^\S\n]$|\t/.test(text) || text.startsWith(' ')) return undefined;
  const chomp = text.endsWith('\n') ? (text.endsWith('\n\n') ? '+' : '') : '-';
  const body = text.replace(/\n+$/, '');
  return `|${chomp}\n${body
    .split('\n')
    .map((line) => (line === '' ? '' : `${indent}${line}`))
    .join('\n')}`;
}

function emit(value: YamlValue, indent: string): string[] {
  if (Array.isArray(value)) {
    const lines: string[] = [];
    for (const item of value) {
      const inline = inlineValue(item, `${indent}  `);
      if (inline !== undefined) {
        lines.push(`${indent}- ${inline}`);
        continue;
      }
      const nested = emit(item, `${indent}  `);
      lines.push(`${indent}- ${nested[0]!.slice(indent.length + 2)}`, ...nested.slice(1));
    }
    return lines;
  }
  const lines: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, YamlValue | undefined>)) {
    if (v === undefined) continue;
    const inline = inlineValue(v, `${indent}  `);
    if (inline !== undefined) lines.push(`${indent}${yamlString(key)}: ${inline}`);
    else lines.push(`${indent}${yamlString(key)}:`, ...emit(v, Array.isArray(v) ? indent : `${indent}  `));
  }
  return lines;
}

/** The value's text when it fits after "key: " or "- ", else undefined (a nested block follows). */
function inlineValue(value: YamlValue, blockIndent: string): string | undefined {
  if (isBlock(value)) return undefined;
  const empty = emptyCollection(value);
  if (empty) return empty;
  if (typeof value === 'string') return literalBlock(value, blockIndent) ?? scalar(value);
  return scalar(value as number | boolean | null);
}

/** One YAML document (no leading `---`), ending in a newline. */
export function toYaml(value: YamlValue): string {
  const inline = inlineValue(value, '  ');
  if (inline !== undefined) return `${inline}\n`;
  return `${emit(value, '').join('\n')}\n`;
}

/** Several documents in one file, separated by `---`. */
export function toYamlDocuments(values: YamlValue[]): string {
  return values.map((v) => `---\n${toYaml(v)}`).join('');
}
