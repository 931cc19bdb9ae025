// One server's my.cnf: identity, binlog, charset, the profile's options and (for local servers) paths.
import { CONNECT_SONAME, serversNeedingConnect } from '../fleet/links.js';
import { implicitCollation, isUca1400, UCA1400_SINCE } from '../fleet/mariadb-versions.js';
import type { Fleet, FleetServer } from '../fleet/model.js';
import { atLeast, parseVersion, type ServerVersion } from '../util/version.js';
import { optionKnown } from './options.js';
import { type OptionSet, profileOptions } from './profiles.js';

/** Where a local server keeps its files; absent for image-based output (the container's defaults apply). */
export interface LocalPaths {
  port: number;
  bindAddress: string;
  datadir: string;
  socket: string;
  pidFile: string;
  logError: string;
  tmpdir?: string;
  /** The only directory LOAD DATA INFILE / SELECT ... INTO OUTFILE / LOAD_FILE() may touch. */
  secureFilePriv?: string;
}

export interface MyCnfTarget {
  version: ServerVersion;
  paths?: LocalPaths;
  /** Multiplies the server's memory (laptops, tests); 1 = as declared. */
  memoryScale?: number;
  /** The server's certificate files (local: under its state dir; compose: the mounted paths). */
  tls?: ServerTlsFiles;
}

export interface ServerTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** Binlog files are named after the server so archived binlogs of several servers never clash. */
export function binlogBasename(server: FleetServer): string {
  return `${server.name}-bin`;
}

/** The ordered [mysqld] option set of a server. */
export function serverOptions(fleet: Fleet, server: FleetServer, target: MyCnfTarget): OptionSet {
  const memory = Math.max(128 * 1024 * 1024, Math.round(server.memoryBytes * (target.memoryScale ?? 1)));
  const services = fleet.services.filter((s) => s.server === server.name);
  const charset = services[0]?.charset ?? fleet.charset;
  // A server without services falls back to the fleet's collation, unless its own version lacks it.
  const collation =
    services[0]?.collation ??
    (isUca1400(fleet.collation) && !atLeast(target.version, ...UCA1400_SINCE)
      ? implicitCollation(charset, target.version)
      : fleet.collation);
  const p = target.paths;
  const options: OptionSet = [
    ...(p
      ? ([
          ['port', p.port],
          ['bind_address', p.bindAddress],
          ['socket', p.socket],
          ['datadir', p.datadir],
          ['pid_file', p.pidFile],
          ['log_error', p.logError],
          ...(p.tmpdir ? [['tmpdir', p.tmpdir]] : []),
          ...(p.secureFilePriv ? [['secure_file_priv', p.secureFilePriv]] : []),
        ] as OptionSet)
      : []),
    ...(target.tls
      ? ([
          ['ssl_ca', target.tls.ca],
          ['ssl_cert', target.tls.cert],
          ['ssl_key', target.tls.key],
          // TLS 1.0 and 1.1 are broken; every client dbps supports speaks 1.2.
          ['tls_version', 'TLSv1.2,TLSv1.3'],
        ] as OptionSet)
      : []),
    ['server_id', server.serverId],
    ['gtid_domain_id', server.gtidDomainId],
    ['log_bin', binlogBasename(server)],
    ['binlog_format', 'ROW'],
    // With log_bin on, CREATE TRIGGER / CREATE FUNCTION need SUPER unless this is ON; a migrator
    // holds TRIGGER and CREATE ROUTINE on its own database only, and ROW format keeps replay safe.
    ['log_bin_trust_function_creators', 'ON'],
    // The monitor account's exporter reads performance_schema summary tables (fleet/monitor.ts); OFF leaves them empty.
    ['performance_schema', 'ON'],
    ['binlog_expire_logs_seconds', 7 * 24 * 3600],
    ['max_binlog_size', '256M'],
    ['sync_binlog', 1],
    ['skip_name_resolve', 'ON'],
    ['character_set_server', charset],
    ['collation_server', collation],
    ['slow_query_log_file', `${server.name}-slow.log`],
    // A declared link reads through CONNECT tables on this server: the engine is loaded at every start
    // (provision installs it with INSTALL SONAME on a server that runs without it; both are harmless together).
    ...(serversNeedingConnect(fleet).has(server.name) ? ([['plugin_load_add', CONNECT_SONAME]] as OptionSet) : []),
  ];
  const profile = profileOptions(server.profile, memory, target.version);
  const seen = new Set(options.map(([k]) => k));
  for (const [k, v] of profile) {
    if (seen.has(k)) {
      // The profile decides durability (sync_binlog); identity and paths above win otherwise.
      if (k === 'sync_binlog') options[options.findIndex(([n]) => n === k)] = [k, v];
      continue;
    }
    seen.add(k);
    options.push([k, v]);
  }
  for (const [k] of options) {
    if (!optionKnown(k, target.version)) {
      throw new Error(`my.cnf option ${k} is not valid for MariaDB ${target.version.text}`);
    }
  }
  return options;
}

/** my.cnf text for one server; byte-stable for the same input. */
export function renderMyCnf(fleet: Fleet, server: FleetServer, target: MyCnfTarget): string {
  const services = fleet.services.filter((s) => s.server === server.name).map((s) => s.name);
  const header = [
    `# Generated by dbps from ${fleet.file.split(/[\\/]/).pop()}; do not edit (dbps generate rewrites it).`,
    `# server ${server.name}: profile ${server.profile}, ${server.isolation} isolation, MariaDB ${target.version.text}`,
    ...commentList(`services (${services.length}):`, services),
  ];
  const body = serverOptions(fleet, server, target).map(([k, v]) => `${k} = ${v}`);
  return `${header.join('\n')}\n\n[mysqld]\n${body.join('\n')}\n`;
}

/** Width of a wrapped comment line: far below the 4095 bytes at which mariadbd rejects an option-file line. */
const COMMENT_WIDTH = 100;

/**
 * `# label a, b, c` wrapped into lines of at most COMMENT_WIDTH characters (a single longer name keeps its
 * own line), so the header never grows one line with the fleet.
 */
function commentList(label: string, names: readonly string[]): string[] {
  if (names.length === 0) return [`# ${label} (none)`];
  const lines: string[] = [];
  let line = `# ${label}`;
  for (const [i, name] of names.entries()) {
    const word = `${name}${i < names.length - 1 ? ',' : ''}`;
    if (line.length + 1 + word.length > COMMENT_WIDTH && line !== '#  ') {
      lines.push(line);
      line = '#  ';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

/** The version a server's generated output targets (`mariadb:` on the server, else the fleet default). */
export function targetVersion(fleet: Fleet, server: FleetServer): ServerVersion {
  return parseVersion(server.mariadb || fleet.mariadb);
}
