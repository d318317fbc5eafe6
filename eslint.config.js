// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/** Import restrictions that keep the process boundaries of DESIGN.md honest. */
const boundaries = {
  shared: {
    paths: [...nodeBuiltins, 'electron', 'react', 'react-dom', 'ws', 'pino', 'simple-peer', '@roamhq/wrtc', 'x11'],
    patterns: [{ group: ['**/main/**', '**/preload/**', '**/renderer/**', '**/broker/**', '**/host/**', '**/demo/**'], message: 'src/shared must not depend on a program.' }],
  },
  renderer: {
    paths: [...nodeBuiltins, 'electron', 'ws', 'pino', '@roamhq/wrtc', 'x11'],
    patterns: [{ group: ['**/main/**', '**/preload/**', '**/broker/**', '**/host/**', '**/demo/**'], message: 'The renderer talks to other programs only over the bridge or the network.' }],
  },
  preload: {
    paths: [],
    patterns: [{ group: ['**/renderer/**', '**/broker/**', '**/host/**', '**/demo/**'], message: 'The preload only bridges main and renderer.' }],
  },
  main: {
    paths: [],
    patterns: [{ group: ['**/renderer/**', '**/broker/**', '**/host/**'], message: 'Main talks to the broker over HTTP, never by import.' }],
  },
  broker: {
    paths: ['electron', 'react'],
    patterns: [{ group: ['**/main/**', '**/preload/**', '**/renderer/**', '**/host/**', '**/demo/**'], message: 'The broker is its own program.' }],
  },
  host: {
    paths: ['electron', 'react'],
    patterns: [{ group: ['**/main/**', '**/preload/**', '**/renderer/**', '**/broker/**', '**/demo/**'], message: 'The host agent is its own program.' }],
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'release/**', 'node_modules/**', 'bench/tmp/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // One config per environment (see tsconfig.*.json); a file is checked with the first that includes it.
        project: ['./tsconfig.shared.json', './tsconfig.web.json', './tsconfig.node.json', './tsconfig.test.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      eqeqeq: ['error', 'always'],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  ...Object.entries(boundaries).map(([dir, rule]) => ({
    files: [`src/${dir}/**/*.{ts,tsx}`],
    rules: { 'no-restricted-imports': ['error', rule] },
  })),
  {
    // Command-line entry points and scripts print to the terminal by design.
    files: ['scripts/**', 'src/**/cli.ts', 'src/demo/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Tests assert on wire JSON with toEqual/toMatchObject, which is where its
    // shape is checked; typing every reply first would only restate the schemas.
    files: ['tests/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
);
