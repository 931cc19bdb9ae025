// Bundles the built CLI (dist/cli.js and everything it imports, dependencies included) into one
// CommonJS file, dist/bundle/cli.cjs, that bin/dbps.js runs through vm.Script with a V8 code cache
// (src/util/code-cache.ts). Start-up then reads one file instead of ~300 modules, and deserialises
// compiled code instead of compiling 3 MB of source: a third of what a short command costs. Runs
// last in `npm run build`, after the build id.
import { build } from 'esbuild';
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
      // Resolved from the connector's place at run time (a name, not a literal: the connector itself is bundled).
      contents: `const { createRequire } = require('node:module');
const connector = 'mariadb';
module.exports = createRequire(require.resolve(connector))(${JSON.stringify(`iconv-lite/encodings/tables/${args.path}`)});`,
      loader: 'js',
    }));
  },
};

// The bundle runs as a vm.Script from a code cache, where import() cannot load anything (V8 keeps no
// loader for it in the cache). Node's own modules, the only ones still imported lazily, are required instead.
const builtinDynamicImports = {
  name: 'builtin-dynamic-imports',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, namespace: 'builtin-require' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [`${root}dist/cli.js`],
  outfile: `${outdir}/cli.cjs`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Modules that name their own file (import.meta.url) get the bundle's.
  define: { 'import.meta.url': '__dbpsModuleUrl' },
  banner: { js: "const __dbpsModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
  plugins: [lazyIconvTables, builtinDynamicImports],
  minifyWhitespace: true,
  minifySyntax: true,
});
const code = readFileSync(`${outdir}/cli.cjs`, 'utf8');
const left = /\bimport\(\s*["'`a-zA-Z_]/.exec(code);
if (left) throw new Error(`dist/bundle/cli.cjs still calls import(): ${code.slice(left.index - 80, left.index + 80)}`);
// The precompiled services.yaml validator, loaded at run time from beside the bundle (src/config/validator.ts).
copyFileSync(`${root}dist/config/services-validator.cjs`, `${outdir}/services-validator.cjs`);
