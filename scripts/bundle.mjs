// Bundles the built CLI (dist/cli.js and everything it imports, dependencies included) into
// dist/bundle/: one entry plus one chunk per lazily imported command. Start-up then reads a handful
// of files instead of ~300 modules (dbps's own and its dependencies'), which is most of what a short
// command costs on a slow disk or a busy machine. Runs last in `npm run build`, after the build id.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

// iconv-lite's CJK code tables (400 KB of JSON) are required only when a connection uses such a
// character set, which dbps's never do (utf8mb4). Bundled, every start-up would still parse them; kept
// out, they load from the connector's own iconv-lite on first use, exactly as without the bundle.
const lazyIconvTables = {
  name: 'lazy-iconv-tables',
  setup(b) {
    b.onResolve({ filter: /^\.\/tables\/[a-z0-9-]+\.json$/ }, (args) =>
      /[\\/]iconv-lite[\\/]encodings$/.test(args.resolveDir)
        ? { path: args.path.slice('./tables/'.length), namespace: 'iconv-table' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'iconv-table' }, (args) => ({
      contents: `const { createRequire } = require('node:module');
module.exports = createRequire(require.resolve('mariadb'))(${JSON.stringify(`iconv-lite/encodings/tables/${args.path}`)});`,
      loader: 'js',
    }));
  },
};

// The connector is the largest module a command loads (600 KB of source; a quarter of a short
// command's start-up is V8 compiling it). It is bundled apart as one CommonJS file that the CLI runs
// through vm.Script with a V8 code cache made at build time, so start-up deserialises compiled code
// instead of compiling it. The cache is checked by V8 against the source and its own version and
// flags; on any mismatch (another Node) it is rejected and the file compiles as usual.
const cachedConnector = {
  name: 'cached-connector',
  setup(b) {
    b.onResolve({ filter: /^mariadb$/ }, (args) =>
      args.importer.includes(`${root}dist`) ? { path: 'mariadb', namespace: 'cached-connector' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'cached-connector' }, () => ({
      contents: `import { loadConnector } from ${JSON.stringify(`${root}dist/util/code-cache.js`)};
const connector = loadConnector(new URL('./mariadb.cjs', import.meta.url));
export const createConnection = connector.createConnection;
export default connector;`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [require.resolve('mariadb')],
  outfile: `${outdir}/mariadb.cjs`,
  bundle: true,
  format: 'cjs',
  // Only the lazy code tables name it (require.resolve, at run time, to find iconv-lite beside it).
  external: ['mariadb'],
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  plugins: [lazyIconvTables],
});
await build({
  entryPoints: [`${root}dist/cli.js`],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // CommonJS dependencies (mariadb, ajv's runtime) call require() for Node's own modules.
  banner: { js: "import { createRequire as __dbpsRequire } from 'node:module'; const require = __dbpsRequire(import.meta.url);" },
  logLevel: 'warning',
  plugins: [lazyIconvTables, cachedConnector],
});
// The precompiled services.yaml validator is imported by a computed path (from source it does not
// exist and the schema is compiled instead), so the bundler leaves it out: put it beside the chunks.
copyFileSync(`${root}dist/config/services-validator.js`, `${outdir}/services-validator.js`);
// The connector's code cache, made by running the connector's module once in a child process (the
// functions compiled then are what every command's start-up compiles).
execFileSync(process.execPath, ['--input-type=module', '-e', `import { writeConnectorCache } from ${JSON.stringify(`${root}dist/util/code-cache.js`)}; writeConnectorCache(new URL(${JSON.stringify(`file://${outdir}/mariadb.cjs`)}));`], { stdio: 'inherit' });
