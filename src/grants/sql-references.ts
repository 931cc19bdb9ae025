// Which qualified objects (`db`.`name`) a view, routine, trigger or event body names. Pure: a small
// tokenizer that skips string literals and comments and reads backticked or bare identifiers joined by
// dots. It finds the databases a body reaches by name; unqualified names are the object's own database.

export interface ObjectReference {
  db: string;
  name: string;
  /** Named as a routine: `CALL db.p` or `db.f(`. */
  call: boolean;
}

type Token = { kind: 'ident'; text: string } | { kind: 'dot' } | { kind: 'open' } | { kind: 'other' };

function tokenize(body: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = body.length;
  while (i < n) {
    const c = body[i]!;
    if (c === '-' && body[i + 1] === '-' && (i + 2 >= n || /\s/.test(body[i + 2]!))) {
      while (i < n && body[i] !== '\n') i++;
    } else if (c === '#') {
      while (i < n && body[i] !== '\n') i++;
    } else if (c === '/' && body[i + 1] === '*') {
      const end = body.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === "'" || c === '"') {
      i++;
      while (i < n) {
        if (body[i] === '\\') i += 2;
        else if (body[i] === c && body[i + 1] === c) i += 2;
        else if (body[i] === c) break;
        else i++;
      }
      i++;
      tokens.push({ kind: 'other' });
    } else if (c === '`') {
      let text = '';
      i++;
      while (i < n) {
        if (body[i] === '`' && body[i + 1] === '`') {
          text += '`';
          i += 2;
        } else if (body[i] === '`') break;
        else text += body[i++];
      }
      i++;
      tokens.push({ kind: 'ident', text });
    } else if (c === '.') {
      tokens.push({ kind: 'dot' });
      i++;
    } else if (/[A-Za-z0-9_$\u0080-\uffff]/.test(c)) {
      let text = '';
      while (i < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(body[i]!)) text += body[i++];
      tokens.push({ kind: 'ident', text });
    } else if (c === '(') {
      tokens.push({ kind: 'open' });
      i++;
    } else {
      if (!/\s/.test(c)) tokens.push({ kind: 'other' });
      i++;
    }
  }
  return tokens;
}

/**
 * Every `a.b` (and the `a.b` of `a.b.c`) in a body whose `a` is one of `databases`: the objects of those
 * databases it names (a table, view, routine or sequence). Each reference once, in order of appearance.
 */
export function referencedObjects(body: string, databases: ReadonlySet<string>): ObjectReference[] {
  const tokens = tokenize(body);
  const seen = new Set<string>();
  const out: ObjectReference[] = [];
  for (let i = 0; i + 2 < tokens.length; i++) {
    const a = tokens[i]!;
    const dot = tokens[i + 1]!;
    const b = tokens[i + 2]!;
    if (a.kind !== 'ident' || dot.kind !== 'dot' || b.kind !== 'ident') continue;
    // `x.db.t` never starts a reference: x.db is itself a table.column pair of an earlier match.
    if (i > 0 && tokens[i - 1]!.kind === 'dot') continue;
    if (!databases.has(a.text)) continue;
    const prev = i > 0 ? tokens[i - 1]! : undefined;
    const call = tokens[i + 3]?.kind === 'open' || (prev?.kind === 'ident' && prev.text.toUpperCase() === 'CALL');
    const key = `${a.text}\u0000${b.text}\u0000${call}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ db: a.text, name: b.text, call });
    }
  }
  return out;
}
