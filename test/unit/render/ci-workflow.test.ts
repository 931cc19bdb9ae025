// The generated GitHub Actions workflow: valid against SchemaStore's github-workflow schema, runs
// validate, generate --check with the same flags, and the offline grant audit with SARIF upload.

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fileOptionsFromFlags, parseKinds } from '../../../src/generate/flags.js';
import { renderCiWorkflow } from '../../../src/render/ci-workflow.js';
import { fleetOf } from '../../helpers/fleets.js';
import { ecommerceText } from '../../helpers/k8s-fleets.js';
import { schemaErrors, vendoredSchema } from '../../helpers/schemas.js';

const fleet = fleetOf(ecommerceText());

describe('CI workflow', () => {
  const ci = fileOptionsFromFlags(
    { namespace: 'shop', physicalBackups: true },
    { cwd: '/repo', fleetFile: 'deploy/services.yaml', outDir: '/repo', version: '0.1.0' },
  ).ci!;
  const text = renderCiWorkflow(fleet, {
    fleetFile: ci.fleetFile!,
    outDir: ci.outDir!,
    generateFlags: ci.generateFlags!,
    install: ci.install!,
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
    const validate = vendoredSchema('github-workflow.json');
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

  it('records --only (in output order) and every flag that shapes the output, and nothing for the defaults', () => {
    const where = { cwd: '/repo', fleetFile: 'services.yaml', outDir: '/repo', version: '1.2.3' };
    expect(
      fileOptionsFromFlags(
        { only: 'ci,k8s', namespace: 'shop', operatorMetrics: true },
        { ...where, kinds: parseKinds('ci,k8s') },
      ).ci!.generateFlags,
    ).toStrictEqual(['--only', 'k8s,ci', '--namespace', 'shop', '--operator-metrics']);
    expect(fileOptionsFromFlags({}, where).ci!.generateFlags).toStrictEqual([]);
    expect(fileOptionsFromFlags({ ciInstall: 'repo' }, where).ci!.generateFlags).toStrictEqual([
      '--ci-install',
      'repo',
    ]);
    expect(
      fileOptionsFromFlags({ only: 'mycnf' }, { ...where, kinds: parseKinds('mycnf') }).ci!.generateFlags,
    ).toStrictEqual(['--only', 'mycnf']);
  });

  it('installs dbps the way --ci-install says: npm ci for "repo" (the default when package.json lists dbps), else npm install --global', () => {
    const where = { cwd: '/r', fleetFile: 's.yaml', outDir: '/r/generated', version: '0.1.0' };
    const installRun = (flags: { ciInstall?: string }, repoListsDbps = false) => {
      const ci = fileOptionsFromFlags(flags, { ...where, repoListsDbps }).ci!;
      const wf = parse(
        renderCiWorkflow(fleet, {
          fleetFile: ci.fleetFile!,
          outDir: ci.outDir!,
          generateFlags: ci.generateFlags!,
          install: ci.install!,
        }),
      ) as { jobs: { dbps: { steps: { name?: string; run?: string }[] } } };
      const steps = wf.jobs.dbps.steps;
      return {
        install: steps.find((s) => s.name?.startsWith('Install dbps'))!.run!,
        check: steps.find((s) => s.run?.includes('--check'))!.run!,
      };
    };
    // Nothing says where dbps comes from: the step fails with the fix, never a guessed registry name.
    const unset = installRun({});
    expect(unset.install).toMatch(/^echo "::error::.*--ci-install repo.*"\nexit 1\n$/);
    expect(unset.install).not.toMatch(/npm install/);
    expect(unset.check).toBe('dbps generate -f s.yaml --check --out generated');
    // dbps is on no registry: its bare name would install whatever someone registered under it.
    expect(() => installRun({ ciInstall: 'dbps@0.1.0' })).toThrow(/names a registry package/);
    expect(() => installRun({ ciInstall: 'dbps' })).toThrow(/names a registry package/);
    expect(installRun({ ciInstall: './vendor/dbps-0.1.0.tgz' })).toStrictEqual({
      install: 'npm install --global ./vendor/dbps-0.1.0.tgz',
      check: 'dbps generate -f s.yaml --check --out generated --ci-install ./vendor/dbps-0.1.0.tgz',
    });
    expect(installRun({}, true).install).toBe('npm ci\necho "$PWD/node_modules/.bin" >> "$GITHUB_PATH"\n');
    expect(installRun({}, true).check).toContain('--ci-install repo');
    expect(installRun({ ciInstall: 'github:acme/dbps#v0.1.0' }).install).toBe(
      "npm install --global 'github:acme/dbps#v0.1.0'",
    );
    expect(() => installRun({ ciInstall: '' })).toThrow(/--ci-install/);
    expect(() => fileOptionsFromFlags({ ciInstall: 'repo' }, { ...where, kinds: ['k8s'] })).toThrow(
      /--ci-install shapes the ci output/,
    );
  });

  it('--only with no kind, and k8s flags without k8s, are usage errors', () => {
    expect(() => parseKinds(',')).toThrow(/names no output/);
    expect(() => parseKinds('')).toThrow(/names no output/);
    const where = { cwd: '/', fleetFile: 's.yaml', outDir: '/', kinds: parseKinds('mycnf,ci') };
    expect(() => fileOptionsFromFlags({ namespace: 'shop' }, where)).toThrow(/--namespace shapes the k8s output/);
    expect(() => fileOptionsFromFlags({ physicalBackups: true }, where)).toThrow(/--physical-backups/);
  });

  it('a bad --namespace is a usage error', () => {
    expect(() =>
      fileOptionsFromFlags({ namespace: 'Shop_Prod' }, { cwd: '/', fleetFile: 's.yaml', outDir: '/' }),
    ).toThrow(/namespace/);
  });
});
