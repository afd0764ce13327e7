// Lint rules: typescript-eslint's recommended set, plus the room boundaries from the design
// (only src/pbx speaks ARI/AMI; compliance rule code imports no I/O).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/pbx/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [
        { name: 'ari-client', message: 'Only src/pbx/ speaks ARI.' },
        { name: 'asterisk-manager', message: 'Only src/pbx/ speaks AMI.' },
      ] }],
    },
  },
  {
    files: ['src/compliance/rules/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['pg', 'ioredis', 'bullmq', 'kysely', 'node:*', 'ari-client', 'asterisk-manager', '../../db/*'] }],
    },
  },
);
