// @ts-check
import js from '@eslint/js';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * typescript-eslint's strict, type-checked rules on every TypeScript file, an import-cycle rule,
 * and a line length. Product code also keeps functions short (about 60 lines: a longer one is a
 * sequence of named steps waiting to be written down).
 */
export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'cdk.out/', 'coverage/', '.usage-tracker/', 'contracts/generated/', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'max-len': ['error', { code: 180, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreComments: false }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    // In a test, a value that is not there fails the very next assertion (or throws, failing the test),
    // which is what `!` would hide in product code.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['bin/**/*.ts', 'lib/**/*.ts', 'lambdas/**/*.ts', 'local/**/*.ts', 'sdk/**/*.ts', 'client/**/*.ts', 'contracts/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }] },
  },
);
