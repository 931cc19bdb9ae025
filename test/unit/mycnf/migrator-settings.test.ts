// Every my.cnf dbps writes (generated mycnf/ files for compose, the Kubernetes MariaDB's myCnf, and the
// file a local server starts with, which is the same renderer) lets a migrator create triggers and
// functions under log_bin, and runs the event scheduler where the profile says so.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { generatedFiles } from '../../../src/generate/files.js';
import { PROFILES } from '../../../src/mycnf/profiles.js';
import { ecommerceFleet, parseCnf } from '../../helpers/fleets.js';

describe('migrator settings in every generated my.cnf', () => {
  for (const version of ['10.11', '11.8']) {
    it(`MariaDB ${version}: mycnf files and the k8s MariaDB myCnf`, async () => {
      const fleet = ecommerceFleet(version);
      const files = await generatedFiles(fleet, ['mycnf', 'k8s']);
      const cnfs = new Map<string, string>();
      for (const f of files) {
        const m = /^mycnf\/(.+)\.cnf$/.exec(f.path);
        if (m) cnfs.set(`mycnf:${m[1]}`, f.content);
        if (f.kind === 'k8s') {
          for (const doc of parseAllDocuments(f.content)) {
            const js = doc.toJS() as { kind?: string; metadata?: { name: string }; spec?: { myCnf?: string } };
            if (js?.kind === 'MariaDB' && js.spec?.myCnf) cnfs.set(`k8s:${js.metadata!.name}`, js.spec.myCnf);
          }
        }
      }
      expect([...cnfs.keys()].filter((k) => k.startsWith('k8s:')).length).toBe(fleet.servers.length);
      expect([...cnfs.keys()].filter((k) => k.startsWith('mycnf:')).length).toBe(fleet.servers.length);
      for (const [where, text] of cnfs) {
        const o = parseCnf(text);
        expect(o.get('log_bin_trust_function_creators'), where).toBe('ON');
        const server = fleet.servers.find((s) => where.endsWith(`:${s.name}`) || where.includes(s.name))!;
        expect(o.get('event_scheduler'), where).toBe(PROFILES[server.profile].eventScheduler ? 'ON' : 'OFF');
      }
      expect(fleet.servers.some((s) => s.profile === 'oltp')).toBe(true);
    });
  }
});
