// `npm start`: build the renderer and the Electron bundles, then run the
// desktop client, downloading the Electron binary on first use. Where there is
// none and none can be downloaded (build machines cannot reach GitHub, and set
// ELECTRON_SKIP_BINARY_DOWNLOAD so that none is tried) it says why in one line
// and runs the web demo instead, which serves the same client to a browser.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildElectron } from './build-electron.mjs';
import { findElectron, webDemoNotice } from './electron-binary.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** Runs a command with inherited stdio and resolves with its exit code. */
function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: 'inherit',
      // npx is a .cmd on Windows, which Node only runs through a shell.
      shell: process.platform === 'win32',
      ...options,
    });
    // Ctrl+C reaches the child through the terminal; forward the other signals ourselves.
    const forward = (signal) => child.kill(signal);
    process.on('SIGTERM', forward);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const viteCode = await run(npx, ['vite', 'build']);
if (viteCode !== 0) process.exit(viteCode);
await buildElectron();

const electronDir = dirname(require.resolve('electron/package.json'));
const { version: electronVersion } = JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8'));
const electron = await findElectron(electronDir, {
  onDownload: () => console.log(`Downloading Electron ${electronVersion} (once; it is kept in node_modules/electron)...`),
});
if ('path' in electron) {
  process.exit(await run(electron.path, ['.', ...process.argv.slice(2)]));
}

console.warn(`\n${webDemoNotice(electron)}\n`);
process.exit(await run(npx, ['tsx', 'src/demo/cli.ts', ...process.argv.slice(2)]));
