// "Did you mean" hints for misspelt keys and names.

/** Edit distance between two short strings (keys, service names). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * The closest candidate when it is close enough to be a plausible typo, else undefined.
 * Close means a small edit distance (a third of the word), or the word and exactly one candidate
 * sharing a prefix of at least 3 characters ("retain" -> "retention", "password" -> "passwordEnv").
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of list) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  if (bestDistance <= limit) return best;
  if (lower.length >= 4) {
    const prefix = lower.slice(0, 3);
    const sharing = list.filter((c) => c.toLowerCase().startsWith(prefix));
    if (sharing.length === 1) return sharing[0];
  }
  return undefined;
}

/** `; did you mean "x"?` or the empty string. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const hit = closest(word, candidates);
  return hit ? `; did you mean "${hit}"?` : '';
}

/**
 * A few names for a hint, so a message stays one readable line at any fleet size:
 * `a, b, c` or `a, b, c, d, e and 795 more`.
 */
export function someNames(names: readonly string[], max = 5): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
