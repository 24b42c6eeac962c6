import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      'node_modules/',
      '.wrangler/',
      '.data/',
      'coverage/',
      'dist/',
      'bench/results/',
      'worker-configuration.d.ts',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Template literals with numbers are fine; with objects they are the bug this rule exists for.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // Floating promises lose work on Workers unless handed to waitUntil: keep this an error.
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    // Integration tests reach the Worker through the helpers, which check every response against
    // the OpenAPI document (test/helpers/contract.ts).
    files: ['test/integration/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'cloudflare:test',
              importNames: ['SELF'],
              message:
                'Use selfFetch from test/helpers/test-app.ts: it checks the response against the OpenAPI document.',
            },
          ],
          patterns: [
            {
              group: ['**/src/app.ts'],
              importNames: ['createApp'],
              message:
                'Use setupTestApp from test/helpers/test-app.ts: it checks every response against the OpenAPI document.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
