// Ajv options for the services.yaml schema, shared by the runtime compile and the build-time precompile.
// `unicode: false` keeps the standalone code free of runtime requires (names are ASCII anyway).
export const AJV_OPTIONS = {
  allErrors: true,
  strict: true,
  allowUnionTypes: true,
  verbose: true,
  unicode: false,
} as const;
