// Bundles the Electron main process and preload with esbuild.
//
// Both are CommonJS: the preload because sandboxed preloads are loaded with a
// CommonJS `require` that only knows 'electron'; main for symmetry and because
// package.json's "type": "module" would otherwise make `.js` mean ESM (hence
// the `.cjs` extension). Everything except 'electron' is bundled in, so the
// packaged app needs no node_modules at run time.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Electron 45 ships Node 22 and Chromium 140. */
const NODE_TARGET = 'node22';
const CHROME_TARGET = 'chrome140';

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  external: ['electron'],
  sourcemap: true,
  logLevel: 'warning',
  absWorkingDir: root,
  legalComments: 'linked',
};

/** Builds dist/main/main.cjs and dist/preload/preload.cjs. */
export async function buildElectron() {
  await Promise.all([
    build({ ...common, entryPoints: ['src/main/main.ts'], outfile: 'dist/main/main.cjs', target: NODE_TARGET }),
    // Minified because the preload runs in every window before the page. It imports only
    // the zod-free channel registry (src/shared/ipc-channels.ts), so it stays a few KB.
    build({ ...common, entryPoints: ['src/preload/preload.ts'], outfile: 'dist/preload/preload.cjs', target: CHROME_TARGET, minify: true }),
  ]);
}

// Run directly (npm run build:electron), not when imported by scripts/start.mjs.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildElectron();
  console.log('built dist/main/main.cjs and dist/preload/preload.cjs');
}
