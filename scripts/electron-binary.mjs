// Finds the Electron binary for `npm start`, downloading it on first use.
//
// The electron package (>= 45) has no install script: its binary is fetched
// the first time something requires 'electron' (node_modules/electron/index.js),
// which runs install.js with inherited stdio. Where the download cannot be
// reached that prints @electron/get's raw `TypeError: fetch failed` stack and
// then throws "Electron failed to install correctly", which names neither the
// cause nor what happens next. So this runs install.js itself, with stderr
// captured, and turns a failure into one line.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Prefix of the line the fetch hook writes to stderr when a download request fails. */
export const FETCH_FAILURE_MARKER = 'backlot:electron-fetch-failed ';

/**
 * Loaded into install.js's process with `--import`. The "fetch failed"
 * TypeError that reaches install.js keeps its cause (DNS, refused, TLS) in
 * `err.cause`, which install.js does not print (it prints `err.stack`); this
 * writes the URL and the cause on one marked line first. Node's connection
 * errors can be AggregateErrors with an empty message (one per address tried),
 * hence the fallbacks to the code and the first inner error.
 */
const FETCH_HOOK = `
const original = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  try {
    return await original(input, init);
  } catch (err) {
    const cause = err?.cause ?? err;
    const detail = cause?.message || cause?.errors?.[0]?.message || cause?.code || String(cause);
    process.stderr.write(${JSON.stringify(FETCH_FAILURE_MARKER)} + JSON.stringify({ url: String(input?.url ?? input), cause: detail }) + '\\n');
    throw err;
  }
};
`;

/**
 * Where the electron package keeps its binary, if it is there, checked
 * without side effects (the same lookup as node_modules/electron/index.js).
 */
export function installedElectron(pkgDir, env = process.env) {
  let relative = null;
  try {
    relative = readFileSync(join(pkgDir, 'path.txt'), 'utf8');
  } catch {
    // No path.txt: the binary was never downloaded (or ELECTRON_OVERRIDE_DIST_PATH supplies it).
  }
  const path = env.ELECTRON_OVERRIDE_DIST_PATH
    ? join(env.ELECTRON_OVERRIDE_DIST_PATH, relative ?? 'electron')
    : relative && join(pkgDir, 'dist', relative);
  return path && existsSync(path) ? path : null;
}

/**
 * One line saying why install.js failed, from what it wrote to stderr: the
 * fetch hook's line when a request failed, else the first error line of the
 * stack it printed (an HTTP status, a checksum mismatch).
 */
export function downloadFailureReason(stderr, exitCode) {
  const lines = stderr.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  const marked = lines.find((line) => line.startsWith(FETCH_FAILURE_MARKER));
  if (marked) {
    try {
      const { url, cause } = JSON.parse(marked.slice(FETCH_FAILURE_MARKER.length));
      let host = String(url);
      try {
        host = new URL(url).hostname;
      } catch {
        // Not a URL: name it as it was given.
      }
      return String(cause).includes(host) ? String(cause) : `${host}: ${cause}`;
    } catch {
      // A malformed marker line: fall through to the stack.
    }
  }
  // Node.js before 20.19 cannot require() an ES module, and install.js requires @electron/get 5 (ESM).
  if (lines.some((line) => line.includes('ERR_REQUIRE_ESM'))) {
    return `Node.js ${process.versions.node} cannot load @electron/get; Electron's download needs Node.js 20.19 or newer`;
  }
  const error = lines.find((line) => /^[A-Za-z]*Error\b[^:]*: /.test(line));
  if (error) return error.replace(/^[A-Za-z]*Error\b[^:]*: /, '');
  const first = lines.find((line) => !line.startsWith(FETCH_FAILURE_MARKER));
  return first ?? `install.js exited with code ${exitCode}`;
}

/**
 * Runs the electron package's install.js (download, checksum, unzip, write
 * path.txt) with stdin and stdout ignored and stderr captured. Resolves with
 * `{ ok: true }` or `{ ok: false, reason }`; never rejects.
 */
export function downloadElectron(pkgDir, { env = process.env, installScript = join(pkgDir, 'install.js') } = {}) {
  const hook = `data:text/javascript,${encodeURIComponent(FETCH_HOOK)}`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', hook, installScript], {
      cwd: pkgDir,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const forward = (signal) => child.kill(signal);
    process.on('SIGTERM', forward);
    child.once('error', (err) => {
      process.off('SIGTERM', forward);
      resolve({ ok: false, reason: err.message });
    });
    child.once('close', (code, signal) => {
      process.off('SIGTERM', forward);
      if (code === 0) resolve({ ok: true });
      else resolve({ ok: false, reason: signal ? `install.js was stopped by ${signal}` : downloadFailureReason(stderr, code) });
    });
  });
}

/**
 * The Electron binary's path, or why there is none. A missing binary is
 * downloaded now unless ELECTRON_SKIP_BINARY_DOWNLOAD is set (build machines,
 * which cannot reach GitHub) or ELECTRON_OVERRIDE_DIST_PATH names another one.
 * `onDownload` is called just before a download starts.
 */
export async function findElectron(pkgDir, { env = process.env, onDownload = () => {}, installScript } = {}) {
  const installed = installedElectron(pkgDir, env);
  if (installed) return { path: installed };
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    return { skipped: `ELECTRON_OVERRIDE_DIST_PATH (${env.ELECTRON_OVERRIDE_DIST_PATH}) holds no Electron binary` };
  }
  if (env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    return { skipped: 'no Electron binary is installed and ELECTRON_SKIP_BINARY_DOWNLOAD is set' };
  }
  onDownload();
  const result = await downloadElectron(pkgDir, { env, ...(installScript ? { installScript } : {}) });
  if (!result.ok) return { failed: result.reason };
  const downloaded = installedElectron(pkgDir, env);
  return downloaded ? { path: downloaded } : { failed: 'the download finished but left no binary in node_modules/electron/dist' };
}

/** The one line `npm start` prints before it runs the web demo instead of the desktop client. */
export function webDemoNotice(outcome) {
  const why = 'failed' in outcome ? `Electron could not be downloaded (${outcome.failed})` : `The desktop client cannot start (${outcome.skipped})`;
  return `${why}; starting the web demo instead: open the address it prints below in a browser.`;
}
