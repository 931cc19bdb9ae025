// Bundles the built CLI (dist/cli.js and everything it imports, dependencies included) into
// dist/bundle/: one entry plus one chunk per lazily imported command. Start-up then reads a handful
// of files instead of ~300 modules (dbps's own and its dependencies'), which is most of what a short
// command costs on a slow disk or a busy machine. Runs last in `npm run build`, after the build id.
import { build } from 'esbuild';
import { copyFileSync, rmSync } from 'node:fs';
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
      contents: `const { createRequire } = require('node:module');
module.exports = createRequire(require.resolve('mariadb'))(${JSON.stringify(`iconv-lite/encodings/tables/${args.path}`)});`,
      loader: 'js',
    }));
  },
};

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
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
  plugins: [lazyIconvTables],
});
// The precompiled services.yaml validator is imported by a computed path (from source it does not
// exist and the schema is compiled instead), so the bundler leaves it out: put it beside the chunks.
copyFileSync(`${root}dist/config/services-validator.js`, `${outdir}/services-validator.js`);
