import type { CodegenConfig } from '@graphql-codegen/cli';

/** Typed operations for the tests (and for clients): generated offline from the committed SDL. */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['tests/operations/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'tests/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        emitLegacyCommonJSImports: false,
        useTypeImports: true,
        scalars: { DateTime: 'string', Decimal: 'string', BigInt: 'string', JSON: 'unknown' },
        enumsAsTypes: true,
      },
    },
  },
};

export default config;
