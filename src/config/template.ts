// Builds the text of a new services.yaml from a template; pure (the caller reads and writes files).
import { isMap, parseDocument, YAMLMap } from 'yaml';

export { TEMPLATES, type TemplateName } from './template-names.js';

/**
 * Returns the template text for an isolation mode. `schema` moves every service onto one shared
 * server (its profile and memory move to that server); comments are kept.
 */
export function renderTemplate(templateText: string, isolation: 'instance' | 'schema', schemaRef: string): string {
  const doc = parseDocument(templateText);
  if (isolation === 'schema') {
    const services = doc.get('services');
    let total = 0;
    if (isMap(services)) {
      for (const item of services.items) {
        const svc = item.value;
        if (!isMap(svc)) continue;
        const mem = String(svc.get('memory') ?? '512M');
        total += mem.endsWith('G') ? Number.parseFloat(mem) * 1024 : Number.parseFloat(mem);
        svc.delete('profile');
        svc.delete('memory');
        svc.items.unshift(doc.createPair('server', 'shared') as (typeof svc.items)[number]);
      }
    }
    const servers = new YAMLMap();
    const shared = doc.createNode({
      driver: 'local',
      profile: 'oltp',
      memory: `${Math.max(1, Math.ceil(total / 1024 / 2))}G`,
    });
    shared.flow = true;
    servers.set('shared', shared);
    doc.set('servers', servers);
  }
  return `# yaml-language-server: $schema=${schemaRef}\n${doc.toString({ lineWidth: 0 })}`;
}
