// Declared CONNECT links (`services.<reader>.links`): the names dbps gives a link's objects and the
// desired state on both servers. Pure. provision creates them, audit-grants reports them as allowed,
// generate loads the engine where a server needs it: one place decides what a link is.
import type { Fleet, FleetLink, FleetServer, FleetService } from './model.js';
import { sqlStem } from './names.js';

/** Prefix of every CREATE SERVER entry and account dbps makes for a link (dbps_* is reserved for dbps). */
export const LINK_PREFIX = 'dbps_link_';

/** The plugin library of the CONNECT engine (Debian's mariadb-plugin-connect, the official image). */
export const CONNECT_SONAME = 'ha_connect';

/** `dbps_link_<reader>__<target>`: the link account on both servers and the CREATE SERVER name. */
export function linkName(reader: string, target: string): string {
  return `${LINK_PREFIX}${sqlStem(reader)}__${sqlStem(target)}`;
}

/** The view the reader's accounts read: `<target>__<table>` in the reader's database. */
export function linkViewName(target: string, table: string): string {
  return `${sqlStem(target)}__${table}`;
}

/** The CONNECT table under the view: `<target>__<table>__remote`. */
export function linkTableName(target: string, table: string): string {
  return `${linkViewName(target, table)}__remote`;
}

/**
 * The CONNECTION of a link's CONNECT table: `<server name>/<table>`. CONNECT re-creates a table from
 * what it discovers on the remote side and keeps no COMMENT, so this is what marks a table as dbps's:
 * only an admin can make a CONNECT table, and only dbps names a dbps_link_* server.
 */
export function linkConnection(serverName: string, table: string): string {
  return `${serverName}/${table}`;
}

/** Host part of the link account on the target server when services.yaml gives none. */
export function defaultLinkHost(fleet: Pick<Fleet, 'accountHost'>, reader: FleetServer, target: FleetServer): string {
  // Local servers are all on this machine, and CONNECT connects by TCP to 127.0.0.1 (never the socket).
  if (reader.driver === 'local' && target.driver === 'local') return '127.0.0.1';
  return reader.host ?? fleet.accountHost;
}

/** One table of a link on the reader's server. */
export interface DesiredLinkTable {
  /** Table of the target service. */
  remote: string;
  /** The CONNECT table (TABLE_TYPE=MYSQL) in the reader's database. */
  connectTable: string;
  /** The SQL SECURITY DEFINER view over it that the reader's accounts read. */
  view: string;
}

/** What a link puts on the reader's server (the target side is a plain managed account). */
export interface DesiredLink {
  service: string;
  database: string;
  /** CREATE SERVER name; its USER is `user`, its password the link account's secret. */
  serverName: string;
  user: string;
  /** The target's server by name: provision resolves its address (local ports are known only after `up`). */
  target: { service: string; server: string; database: string };
  /** The locked account that defines the views and holds FILE (CONNECT MYSQL tables need it to be read). */
  definer: { user: string; host: string };
  tables: DesiredLinkTable[];
}

/** Host of the views' definer on the reader's server: a locked account nobody logs in as. */
export const LINK_DEFINER_HOST = 'localhost';

/** The links of every service on `server` (reader side). */
export function readerLinks(fleet: Fleet, server: FleetServer): { service: FleetService; link: FleetLink }[] {
  return fleet.services
    .filter((s) => s.server === server.name)
    .flatMap((service) => (service.links ?? []).map((link) => ({ service, link })));
}

/** The links whose target service lives on `server` (target side). */
export function targetLinks(fleet: Fleet, server: FleetServer): { service: FleetService; link: FleetLink }[] {
  return fleet.services.flatMap((service) =>
    (service.links ?? []).filter((l) => l.server === server.name).map((link) => ({ service, link })),
  );
}

/** The reader-side desired state of one link. */
export function desiredLink(service: FleetService, link: FleetLink): DesiredLink {
  return {
    service: service.name,
    database: service.database,
    serverName: link.serverName,
    user: link.user,
    target: { service: link.service, server: link.server, database: link.database },
    definer: { user: link.user, host: LINK_DEFINER_HOST },
    tables: link.tables.map((t) => ({
      remote: t,
      connectTable: linkTableName(link.service, t),
      view: linkViewName(link.service, t),
    })),
  };
}

/** The servers whose my.cnf, compose service or MariaDB resource must load the CONNECT engine. */
export function serversNeedingConnect(fleet: Fleet): Set<string> {
  return new Set(fleet.services.filter((s) => (s.links ?? []).length > 0).map((s) => s.server));
}
