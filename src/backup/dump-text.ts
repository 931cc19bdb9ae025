// The text of a mariadb-dump file, read without a server: the consistent position the dump wrote into
// its own header and trailer, and the split of a dump into what loads into a scratch database (tables
// and rows) and what must be created under the database's real name after the swap (triggers, views,
// routines, events: their bodies may name the database, and RENAME TABLE cannot move a view, nor a
// table that has triggers, to another database). Pure.

/** The dump's consistent binlog position (`--master-data=2` / `--gtid`), read from the dump itself. */
export interface DumpPosition {
  file: string;
  pos: number;
  /** `gtid_slave_pos` of the snapshot (a comma list for several domains), when the server has GTIDs. */
  gtid?: string;
}

/**
 * The position from the dump's head (`-- CHANGE MASTER TO MASTER_LOG_FILE='f', MASTER_LOG_POS=n;`)
 * and its tail (`-- SET GLOBAL gtid_slave_pos='…';`, written after the data), or null when the dump has
 * none (log_bin off).
 */
export function parseDumpPosition(head: string, tail: string): DumpPosition | null {
  const m = /^-- CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+);/m.exec(head);
  if (!m) return null;
  const g = /^-- SET GLOBAL gtid_slave_pos='([^']*)';/m.exec(tail);
  return { file: m[1]!, pos: Number(m[2]), ...(g?.[1] ? { gtid: g[1] } : {}) };
}

export type DumpPart = 'both' | 'tables' | 'objects' | 'skip';

/** Which database a `-- Current Database: `x`` or `USE `x`;` line switches to, or undefined. */
export function databaseSwitch(line: string): string | undefined {
  const m = /^(?:-- Current Database: |USE )`((?:[^`]|``)+)`;?$/.exec(line);
  return m ? m[1]!.replace(/``/g, '`') : undefined;
}

/**
 * A line-by-line router over mariadb-dump output (10.11 and 11.x layout). `route(line)` says where the
 * line goes: `both` (the session settings of the header), `tables` (table definitions and rows, for the
 * scratch database), `objects` (triggers, view placeholders and views, routines, events, for the real
 * database after the swap), or `skip` (CREATE DATABASE / USE, which the restore writes itself).
 * `database` is the database the line belongs to (multi-database dumps switch with USE).
 */
export class DumpRouter {
  database: string | undefined;
  /** True once the `-- Dump completed` line went by: a dump without it is truncated. */
  completed = false;
  private section: 'header' | 'table' | 'view-placeholder' | 'routines' | 'events' | 'final-views' | 'trailer' =
    'header';
  private inTrigger = false;

  constructor(database?: string) {
    this.database = database;
  }

  route(line: string): DumpPart {
    const db = databaseSwitch(line);
    if (db !== undefined) {
      this.database = db;
      if (line.startsWith('-- ')) this.section = 'table';
      return 'skip';
    }
    if (line.startsWith('CREATE DATABASE ') && (this.section === 'header' || this.section === 'table')) return 'skip';
    if (line.startsWith('-- ') && isSectionMarker(line)) {
      if (line.startsWith('-- Table structure for table ') || line.startsWith('-- Dumping data for table '))
        this.section = 'table';
      else if (
        line.startsWith('-- Temporary table structure for view ') ||
        line.startsWith('-- Temporary view structure for view ')
      )
        this.section = 'view-placeholder';
      else if (line.startsWith('-- Dumping routines for database ')) this.section = 'routines';
      else if (line.startsWith('-- Dumping events for database ')) this.section = 'events';
      else if (line.startsWith('-- Final view structure for view ')) this.section = 'final-views';
      else if (line.startsWith('-- Dump completed') || line.startsWith('-- The deferred gtid'))
        this.section = 'trailer';
      if (line.startsWith('-- Dump completed')) this.completed = true;
      return 'skip';
    }
    switch (this.section) {
      case 'header':
      case 'trailer':
        return 'both';
      case 'table':
        // A table's triggers follow its rows, wrapped in /*!50003 SET … */ session lines.
        if (!this.inTrigger && line.startsWith('/*!50003 SET @saved_cs_client')) this.inTrigger = true;
        if (this.inTrigger) {
          if (line.startsWith('/*!50003 SET collation_connection  = @saved_col_connection')) this.inTrigger = false;
          return 'objects';
        }
        return 'tables';
      default:
        return 'objects';
    }
  }
}

const MARKERS = [
  '-- Table structure for table ',
  '-- Dumping data for table ',
  '-- Temporary table structure for view ',
  '-- Temporary view structure for view ',
  '-- Dumping routines for database ',
  '-- Dumping events for database ',
  '-- Final view structure for view ',
  '-- Dump completed',
  '-- The deferred gtid',
];

function isSectionMarker(line: string): boolean {
  return MARKERS.some((m) => line.startsWith(m));
}

/** Splits text into lines, keeping a partial last line for the next chunk (streams of dump text). */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop()!;
    return lines;
  }

  end(): string[] {
    const last = this.rest;
    this.rest = '';
    return last ? [last] : [];
  }
}
