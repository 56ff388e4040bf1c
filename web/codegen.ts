// GraphQL Code Generator: types for every operation in src/**/*.graphql,
// from the server's own schema (../graph/*.graphqls). `npm run codegen`
// regenerates src/gql/; `make test` fails when the committed output is stale.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../graph/*.graphqls',
  documents: ['src/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { Time: 'string', Date: 'string', Upload: 'File' },
        strictScalars: true,
      },
    },
  },
};

export default config;
