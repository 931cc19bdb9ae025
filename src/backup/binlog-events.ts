// Just enough of the binlog file format to archive it safely: walk the event headers of a raw binlog
// (4-byte magic, then events of `timestamp(4) type(1) server_id(4) length(4) next_pos(4) flags(2)`),
// find where the last whole event ends, whether the file was closed (its last event a rotate or stop),
// and when its events happened. Pure: works on a Buffer.

export const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
const HEADER = 19;
const STOP_EVENT = 3;
const ROTATE_EVENT = 4;
const FORMAT_DESCRIPTION_EVENT = 15;

export interface BinlogScan {
  /** Bytes up to the end of the last whole event (a prefix that mariadb-binlog reads without error). */
  wholeBytes: number;
  events: number;
  /** The file ends with a rotate or stop event: the server will never append to it again. */
  closed: boolean;
  /** Seconds since the epoch of the first and last event (0 when there is none). */
  firstEventTime: number;
  lastEventTime: number;
  /**
   * The file's identity across copies: the format description event's timestamp and server id (the
   * moment and server that created the file). Two files of one name with different identities are
   * different files (the server's binlogs were reset or its datadir replaced).
   */
  identity?: string;
}

/**
 * Scans a binlog's bytes. Without `prior`, `buf` is the start of the file (magic first); with it,
 * `buf` starts at an event boundary of a file already scanned that far, and the counts carry on.
 * `wholeBytes` is always relative to `buf`.
 */
export function scanBinlog(buf: Buffer, prior?: BinlogScan): BinlogScan {
  const out: BinlogScan = prior
    ? { ...prior, wholeBytes: 0 }
    : { wholeBytes: 0, events: 0, closed: false, firstEventTime: 0, lastEventTime: 0 };
  let at = 0;
  if (!prior) {
    if (buf.length < 4 || !buf.subarray(0, 4).equals(BINLOG_MAGIC)) return out;
    at = 4;
    out.wholeBytes = 4;
  }
  while (at + HEADER <= buf.length) {
    const length = buf.readUInt32LE(at + 9);
    if (length < HEADER || at + length > buf.length) break;
    const time = buf.readUInt32LE(at);
    const type = buf[at + 4]!;
    if (type === FORMAT_DESCRIPTION_EVENT && out.identity === undefined)
      out.identity = `${time}-${buf.readUInt32LE(at + 5)}`;
    if (time > 0) {
      if (out.firstEventTime === 0) out.firstEventTime = time;
      out.lastEventTime = Math.max(out.lastEventTime, time);
    }
    out.closed = type === ROTATE_EVENT || type === STOP_EVENT;
    out.events++;
    at += length;
    out.wholeBytes = at;
  }
  return out;
}

/**
 * Byte ranges that differ between a live binlog and a copy streamed from the server although both hold
 * the same events: the format description event's flags (the server sets "in use" while the file is
 * open). Comparisons of two copies skip them.
 */
export const VOLATILE_HEADER_BYTES: readonly [number, number] = [4 + 17, 4 + 19];
