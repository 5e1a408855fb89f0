// One lint configuration for the whole repository: typescript-eslint, type-aware
// (strict), over every package's sources and every test. `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'test-output/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // The packages' own projects, and one for the tests and scripts (tsconfig.tests.json).
        project: [
          './tsconfig.tests.json',
          './packages/*/tsconfig.json',
          './services/*/tsconfig.json',
          './infra/*/tsconfig.json',
          './e2e/tsconfig.json',
          './bench/tsconfig.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Numbers and booleans in template literals are how messages and keys are built here.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `void promise` marks a deliberate fire-and-forget; node:test's describe/it return promises nobody awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          ignoreVoid: true,
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // With noUncheckedIndexedAccess, `list[i]!` after a bounds check is the honest way to say "this exists".
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `(x) => doSomething(x)` as a callback is how listeners are written here.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Rejections here come from node, ws and ioredis, which reject with Errors; `(err: Error) => err.message` says so.
      '@typescript-eslint/use-unknown-in-catch-callback-variable': 'off',
      // `$<HTMLInputElement>('id')`, `readSettings<S, Config>`: a type parameter used once names what the caller gets.
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
    },
  },
  {
    // Tests: `let node: GatewayProcess` is set in before() and `node?.kill()` in after() guards a before() that
    // failed, which the types cannot know; fakes implement async interfaces without awaiting.
    files: ['**/test/**/*.ts', 'e2e/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
