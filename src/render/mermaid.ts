// fleet.md: a picture of the fleet drawn from the resolved model (services -> databases -> servers ->
// accounts with roles, declared reads as dotted arrows), followed by tables that say the same in text.
// Pure: Fleet in, Markdown out. Every label goes through mermaidText() and node ids are generated,
// so no name from services.yaml can break the diagram or inject Mermaid syntax.
import type { Fleet, FleetServer } from '../fleet/model.js';
import { BACKUP_USER, MONITOR_USER } from '../fleet/roles.js';
import { formatSize } from '../util/size.js';

/**
 * Text safe inside a quoted Mermaid label: letters, digits and a few punctuation marks pass; every
 * other character (quotes, brackets, pipes, #, ;, <, >, &, newlines) becomes an entity code `#N;`.
 */
export function mermaidText(text: string): string {
  let out = '';
  for (const ch of text) {
    out += /[A-Za-z0-9 _.,:@%/+=()-]/.test(ch) ? ch : `#${ch.codePointAt(0)};`;
  }
  return out;
}

/** Text safe inside a Markdown table cell. */
function cell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

function serverCaption(server: FleetServer): string {
  // An external server's profile and memory are not dbps's to set, so they are not shown.
  if (server.driver === 'external') return `server ${server.name}, external ${server.host}:${server.port ?? 3306}`;
  const kind = server.isolation === 'schema' ? 'shared server' : 'own instance';
  return `server ${server.name}, ${kind}, ${server.profile}, ${formatSize(server.memoryBytes)}, MariaDB ${server.mariadb}`;
}

/**
 * Beyond this many services the picture groups services per server (GitHub renders about 50 KB and
 * 500 edges of Mermaid), and the tables give counts instead of one row per account.
 */
export const DETAIL_MAX_SERVICES = 40;
/** Beyond this many servers, own instances are grouped by profile and external servers into one node. */
const GROUP_MAX_SERVERS = 30;
/** Rows of the declared-reads table in a large fleet; the rest are counted. */
const READS_TABLE_MAX = 100;

/** The Mermaid flowchart source (without the Markdown fence). */
export function renderMermaid(fleet: Fleet): string {
  return fleet.services.length > DETAIL_MAX_SERVICES ? renderGroupedMermaid(fleet) : renderDetailedMermaid(fleet);
}

