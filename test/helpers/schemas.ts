// JSON Schemas vendored under fixtures/schemas (third-party data files), compiled with Ajv draft-07.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { vendoredSchemas } from './fleets.js';

let ajv: Ajv | undefined;

function instance(): Ajv {
  if (!ajv) {
    // strict: false because these third-party schemas use union types Ajv's strict mode rejects.
    ajv = new Ajv({ strict: false, allErrors: true });
    // compose-spec.json names its meta-schema "https://json-schema.org/draft-07/schema" (https, no
    // '#'), which Ajv does not know: register draft-07 under that name too (see fixtures/schemas/README.md).
    const draft7 = ajv.getSchema('http://json-schema.org/draft-07/schema')!.schema as Record<string, unknown>;
    ajv.addMetaSchema({ ...draft7, $id: 'https://json-schema.org/draft-07/schema' });
  }
  return ajv;
}

/** A validator for a schema file under fixtures/schemas/. */
export function vendoredSchema(file: string): ValidateFunction {
  const schema = JSON.parse(readFileSync(path.join(vendoredSchemas, file), 'utf8')) as { $id?: string };
  const a = instance();
  return (schema.$id && a.getSchema(schema.$id)) || a.compile(schema);
}

/** Ajv errors as readable lines, for assertion messages. */
export function schemaErrors(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('\n');
}
