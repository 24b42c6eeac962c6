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
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
