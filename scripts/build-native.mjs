#!/usr/bin/env node
/**
 * Builds the host agent's native addons with node-gyp. Run by `npm install`
 * (postinstall, with --optional) and by `npm run build:native`.
 * - native/xcb-capture: in-process X11 capture (MIT-SHM, DAMAGE, libyuv).
 *   Needs, on Debian/Ubuntu:
 *   apt-get install libxcb-shm0-dev libxcb-damage0-dev libxcb-xfixes0-dev libyuv-dev
 * - native/av-encoder: the host's own video encoder through libavcodec
 *   (libx264, NVENC, VA-API, QSV, SVT-AV1) and libyuv. Needs, on Debian/Ubuntu:
 *   apt-get install libavcodec-dev libavutil-dev libyuv-dev pkg-config
 *
 * With --optional a failed build is a warning, not an error: the client and
 * the broker do not need the addons. Without xcb-capture the host agent
 * captures through ffmpeg (slower; see BENCHMARKS.md); without av-encoder it
 * cannot stream, and says so when it starts. Building needs a C compiler and
 * python3.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const optional = process.argv.includes('--optional');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ADDONS = [
  { dir: 'xcb-capture', what: 'in-process X11 capture', hint: 'apt-get install libxcb-shm0-dev libxcb-damage0-dev libxcb-xfixes0-dev libyuv-dev' },
  { dir: 'av-encoder', what: 'video encoder (libavcodec: x264, NVENC, VA-API, QSV)', hint: 'apt-get install libavcodec-dev libavutil-dev libyuv-dev pkg-config' },
];
let failed = 0;

function give(message) {
  failed++;
  if (optional) {
    console.warn(`backlot: native addon not built: ${message}\nbacklot: the client and the broker run without it; the host agent needs av-encoder to stream and captures through ffmpeg without xcb-capture (npm run build:native to retry)`);
  } else {
    console.error(`build-native: ${message}`);
  }
}

function finish() {
  process.exit(failed && !optional ? 1 : 0);
}

if (process.platform !== 'linux') {
  give(`the addons are for Linux (this is ${process.platform})`);
  finish();
}

// npm sets npm_config_node_gyp for scripts; otherwise use the node-gyp bundled with npm.
const prefix = resolve(dirname(process.execPath), '..');
const nodeGyp = [process.env.npm_config_node_gyp, join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find(
  (p) => p && existsSync(p),
);
if (!nodeGyp) {
  give('node-gyp was not found (it comes with npm)');
  finish();
}

// Build against the running Node's own headers when they are installed, so no download is needed.
const args = [nodeGyp, 'rebuild'];
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

for (const { dir, what, hint } of ADDONS) {
  const result = spawnSync(process.execPath, args, { cwd: join(root, 'native', dir), encoding: 'utf8' });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('gyp info'))
      .slice(-12)
      .join('\n');
    give(`native/${dir} (${what}): node-gyp failed${result.error ? ` (${result.error.message})` : ''}:\n${output}\n(on Debian/Ubuntu: ${hint})`);
  } else {
    console.log(`backlot: built native/${dir} (${what})`);
  }
}
finish();
