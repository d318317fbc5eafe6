// `npm start`: build the renderer and the Electron bundles, then run the
// desktop client. Where no Electron binary is installed (build machines set
// ELECTRON_SKIP_BINARY_DOWNLOAD because GitHub is unreachable) it explains
// that and runs the web demo instead, which serves the same client to a browser.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildElectron } from './build-electron.mjs';

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

/**
 * Where the electron package keeps its binary, checked without side effects:
 * requiring 'electron' from Node downloads a missing binary (electron >= 45),
 * which build machines must not attempt.
 */
function installedElectron() {
  const pkgDir = dirname(require.resolve('electron/package.json'));
  let relative = 'electron';
  try {
    relative = readFileSync(join(pkgDir, 'path.txt'), 'utf8');
  } catch {
    if (!process.env.ELECTRON_OVERRIDE_DIST_PATH) return null;
  }
  const path = process.env.ELECTRON_OVERRIDE_DIST_PATH
    ? join(process.env.ELECTRON_OVERRIDE_DIST_PATH, relative)
    : join(pkgDir, 'dist', relative);
  return existsSync(path) ? path : null;
}

/** The Electron binary's path, or the reason there is none. */
function findElectron() {
  const installed = installedElectron();
  if (installed) return { path: installed };
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    return { reason: 'ELECTRON_SKIP_BINARY_DOWNLOAD is set and no binary was installed' };
  }
  try {
    // Lets the electron package fetch its binary now (a developer PC whose install skipped it).
    const path = require('electron');
    return typeof path === 'string' ? { path } : { reason: 'the electron package did not return a binary path' };
  } catch (err) {
    return { reason: err instanceof Error ? err.message.split('\n')[0] : String(err) };
  }
}

const viteCode = await run(npx, ['vite', 'build']);
if (viteCode !== 0) process.exit(viteCode);
await buildElectron();

const electron = findElectron();
if ('path' in electron) {
  process.exit(await run(electron.path, ['.', ...process.argv.slice(2)]));
}

console.warn(
  [
    '',
    `No Electron binary is installed (${electron.reason}).`,
    'That is expected on build machines, which set ELECTRON_SKIP_BINARY_DOWNLOAD=1 because',
    "Electron's download from GitHub is not reachable there. On a normal PC, `npm install`",
    'downloads it and `npm start` opens the desktop app.',
    '',
    'Running the web demo instead (same as `npm run demo:web`): the same client, in your browser.',
    '',
  ].join('\n'),
);
process.exit(await run(npx, ['tsx', 'src/demo/cli.ts', ...process.argv.slice(2)]));