/** Which node of the grouped picture a server belongs to: itself, or its kind when servers are many. */
function serverGroup(fleet: Fleet, server: FleetServer): string {
  if (fleet.servers.length <= GROUP_MAX_SERVERS || server.isolation === 'schema') return `server ${server.name}`;
  return server.driver === 'external' ? 'external servers' : `own instances, ${server.profile}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One node per server (or group of servers) with its counts; reads aggregated into one edge per pair. */
function renderGroupedMermaid(fleet: Fleet): string {
  const lines: string[] = ['flowchart LR'];
  const groups = new Map<
    string,
    { id: string; servers: number; services: number; accounts: number; shared: boolean }
  >();
  const groupOf = new Map<string, string>();
  for (const server of fleet.servers) {
    const key = serverGroup(fleet, server);
    groupOf.set(server.name, key);
    let g = groups.get(key);
    if (!g) {
      g = { id: `grp${groups.size}`, servers: 0, services: 0, accounts: 0, shared: server.isolation === 'schema' };
      groups.set(key, g);
    }
    g.servers++;
  }
  for (const svc of fleet.services) {
    const g = groups.get(groupOf.get(svc.server)!)!;
    g.services++;
    g.accounts += svc.accounts.length;
  }
  for (const [key, g] of groups) {
    const what = [
      g.servers > 1 ? plural(g.servers, 'server') : '',
      plural(g.services, 'service'),
      plural(g.accounts, 'account'),
    ];
    lines.push(`  ${g.id}[("${mermaidText(`${key}: ${what.filter(Boolean).join(', ')}`)}")]`);
    if (g.shared) lines.push(`  class ${g.id} shared`);
  }
  const reads = new Map<string, { from: string; to: string; count: number; granted: number }>();
  const serverOfService = new Map(fleet.services.map((s) => [s.name, s.server]));
  for (const s of fleet.services) {
    for (const read of s.reads) {
      const from = groups.get(groupOf.get(s.server)!)!.id;
      const to = groups.get(groupOf.get(serverOfService.get(read.service)!)!)!.id;
      const key = `${from} ${to}`;
      const edge = reads.get(key) ?? { from, to, count: 0, granted: 0 };
      edge.count++;
      if (read.granted) edge.granted++;
      reads.set(key, edge);
    }
  }
  for (const e of reads.values()) {
    lines.push(
      `  ${e.from} -.->|"${mermaidText(`${plural(e.count, 'declared read')}, ${e.granted} granted`)}"| ${e.to}`,
    );
  }
  lines.push('  classDef shared stroke-width:3px');
  return `${lines.join('\n')}\n`;
}

/** Every service, database and account as its own node. */
function renderDetailedMermaid(fleet: Fleet): string {
  const lines: string[] = ['flowchart LR'];
  const serviceId = new Map(fleet.services.map((s, i) => [s.name, `svc${i}`]));
  const databaseId = new Map(fleet.services.map((s, i) => [s.name, `db${i}`]));
  const edges: string[] = [];

  lines.push('  subgraph services["services"]');
  for (const s of fleet.services) lines.push(`    ${serviceId.get(s.name)}(["${mermaidText(s.name)}"])`);
  lines.push('  end');

  fleet.servers.forEach((server, i) => {
    lines.push(`  subgraph srv${i}["${mermaidText(serverCaption(server))}"]`);
    const hosted = fleet.services.filter((s) => s.server === server.name);
    for (const s of hosted) {
      const db = databaseId.get(s.name)!;
      lines.push(`    ${db}[("${mermaidText(`database ${s.database}`)}")]`);
      edges.push(`  ${serviceId.get(s.name)} -->|owns| ${db}`);
      s.accounts.forEach((a, j) => {
        const acc = `acc${i}_${db}_${j}`;
        lines.push(`    ${acc}["${mermaidText(`${a.user}@${a.host}`)}"]`);
        edges.push(`  ${db} ---|"${mermaidText(a.role)}"| ${acc}`);
      });
    }
    // The per-server accounts dbps manages for itself (no data privileges on any service's database).
    lines.push(`    ops${i}["${mermaidText(`${BACKUP_USER}, ${MONITOR_USER} (dbps)`)}"]`);
    lines.push('  end');
    if (server.isolation === 'schema' && server.driver === 'local') lines.push(`  class srv${i} shared`);
  });

  for (const s of fleet.services) {
    for (const read of s.reads) {
      const status = read.granted ? 'granted' : 'documented only, not granted';
      edges.push(
        `  ${serviceId.get(s.name)} -.->|"${mermaidText(`reads ${read.tables.join(', ')} (${status})`)}"| ${databaseId.get(read.service)}`,
      );
    }
  }
  lines.push(...edges);
  lines.push('  classDef shared stroke-width:3px');
  return `${lines.join('\n')}\n`;
}

/** The whole fleet.md text. */
export function renderFleetGraph(fleet: Fleet): string {
  const out: string[] = [];
  out.push(`# Fleet ${fleet.name}`, '');
  out.push(
    `<!-- Generated by dbps from ${fleet.file.split(/[\\/]/).pop()}; do not edit (dbps generate rewrites it). -->`,
    '',
  );
  out.push(
    'Each service owns one database; each database lives on a server (an own instance, or a shared server for',
    "schema isolation); each account reaches its service's database with the role on its line. Dotted arrows",
    'are declared cross-service reads: granted when both services share a server, otherwise documented only.',
    '',
  );
  out.push('```mermaid', renderMermaid(fleet).trimEnd(), '```', '');

  out.push(
    '## Servers',
    '',
    '| server | isolation | driver | profile | memory | MariaDB | services |',
    '|---|---|---|---|---|---|---|',
  );
  const large = fleet.services.length > DETAIL_MAX_SERVICES;
  // In a large fleet a row names a server's service count, not every service: the file stays renderable.
  const servicesCell = (s: FleetServer): string =>
    large && s.services.length > 3 ? plural(s.services.length, 'service') : cell(s.services.join(', '));
  for (const s of fleet.servers) {
    out.push(
      s.driver === 'external'
        ? `| ${cell(s.name)} | ${s.isolation} | external (${cell(`${s.host}:${s.port ?? 3306}`)}) | - | - | - | ${servicesCell(s)} |`
        : `| ${cell(s.name)} | ${s.isolation} | ${s.driver} | ${s.profile} | ${formatSize(s.memoryBytes)} | ${cell(s.mariadb)} | ${servicesCell(s)} |`,
    );
  }
  if (large) {
    const accounts = fleet.services.reduce((n, s) => n + s.accounts.length, 0);
    out.push(
      '',
      '## Accounts',
      '',
      `${plural(accounts, 'account')} of ${plural(fleet.services.length, 'service')}; \`dbps plan --json\` lists each with its privileges.`,
    );
  } else {
    out.push('', '## Accounts', '', '| account | role | service | database | server |', '|---|---|---|---|---|');
    for (const svc of fleet.services) {
      for (const a of svc.accounts) {
        out.push(
          `| ${cell(`${a.user}@${a.host}`)} | ${a.role} | ${cell(svc.name)} | ${cell(svc.database)} | ${cell(svc.server)} |`,
        );
      }
    }
  }
  const reads = fleet.services.flatMap((s) => s.reads.map((r) => ({ from: s.name, ...r })));
  if (reads.length > 0) {
    out.push('', '## Declared reads', '', '| service | reads from | tables | status |', '|---|---|---|---|');
    const shown = large ? reads.slice(0, READS_TABLE_MAX) : reads;
    for (const r of shown) {
      out.push(
        `| ${cell(r.from)} | ${cell(r.service)} | ${cell(r.tables.join(', '))} | ${r.granted ? 'granted (same server)' : 'documented only (different servers)'} |`,
      );
    }
    if (shown.length < reads.length)
      out.push('', `and ${reads.length - shown.length} more declared reads (services.yaml lists them all).`);
  }
  return `${out.join('\n')}\n`;
}
