// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/**
 * Workflow code must stay deterministic: it runs inside Temporal's sandbox and is
 * replayed. Node built-ins, network clients and databases belong in activities.
 */
const forbiddenInWorkflows = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  '@livekit/*',
  'livekit-server-sdk',
  '@nats-io/*',
  'pg',
  'kysely',
  'pino',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.stack/**', '.build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test tracks the promises its own functions return.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: forbiddenInWorkflows,
              message: 'Workflows are deterministic: Node built-ins and server clients belong in activities.',
              allowTypeImports: true,
            },
            {
              group: ['../activities/*', '../activities/**'],
              message: 'Workflows import activities as types only (proxyActivities<typeof ...>).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The operations console's browser modules: plain JavaScript served as is, outside
    // the TypeScript project, so linted without type information.
    files: ['api/console/public/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'history', 'fetch', 'sessionStorage', 'getComputedStyle', 'setTimeout', 'clearTimeout', 'queueMicrotask', 'URLSearchParams', 'Intl', 'Node', 'HTMLElement', 'HTMLButtonElement', 'HTMLTableCellElement', 'HTMLTableRowElement', 'HTMLTableSectionElement', 'EventListener', 'AbortSignal', 'console'].map((g) => [g, 'readonly']),
      ),
    },
  },
);
