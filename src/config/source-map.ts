// Maps a path inside the parsed document (["services", "orders", "memory"]) to line:column.
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';

export type DocPath = ReadonlyArray<string | number>;

export interface Place {
  line: number;
  column: number;
}

/** Finds source positions of values and keys in one parsed YAML document. */
export class SourceMap {
  // Key -> pair index per mapping, built on first use: a file with thousands of services and as many
  // issues would otherwise scan the services mapping once per issue (quadratic, minutes on 5 MB).
  private readonly pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** The plain value at `path` (for messages that quote what the user wrote). */
  lookup(path: DocPath): unknown {
    const { node, complete } = this.deepest(path);
    if (!complete || node === null) return undefined;
    if (isScalar(node)) return node.value;
    try {
      return (node as unknown as { toJSON(): unknown }).toJSON();
    } catch {
      return undefined; // only used to quote a value in a message; never worth a crash
    }
  }

  /** A scalar exactly as written (`10.10`, where the parsed value is the number 10.1), else undefined. */
  writtenAs(path: DocPath): string | undefined {
    const { node, complete } = this.deepest(path);
    if (!complete || !isScalar(node)) return undefined;
    const source = (node as { source?: unknown }).source;
    return typeof source === 'string' ? source : undefined;
  }

  /** Position of the value at `path`, or of its nearest existing ancestor. */
  valueAt(path: DocPath): Place {
    return this.placeOf(this.deepest(path).node);
  }

  /** Position of the key that names the last element of `path` (for unknown or duplicate keys). */
  keyAt(path: DocPath): Place {
    const parentPath = path.slice(0, -1);
    const last = path[path.length - 1];
    const { node, complete } = this.deepest(parentPath);
    if (complete && isMap(node)) {
      const pair = this.pairOf(node, String(last));
      if (pair) return this.placeOf(pair.key as Node);
    }
    return this.valueAt(path);
  }

  private pairOf(map: YAMLMap, key: string): Pair | undefined {
    let index = this.pairIndex.get(map);
    if (!index) {
      index = new Map();
      for (const item of map.items) {
        // First occurrence wins, as for the parsed value (duplicates are reported before we get here).
        if (isPair(item) && isScalar(item.key) && !index.has(String(item.key.value)))
          index.set(String(item.key.value), item);
      }
      this.pairIndex.set(map, index);
    }
    return index.get(key);
  }

  private deepest(path: DocPath): { node: Node | null; complete: boolean } {
    let node: Node | null = (this.doc.contents as Node | null) ?? null;
    for (const step of path) {
      let next: Node | null = null;
      if (isMap(node)) {
        const pair = this.pairOf(node, String(step));
        if (pair) next = (pair.value as Node | null) ?? (pair.key as Node);
      } else if (isSeq(node) && typeof step === 'number') {
        next = (node.items[step] as Node | undefined) ?? null;
      }
      if (!next) return { node, complete: false };
      node = next;
    }
    return { node, complete: true };
  }

  private placeOf(node: Node | null): Place {
    const offset = node?.range?.[0] ?? 0;
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }
}

/** "services.orders.users[0].role" from a path. */
export function formatPath(path: DocPath): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else out += out ? `.${step}` : step;
  }
  return out || '(root)';
}
