// Lint: typescript-eslint's recommended rules, plus guards for workflow determinism.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**', 'bench/results/**', 'workflow-bundle-*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Workflows run in Temporal's deterministic sandbox: no I/O modules, no activity implementations.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'http', 'https', 'crypto', 'pg', 'knex', 'express', 'winston'], message: 'Workflows must stay deterministic: do I/O in activities.' },
            { group: ['../activities', '../activities/*', '../db/*', '../api/*'], allowTypeImports: true, message: 'Workflows import activity and database code as types only.' },
          ],
        },
      ],
    },
  },
);
