// Memory and storage sizes as written in services.yaml ("512M", "2G", "10Gi").

const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Bytes of a size such as "512M", "1.5G" or "10Gi"; undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)([KMGT])i?$/.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** The largest whole unit that renders a byte count exactly-ish, for my.cnf ("768M", "2G"). */
export function formatSize(bytes: number): string {
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    const size = UNITS[unit]!;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  if (bytes >= UNITS.M!) return `${Math.round(bytes / UNITS.M!)}M`;
  return `${Math.max(1, Math.round(bytes / UNITS.K!))}K`;
}

/** Rounds down to a multiple of `step` bytes, never below `step`. */
export function roundDown(bytes: number, step: number): number {
  return Math.max(step, Math.floor(bytes / step) * step);
}
