// The consistent binlog position mariadb-backup records inside the backup itself. It is taken under
// BACKUP STAGE BLOCK_COMMIT, so it is the exact point the prepared data reflects; `SHOW MASTER STATUS`
// after the backup would be later and replay from it would skip transactions.
import { atLeast, type ServerVersion } from '../util/version.js';

export interface BinlogPosition {
  file: string;
  position: number;
  /** GTID position (`domain-server-seq`, comma list with several domains); absent when none was written yet. */
  gtid?: string;
}

/** Both names the file has had: 11.1 renamed it; read either so old and new backups both work. */
export const BINLOG_INFO_FILES = ['mariadb_backup_binlog_info', 'xtrabackup_binlog_info'] as const;

/** The binlog-info file name mariadb-backup of this version writes. */
export function binlogInfoFileName(version: ServerVersion): (typeof BINLOG_INFO_FILES)[number] {
  return atLeast(version, 11, 1) ? 'mariadb_backup_binlog_info' : 'xtrabackup_binlog_info';
}

/**
 * Parses the binlog-info file: `file<TAB>position[<TAB>gtid]`. The GTID column may be missing,
 * empty, or a comma list (one entry per domain; newer versions may wrap it over lines after commas).
 * Returns undefined for an empty file. Throws on text that is not this format.
 */
export function parseBinlogInfo(text: string): BinlogPosition | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const [head, ...rest] = trimmed.split(/\r?\n/);
  const cols = head!.split('\t');
  const file = cols[0]?.trim() ?? '';
  const position = Number(cols[1]?.trim());
  if (!/^[^\s/\\]+\.\d+$/.test(file) || !Number.isSafeInteger(position) || position < 0) {
    throw new Error(`not a binlog-info line: ${JSON.stringify(head)}`);
  }
  const gtidText = [cols.slice(2).join(','), ...rest]
    .join(',')
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  for (const g of gtidText) {
    if (!/^\d+-\d+-\d+$/.test(g)) throw new Error(`not a GTID in binlog-info: ${JSON.stringify(g)}`);
  }
  return gtidText.length ? { file, position, gtid: gtidText.join(',') } : { file, position };
}

/** `orders-bin.000012` → `{ base: 'orders-bin', index: 12 }`; binlog names are `<base>.<digits>`. */
export function splitBinlogName(name: string): { base: string; index: number } | undefined {
  const m = /^(.+)\.(\d{6,})$/.exec(name);
  if (!m) return undefined;
  return { base: m[1]!, index: Number(m[2]) };
}

/** Per-domain sequence numbers of a GTID list, e.g. `1-1-5,2-2-9` → {1: 5, 2: 9}. */
export function gtidByDomain(gtid: string | undefined): Map<number, { serverId: number; seq: number }> {
  const out = new Map<number, { serverId: number; seq: number }>();
  for (const part of (gtid ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean)) {
    const [d, s, n] = part.split('-').map(Number);
    out.set(d!, { serverId: s!, seq: n! });
  }
  return out;
}
