// "1 error", "2 errors": a count with its noun in the right number, for every message that counts.

/** `n noun` with the noun in the plural unless n is 1 (pass the plural for irregular nouns). */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
