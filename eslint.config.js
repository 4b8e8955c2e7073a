// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Workflow code is replayed by Temporal and must stay deterministic: no Node builtins, no I/O, no clocks
// or time-zone libraries (those belong in activities).
const forbiddenInWorkflows = [
  ...builtinModules,
  ...builtinModules.map((name) => `node:${name}`),
  'postgres',
  'drizzle-orm',
  'twilio',
  'nodemailer',
  'smtp-server',
  'i18next',
  'luxon',
  'pino',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

export default tseslint.config(
  // dist/ holds the workflow bundle `npm run build` (and `npm test`) writes: generated, like the migrations.
  { ignores: ['node_modules/', '.carebell/', 'db/migrations/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test'] },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // domain/ is imported by workflows, so it obeys the same rules.
    files: ['workflows/**/*.ts', 'domain/**/*.ts', 'bench/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: forbiddenInWorkflows.map((name) => ({
            name,
            message: 'Workflows must be deterministic: do I/O and time-zone work in an activity.',
            allowTypeImports: true,
          })),
          patterns: [
            {
              group: [
                'drizzle-orm/*',
                '**/db/**',
                '**/channels/**',
                '**/infra/**',
                '**/usecases/**',
                '**/rules/**',
                '**/worker/**',
                '**/lib/**',
                '**/locales/**',
                '**/security/**',
                '**/config/**',
              ],
              message: 'Workflows import only workflows/, domain/ and types: no I/O, no zone arithmetic.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
