// Renderers of an audit-grants result: text for people (grouped by service), JSON, JUnit XML (one
// testcase per service × rule) and SARIF 2.1.0 for code-scanning UIs. Pure: result in, string out.
import type { AuditGrantsResult } from '../../commands/audit-grants.js';
import type { Finding } from '../../grants/audit.js';
import type { Paint } from '../paint.js';

export type AuditFormat = 'text' | 'json' | 'junit' | 'sarif';

/** Findings of accounts that belong to no service are grouped under this name. */
export const SERVER_ACCOUNTS = '(server accounts)';

const groupName = (f: Finding) => f.service ?? SERVER_ACCOUNTS;

/** Services in report order, then the server-level group when it has findings. */
function groups(r: AuditGrantsResult): string[] {
  const names = [...r.services];
  if (r.findings.some((f) => f.service === undefined)) names.push(SERVER_ACCOUNTS);
  for (const f of r.findings) if (!names.includes(groupName(f))) names.push(groupName(f));
  return names;
}

/** The report for people: findings per service, each with its path and fix, then a summary line. */
export function auditText(r: AuditGrantsResult, paint: Paint): string {
  const out: string[] = [];
  for (const s of r.servers) {
    if (s.status === 'unreachable')
      out.push(
        `${paint.bad(s.reason === 'tls' ? 'TLS failed on' : s.reason === undefined || s.reason === 'connect' ? 'unreachable' : 'unreadable')} server ${s.label}: ${s.error}${s.hint ? ` (${s.hint})` : ''}`,
      );
  }
  for (const name of groups(r)) {
    const list = r.findings.filter((f) => groupName(f) === name);
    if (list.length === 0) continue;
    out.push('', paint.bold(name));
    for (const f of list) {
      const tag =
        f.severity === 'error'
          ? paint.bad('error  ')
          : f.severity === 'warning'
            ? paint.warn('warning')
            : paint.ok('allowed');
      out.push(`  ${tag} ${f.rule}  ${f.account} on ${f.server}: ${f.message}`);
      out.push(paint.dim(`          via ${f.via}`));
      if (f.fix) out.push(paint.dim(`          fix ${f.fix}`));
    }
  }
  const s = r.summary;
  const audited = `${s.serversAudited} server${s.serversAudited === 1 ? '' : 's'} audited${s.serversUnreachable ? `, ${s.serversUnreachable} unreachable` : ''}`;
  if (s.errors + s.warnings === 0 && s.serversUnreachable > 0) {
    // Silence from a server that was never read proves nothing: say so instead of claiming isolation.
    out.push(
      `${out.length ? '\n' : ''}${paint.bad('Isolation not proven:')} no findings on what was read, but ${audited}.`,
    );
  } else if (s.errors + s.warnings === 0) {
    out.push(
      `${out.length ? '\n' : ''}${paint.ok("No account can reach another service's data.")} ${audited}${s.allowed ? `; ${s.allowed} declared read${s.allowed === 1 ? '' : 's'} allowed` : ''}.`,
    );
  } else {
    out.push(
      `\n${paint.bad(`${s.errors} error${s.errors === 1 ? '' : 's'}`)}, ${paint.warn(`${s.warnings} warning${s.warnings === 1 ? '' : 's'}`)}, ${s.allowed} allowed; ${audited} (fails on ${s.failOn}).`,
    );
  }
  if (r.dumpWritten) out.push(`catalog snapshot written to ${r.dumpWritten}`);
  return `${out.join('\n').replace(/^\n/, '')}\n`;
}

/** `{ findings, summary }` plus the servers' status, for scripts. */
export function auditJson(r: AuditGrantsResult): Record<string, unknown> {
  return {
    version: 1,
    command: r.command,
    fleet: r.fleet,
    outcome: r.outcome,
    findings: r.findings,
    summary: r.summary,
    servers: r.servers,
    ...(r.dumpWritten ? { dump: r.dumpWritten } : {}),
  };
}

// Characters XML 1.0 cannot carry (control characters other than tab, LF, CR; lone surrogates; U+FFFE/FFFF).
const XML_INVALID = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

