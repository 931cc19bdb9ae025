import path from 'node:path';
import { UsageError } from '../../errors.js';
import { OUTPUT_KINDS } from '../../generate/files.js';
import { CI_INSTALL_REPO, fileOptionsFromFlags, parseKinds } from '../../generate/flags.js';
import { count } from '../../util/count.js';
import type { CommandSpec } from '../spec.js';

export const generateSpec: CommandSpec = {
  name: 'generate',
  summary: 'write my.cnf per server, docker compose, prometheus and a picture of the fleet',
  description:
    'Generate files derived from services.yaml: mycnf/<server>.cnf from each workload profile, docker-compose.yml,\nprometheus/prometheus.yml, fleet.md (a Mermaid picture), k8s/ (mariadb-operator manifests, NetworkPolicy per server,\nkustomization.yaml) and .github/workflows/dbps.yml (CI: generate it with --out . or copy it). Output is deterministic.\nOnly with --only systemd: systemd/ (per backup.schedule a .service + .timer running `dbps backup` and `backups prune\n--retention`, per `binlogs: follow` server a `dbps binlogs follow` service, and the same schedules as crontab lines). With --check, nothing is\nwritten and the command exits 1 naming each file that is stale or missing.',
  // --generate-secrets stores passwords in secrets.env; plain generate writes only its output dir.
  writes: ({ opts }) => opts.generateSecrets !== undefined,
  options: [
    { flags: '--out <dir>', help: 'output directory', defaultValue: 'generated' },
    { flags: '--only <kinds>', help: `comma list of ${OUTPUT_KINDS.join(', ')}` },
    { flags: '--check', help: 'exit 1 when files on disk differ from what would be generated' },
    { flags: '--namespace <ns>', help: 'k8s: namespace of every resource (and a Namespace object)' },
    { flags: '--physical-backups', help: 'k8s: PhysicalBackup (mariadb-backup) instead of logical Backup' },
    {
      flags: '--operator-metrics',
      help: 'k8s: let the operator run the exporter as dbps_monitor (it then grants SELECT ON *.*)',
    },
    {
      flags: '--generate-secrets <file>',
      help: 'k8s: write random account passwords to FILE (0600, for a secret manager; refused inside --out or a git work tree unless git-ignored)',
    },
    {
      flags: '--systemd-dbps <command>',
      help: 'systemd: how the units run dbps on that machine, an absolute path (and arguments), default /usr/local/bin/dbps',
    },
    {
      flags: '--systemd-file <path>',
      help: 'systemd: services.yaml on that machine (default: the -f file, made absolute); the units run in its directory',
    },
    {
      flags: '--ci-install <spec>',
      help: `ci: how the job installs dbps: "${CI_INSTALL_REPO}" (npm ci; default when package.json and its lock file list dbps) or what npm install --global takes: a tarball from npm pack or a git URL (without either the job's install step fails and says so: dbps is on no registry)`,
    },
  ],
  examples: [
    'dbps generate',
    'dbps generate --only systemd --systemd-dbps /usr/local/bin/dbps --out /etc/dbps/units',
    'dbps generate --only mycnf,compose --out deploy',
    'dbps generate --check   # in CI',
    'dbps generate --only k8s --namespace shop --generate-secrets ~/shop-secrets.yaml',
    'dbps generate --only ci --out . --ci-install github:acme/dbps#v0.1.0',
  ],
  exitCodes: {
    0: 'written, or up to date with --check',
    1: 'stale or missing files (--check)',
    2: 'invalid services.yaml, bad option, or an --out that is not a writable directory',
    3: 'a generated file could not be written or removed',
  },
  async run({ opts, io }) {
    const kinds = parseKinds(opts.only === undefined ? undefined : String(opts.only));
    const { run, STALE_STATUSES } = await import('../../commands/generate.js');
    const outDir = path.resolve(String(opts.out));
    const cwd = process.cwd();
    const needsRepo = kinds.includes('ci') && opts.ciInstall === undefined;
    const repoListsDbps = needsRepo && (await (await import('../../generate/repo-io.js')).repoListsDbps(cwd));
    const { VERSION } = await import('../../version.js');
    const fileOptions = fileOptionsFromFlags(opts, {
      cwd,
      fleetFile: io.opts.file,
      outDir,
      kinds,
      repoListsDbps,
      version: VERSION,
    });
    const generateSecrets = opts.generateSecrets === undefined ? undefined : path.resolve(String(opts.generateSecrets));
    if (generateSecrets && !kinds.includes('k8s'))
      throw new UsageError("--generate-secrets fills the k8s output's Secrets; add k8s to --only");
    const result = await run({
      file: io.opts.file,
      outDir,
      kinds,
      check: opts.check === true,
      fileOptions,
      ...(generateSecrets ? { generateSecrets } : {}),
    });
    const shownDir = path.relative(process.cwd(), outDir) || '.';
    if (io.opts.json) {
      io.json({ version: 1, ...result, outDir: shownDir });
    } else {
      const p = io.paint;
      const lines = result.files
        .filter((f) => !io.opts.quiet || f.status !== 'unchanged')
        .map((f) => {
          const mark =
            f.status === 'written' || f.status === 'removed'
              ? p.ok(f.status)
              : f.status === 'unchanged'
                ? p.dim(f.status)
                : p.bad(f.status);
          return `${mark.padEnd(9)} ${path.join(shownDir, f.path)}`;
        });
      const stale = result.files.filter((f) => STALE_STATUSES.includes(f.status)).length;
      const removed = result.files.filter((f) => f.status === 'removed').length;
      const summary = result.check
        ? stale
          ? `${stale} generated file${stale === 1 ? ' is' : 's are'} stale, missing or obsolete; run \`dbps generate\` and commit the result`
          : `all ${result.files.length} generated files are up to date`
        : `${result.files.filter((f) => f.status === 'written').length} written, ${result.files.filter((f) => f.status === 'unchanged').length} unchanged${removed ? `, ${removed} removed` : ''} in ${shownDir}/`;
      io.out(`${lines.join('\n')}${lines.length ? '\n' : ''}${summary}\n`);
      if (result.secretsFile)
        io.info(
          `${count(result.secretsFile.secrets, 'password')} written to ${result.secretsFile.path} (mode 0600): load it into your secret manager, never commit it`,
        );
      if (!result.check && fileOptions.ci?.install?.kind === 'unset' && kinds.includes('ci'))
        io.info(
          'note: the CI workflow does not say where dbps comes from (dbps is on no registry), so its install step fails until you regenerate with --ci-install repo or --ci-install <tarball or git URL>',
        );
    }
    return result.outcome === 'findings' ? 1 : 0;
  },
};
