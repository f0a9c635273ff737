// The lint gate (make lint): typescript-eslint's type-checked recommended rules over every
// package's sources and tests (tsconfig.eslint.json). A rule switched off says why, on its line.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'cdk8s/src/imports/**', 'cdk8s/dist-manifests/**', 'reports/**', '.local/**', 'charts/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { project: './tsconfig.eslint.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The ports are async interfaces; adapters and fakes that need no await still return a
      // promise, so that a throw reaches the caller as a rejection, as the contract says.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore marks a binding kept on purpose (a destructured field left out, an
      // argument an interface imposes).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/*.itest.ts', '**/*.e2e.ts', '**/*.burst.ts'],
    rules: {
      // Tests read driver rows and JSON whose shape the assertion itself checks.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
