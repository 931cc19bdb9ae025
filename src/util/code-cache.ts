// A CommonJS bundle run through vm.Script with the V8 code cache kept beside it (`<file>.cache`, made
// at build time by scripts/bundle.mjs): the start-up of a command that connects then deserialises
// the connector's compiled code instead of compiling 600 KB of source. V8 checks the cache against the
// source and its own version and flags, and compiles as usual when it does not match (another Node).
import { readFileSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

function run(url: URL, useCache: boolean): { script: vm.Script; exports: unknown; file: string } {
  const file = fileURLToPath(url);
  const source = readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  if (useCache) {
    try {
      cachedData = readFileSync(`${file}.cache`);
    } catch {
      cachedData = undefined; // no cache (a build without one): compiled as usual
    }
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  return { script, exports: module.exports, file };
}

/** The connector bundle's exports, compiled from its code cache when that matches. */
export function loadConnector(url: URL): typeof import('mariadb') {
  return run(url, true).exports as typeof import('mariadb');
}

/** Writes `<file>.cache` for the connector bundle: the code V8 compiled while loading it. */
export function writeConnectorCache(url: URL): void {
  const { script, file } = run(url, false);
  writeFileSync(`${file}.cache`, script.createCachedData());
}
