// The services.yaml schema as a validate function, loaded synchronously on first use. `npm run build`
// precompiles it (scripts/write-validator.mjs: Ajv standalone code, CommonJS, beside this module and
// beside the CLI bundle), so a command never loads Ajv's compiler; from source (tests) Ajv compiles it.
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import { AJV_OPTIONS } from './ajv-options.js';
import { servicesSchema } from './schema.js';

// Named apart from `require` so that the bundler leaves both loads to run time.
const load = createRequire(import.meta.url);

type Ajv2020Class = typeof import('ajv/dist/2020.js').Ajv2020;

export function loadValidator(): ValidateFunction {
  try {
    return load('./services-validator.cjs') as ValidateFunction;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
  }
  // ajv is CommonJS: its class is the module itself, with itself as `Ajv2020` and `default`.
  const ajv = load('ajv/dist/2020.js') as { Ajv2020?: Ajv2020Class; default?: Ajv2020Class };
  const Ajv2020 = ajv.Ajv2020 ?? ajv.default;
  if (!Ajv2020) throw new Error('ajv/dist/2020.js has no Ajv2020 export');
  return new Ajv2020(AJV_OPTIONS).compile(servicesSchema);
}
