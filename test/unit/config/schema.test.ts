// The published JSON Schema is generated from src/config/schema.ts and must match it byte for byte,
// and the schema and the TypeScript types of services.yaml must name the same keys at every level.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { servicesSchema } from '../../../src/config/schema.js';
import type {
  AdminSpec,
  BackupSpec,
  DefaultsSpec,
  LinkSpec,
  ReadSpec,
  ServerSpec,
  ServiceSpec,
  ServicesFile,
  TlsSpec,
  UserSpec,
} from '../../../src/config/types.js';
import { repoRoot } from '../../helpers/fleets.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type PropsOf<S> = S extends { properties: infer P } ? keyof P & string : never;
type RequiredKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? never : K }[keyof T] & string;
type RequiredOf<S> = S extends { required: readonly (infer R)[] } ? R : never;

const root = servicesSchema;
const defaults = root.properties.defaults;
const server = root.properties.servers.additionalProperties;
const admin = server.properties.admin;
const tls = server.properties.tls;
const service = root.properties.services.additionalProperties;
const user = service.properties.users.items;
const read = service.properties.reads.items;
const link = service.properties.links.items;
const backup = service.properties.backup;

// Compile-time: `npm run typecheck` fails when a key is added to one side only.
const sameKeys: [
  Equal<PropsOf<typeof root>, keyof ServicesFile>,
  Equal<PropsOf<typeof defaults>, keyof DefaultsSpec>,
  Equal<PropsOf<typeof server>, keyof ServerSpec>,
  Equal<PropsOf<typeof admin>, keyof AdminSpec>,
  Equal<PropsOf<typeof tls>, keyof TlsSpec>,
  Equal<PropsOf<typeof service>, keyof ServiceSpec>,
  Equal<PropsOf<typeof user>, keyof UserSpec>,
  Equal<PropsOf<typeof read>, keyof ReadSpec>,
  Equal<PropsOf<typeof backup>, keyof BackupSpec>,
  Equal<PropsOf<typeof link>, keyof LinkSpec>,
  Equal<RequiredOf<typeof link>, RequiredKeys<LinkSpec>>,
  Equal<RequiredOf<typeof root>, RequiredKeys<ServicesFile>>,
  Equal<RequiredOf<typeof user>, RequiredKeys<UserSpec>>,
  Equal<RequiredOf<typeof read>, RequiredKeys<ReadSpec>>,
  Equal<RequiredOf<typeof admin>, RequiredKeys<AdminSpec>>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];

/** Property names (and which are required) of each interface in src/config/types.ts, read with the TypeScript parser. */
function interfacesOfTypesFile(): Map<string, { keys: string[]; required: string[] }> {
  const file = path.join(repoRoot, 'src', 'config', 'types.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out = new Map<string, { keys: string[]; required: string[] }>();
  for (const statement of source.statements) {
    if (!ts.isInterfaceDeclaration(statement)) continue;
    const keys: string[] = [];
    const required: string[] = [];
    for (const member of statement.members) {
      if (!ts.isPropertySignature(member)) continue;
      const name = member.name.getText(source).replace(/^['"]|['"]$/g, '');
      keys.push(name);
      if (!member.questionToken) required.push(name);
    }
    out.set(statement.name.text, { keys: keys.sort(), required: required.sort() });
  }
  return out;
}

describe('services.yaml schema', () => {
  it('schema/services.schema.json is what `npm run build` writes from src/config/schema.ts (not stale)', () => {
    const onDisk = readFileSync(path.join(repoRoot, 'schema', 'services.schema.json'), 'utf8');
    expect(onDisk).toBe(`${JSON.stringify(servicesSchema, null, 2)}\n`);
  });

  it('has every key of every interface in src/config/types.ts, and no other, at every level', () => {
    expect(sameKeys.every(Boolean)).toBe(true);
    const interfaces = interfacesOfTypesFile();
    const levels: [string, { properties: object; required?: readonly string[] }][] = [
      ['ServicesFile', root],
      ['DefaultsSpec', defaults],
      ['ServerSpec', server],
      ['AdminSpec', admin],
      ['TlsSpec', tls],
      ['ServiceSpec', service],
      ['UserSpec', user],
      ['ReadSpec', read],
      ['LinkSpec', link],
      ['BackupSpec', backup],
    ];
    // Every interface of the file format is checked (a new one must be added to the list above).
    expect([...interfaces.keys()].sort()).toEqual(levels.map(([name]) => name).sort());
    for (const [name, schema] of levels) {
      const declared = interfaces.get(name)!;
      expect(Object.keys(schema.properties).sort(), name).toEqual(declared.keys);
      expect([...(schema.required ?? [])].sort(), `${name} required`).toEqual(declared.required);
    }
  });

  it('closes every object to unknown keys, so typos are reported', () => {
    for (const schema of [root, defaults, server, admin, tls, service, user, read, backup]) {
      expect(schema.additionalProperties === false).toBe(true);
    }
  });

  it('compiles under Ajv strict mode as draft 2020-12', async () => {
    const { Ajv2020 } = await import('ajv/dist/2020.js');
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    const validate = ajv.compile(servicesSchema);
    expect(validate({ version: 1, fleet: 'shop', services: { orders: {} } })).toBe(true);
    expect(validate({ version: 1, fleet: 'shop', services: { orders: { memroy: '1G' } } })).toBe(false);
  });
});