function xml(text: string): string {
  return text
    .replace(XML_INVALID, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function findingLine(f: Finding): string {
  return `${f.severity}: ${f.account} on ${f.server}: ${f.message}\n  via ${f.via}${f.fix ? `\n  fix ${f.fix}` : ''}`;
}

/** JUnit XML: a testsuite per service, a testcase per rule; failing findings fail the case, allowed ones go to system-out. */
export function auditJunit(r: AuditGrantsResult): string {
  const suites: string[] = [];
  let totalTests = 0;
  let totalFailures = 0;
  let totalErrors = 0;
  for (const name of groups(r)) {
    const cases: string[] = [];
    let failures = 0;
    for (const rule of r.rules) {
      const list = r.findings.filter((f) => groupName(f) === name && f.rule === rule.id);
      const failing = list.filter((f) => f.severity !== 'allowed');
      const allowed = list.filter((f) => f.severity === 'allowed');
      let body = '';
      if (failing.length > 0) {
        failures++;
        const type = failing.some((f) => f.severity === 'error') ? 'error' : 'warning';
        body += `\n      <failure message="${xml(`${failing.length} finding${failing.length === 1 ? '' : 's'}: ${failing[0]!.message}`)}" type="${type}">${xml(failing.map(findingLine).join('\n'))}</failure>`;
      }
      if (allowed.length > 0) body += `\n      <system-out>${xml(allowed.map(findingLine).join('\n'))}</system-out>`;
      cases.push(
        `    <testcase classname="${xml(`dbps.audit-grants.${name}`)}" name="${xml(rule.id)}"${body ? `>${body}\n    </testcase>` : '/>'}`,
      );
    }
    totalTests += r.rules.length;
    totalFailures += failures;
    suites.push(
      `  <testsuite name="${xml(name)}" tests="${r.rules.length}" failures="${failures}" errors="0" skipped="0">\n${cases.join('\n')}\n  </testsuite>`,
    );
  }
  const unreachable = r.servers.filter((s) => s.status === 'unreachable');
  if (unreachable.length > 0) {
    const cases = unreachable.map(
      (s) =>
        `    <testcase classname="dbps.audit-grants.servers" name="${xml(s.server)} reachable">\n      <error message="${xml(s.error ?? 'unreachable')}" type="${xml(s.reason === undefined || s.reason === 'connect' ? 'unreachable' : s.reason === 'tls' ? 'tls' : `unreadable-${s.reason}`)}"/>\n    </testcase>`,
    );
    totalTests += unreachable.length;
    totalErrors += unreachable.length;
    suites.push(
      `  <testsuite name="servers" tests="${unreachable.length}" failures="0" errors="${unreachable.length}" skipped="0">\n${cases.join('\n')}\n  </testsuite>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="dbps audit-grants" tests="${totalTests}" failures="${totalFailures}" errors="${totalErrors}">\n${suites.join('\n')}\n</testsuites>\n`;
}

const SARIF_LEVEL = { error: 'error', warning: 'warning' } as const;

/** SARIF 2.1.0: one run, the rules as reportingDescriptors, each finding located at its service in services.yaml. */
export function auditSarif(r: AuditGrantsResult): Record<string, unknown> {
  const uri = r.file.replace(/\\/g, '/').replace(/^\.\//, '');
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'dbps',
            semanticVersion: r.toolVersion,
            informationUri: 'https://mariadb.com/kb/en/grant/',
            rules: r.rules.map((rule) => ({
              id: rule.id,
              name: rule.id.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase()),
              shortDescription: { text: rule.description },
              fullDescription: { text: rule.help },
              help: { text: rule.help },
              defaultConfiguration: { level: SARIF_LEVEL[rule.defaultSeverity as 'error' | 'warning'] ?? 'warning' },
            })),
          },
        },
        invocations: [
          {
            executionSuccessful: r.servers.every((s) => s.status === 'audited'),
            toolExecutionNotifications: r.servers
              .filter((s) => s.status === 'unreachable')
              .map((s) => ({
                level: 'error',
                message: { text: `server ${s.server} was not audited: ${s.error}${s.hint ? ` (${s.hint})` : ''}` },
              })),
          },
        ],
        results: r.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: r.rules.findIndex((x) => x.id === f.rule),
          ...(f.severity === 'allowed'
            ? { kind: 'pass', level: 'none' }
            : { kind: 'fail', level: SARIF_LEVEL[f.severity] }),
          message: { text: `${f.account} on server ${f.server}: ${f.message} (via ${f.via})` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri },
                region: { startLine: r.serviceLines[f.service ?? ''] ?? 1 },
              },
              logicalLocations: [{ name: f.account, fullyQualifiedName: `${f.server}/${f.account}`, kind: 'member' }],
            },
          ],
          partialFingerprints: { 'dbpsFinding/v1': [f.rule, f.server, f.account, f.object, f.via].join('|') },
          properties: {
            server: f.server,
            account: f.account,
            object: f.object,
            privilege: f.privilege,
            via: f.via,
            fix: f.fix,
            ...(f.service ? { service: f.service } : {}),
          },
        })),
      },
    ],
  };
}

/** The chosen format as the text to print or write. */
export function renderAudit(r: AuditGrantsResult, format: AuditFormat, paint: Paint): string {
  switch (format) {
    case 'text':
      return auditText(r, paint);
    case 'json':
      return `${JSON.stringify(auditJson(r), null, 2)}\n`;
    case 'junit':
      return auditJunit(r);
    case 'sarif':
      return `${JSON.stringify(auditSarif(r), null, 2)}\n`;
  }
}
