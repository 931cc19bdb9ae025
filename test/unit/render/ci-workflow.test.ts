// The generated GitHub Actions workflow: valid against SchemaStore's github-workflow schema, runs
// validate, generate --check with the same flags, and the offline grant audit with SARIF upload.

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fileOptionsFromFlags } from '../../../src/generate/flags.js';
import { renderCiWorkflow } from '../../../src/render/ci-workflow.js';
import { fleetOf } from '../../helpers/fleets.js';
import { ecommerceText } from '../../helpers/k8s-fleets.js';
import { schemaErrors, sharedSchema } from '../../helpers/schemas.js';

const fleet = fleetOf(ecommerceText());

describe('CI workflow', () => {
  const ci = fileOptionsFromFlags(
    { namespace: 'shop', physicalBackups: true },
    { cwd: '/repo', fleetFile: 'deploy/services.yaml', outDir: '/repo' },
  ).ci!;
  const text = renderCiWorkflow(fleet, {
    fleetFile: ci.fleetFile!,
    outDir: ci.outDir!,
    generateFlags: ci.generateFlags!,
    dbpsVersion: '0.1.0',
  });
  const workflow = parse(text) as {
    on: unknown;
    jobs: {
      dbps: {
        steps: { run?: string; uses?: string; if?: string; with?: Record<string, string> }[];
        permissions: Record<string, string>;
      };
    };
  };

  it('validates against the github-workflow schema', () => {
    const validate = sharedSchema('github-workflow.json');
    expect(validate(workflow), schemaErrors(validate)).toBe(true);
    const broken = { ...workflow, jobs: { dbps: { ...workflow.jobs.dbps, 'runs-onn': 'x' } } };
    expect(validate(broken)).toBe(false);
  });

  it('runs validate, generate --check with the same flags and out dir, and the SARIF audit', () => {
    const runs = workflow.jobs.dbps.steps.map((s) => s.run).filter(Boolean);
    expect(runs).toContain('dbps validate -f deploy/services.yaml');
    expect(runs).toContain('dbps generate -f deploy/services.yaml --check --out . --namespace shop --physical-backups');
    expect(runs).toContain(
      'dbps audit-grants -f deploy/services.yaml --from-dump dbps-grants.json --format sarif --output dbps.sarif',
    );
    const upload = workflow.jobs.dbps.steps.find((s) => s.uses?.startsWith('github/codeql-action/upload-sarif'))!;
    expect(upload.with!.sarif_file).toBe('dbps.sarif');
    expect(upload.if).toContain('always()');
    expect(workflow.jobs.dbps.permissions['security-events']).toBe('write');
  });

  it('a bad --namespace is a usage error', () => {
    expect(() =>
      fileOptionsFromFlags({ namespace: 'Shop_Prod' }, { cwd: '/', fleetFile: 's.yaml', outDir: '/' }),
    ).toThrow(/namespace/);
  });
});
