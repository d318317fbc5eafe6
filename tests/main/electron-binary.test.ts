/**
 * How `npm start` finds the Electron binary (scripts/electron-binary.mjs): an
 * installed one is used; a missing one is downloaded by the electron package's
 * own install.js, run on this Node against a local mirror; a download that
 * fails becomes one line naming the cause, not @electron/get's stack.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  FETCH_FAILURE_MARKER,
  downloadElectron,
  downloadFailureReason,
  findElectron,
  installedElectron,
  webDemoNotice,
} from '../../scripts/electron-binary.mjs';

const require = createRequire(import.meta.url);
const ELECTRON_DIR = dirname(require.resolve('electron/package.json'));
const ELECTRON_VERSION = (JSON.parse(readFileSync(join(ELECTRON_DIR, 'package.json'), 'utf8')) as { version: string }).version;
/** The executable inside the zip, as node_modules/electron/install.js names it per platform. */
const PLATFORM_PATH = process.platform === 'darwin' ? 'Electron.app/Contents/MacOS/Electron' : process.platform === 'win32' ? 'electron.exe' : 'electron';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'backlot-electron-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A copy of the electron package's install script in a temporary folder, so
 * that a download writes there and not into the repo's node_modules/electron.
 * Its dependencies (@electron/get, the native unzipper) resolve through
 * NODE_PATH to the ones the real package would load.
 */
function stagedElectronPackage(): { dir: string; nodePath: string } {
  const dir = join(tempDir(), 'electron');
  mkdirSync(dir);
  for (const file of ['install.js', 'package.json', 'checksums.json']) copyFileSync(join(ELECTRON_DIR, file), join(dir, file));
  const fromElectron = createRequire(join(ELECTRON_DIR, 'package.json'));
  const roots = ['@electron/get', '@electron-internal/extract-zip'].map((name) => {
    const resolved = fromElectron.resolve(name);
    const at = resolved.lastIndexOf('node_modules');
    return resolved.slice(0, at + 'node_modules'.length);
  });
  return { dir, nodePath: [...new Set(roots)].join(delimiter) };
}

/** The environment install.js runs in: this one, minus anything that would point it at another mirror or binary. */
function installEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_config_electron_|npm_package_config_electron_|electron_)/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** A zip archive of uncompressed entries (all install.js needs to unpack). */
function storedZip(entries: { name: string; data: Buffer; mode: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data, mode } of entries) {
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made on Unix, so the mode below counts
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(((0o100000 | mode) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Serves a stand-in Electron zip and its SHASUMS256.txt the way the GitHub release does; records the paths asked for. */
async function fakeMirror(): Promise<{ url: string; requests: string[] }> {
  const zipName = `electron-v${ELECTRON_VERSION}-${process.platform}-${process.arch}.zip`;
  const zip = storedZip([
    { name: PLATFORM_PATH, data: Buffer.from('#!/bin/sh\necho stand-in electron\n'), mode: 0o755 },
    { name: 'version', data: Buffer.from(`v${ELECTRON_VERSION}`), mode: 0o644 },
  ]);
  const shasums = `${createHash('sha256').update(zip).digest('hex')} *${zipName}\n`;
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === `/v${ELECTRON_VERSION}/${zipName}`) res.end(zip);
    else if (req.url === `/v${ELECTRON_VERSION}/SHASUMS256.txt`) res.end(shasums);
    else res.writeHead(404).end();
  });
  const port = await listen(server);
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${port}/`, requests };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('installedElectron', () => {
  it('finds the binary path.txt names under dist/, and nothing before the download', () => {
    const dir = tempDir();
    expect(installedElectron(dir, {})).toBeNull();
    writeFileSync(join(dir, 'path.txt'), 'electron');
    expect(installedElectron(dir, {})).toBeNull();
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'electron'), '');
    expect(installedElectron(dir, {})).toBe(join(dir, 'dist', 'electron'));
  });

  it('looks in ELECTRON_OVERRIDE_DIST_PATH when it is set', () => {
    const dir = tempDir();
    const override = tempDir();
    writeFileSync(join(override, 'electron'), '');
    expect(installedElectron(dir, { ELECTRON_OVERRIDE_DIST_PATH: override })).toBe(join(override, 'electron'));
  });
});

describe('findElectron', () => {
  it('does not try a download when ELECTRON_SKIP_BINARY_DOWNLOAD is set, and says so', async () => {
    const onDownload = vi.fn();
    const outcome = await findElectron(tempDir(), { env: { ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }, onDownload });
    expect(outcome).toEqual({ skipped: 'no Electron binary is installed and ELECTRON_SKIP_BINARY_DOWNLOAD is set' });
    expect(onDownload).not.toHaveBeenCalled();
  });

  it("downloads a missing binary with the electron package's install.js on this Node, then runs it from there", async () => {
    const mirror = await fakeMirror();
    const { dir, nodePath } = stagedElectronPackage();
    const onDownload = vi.fn();
    const env = installEnv({
      NODE_PATH: nodePath,
      ELECTRON_MIRROR: mirror.url,
      // The stand-in zip is not the release checksums.json knows: check it against the mirror's SHASUMS256.txt.
      electron_use_remote_checksums: '1',
      electron_config_cache: join(dirname(dir), 'cache'),
    });
    const outcome = await findElectron(dir, { env, onDownload });
    expect(outcome).toEqual({ path: join(dir, 'dist', PLATFORM_PATH) });
    expect(onDownload).toHaveBeenCalledOnce();
    expect(mirror.requests).toContain(`/v${ELECTRON_VERSION}/SHASUMS256.txt`);
    expect(readFileSync(join(dir, 'dist', PLATFORM_PATH), 'utf8')).toContain('stand-in electron');
  });

  it('turns an unreachable download into one line naming the cause, with no stack', async () => {
    const port = await closedPort();
    const { dir, nodePath } = stagedElectronPackage();
    const env = installEnv({ NODE_PATH: nodePath, ELECTRON_MIRROR: `http://127.0.0.1:${port}/`, electron_config_cache: join(dirname(dir), 'cache') });
    const outcome = await findElectron(dir, { env });
    expect(outcome).toEqual({ failed: expect.stringContaining('ECONNREFUSED') });
    const notice = webDemoNotice(outcome as { failed: string });
    expect(notice).toMatch(/^Electron could not be downloaded \(.*ECONNREFUSED.*127\.0\.0\.1.*\); starting the web demo instead: open the address it prints below/);
    expect(notice).not.toMatch(/\n|\bat |fetch failed/);
    expect(existsSync(join(dir, 'path.txt'))).toBe(false);
  });
});

describe('downloadElectron', () => {
  it('reports a script that cannot be run instead of rejecting', async () => {
    const dir = tempDir();
    const result = await downloadElectron(dir, { env: installEnv({}), installScript: join(dir, 'missing.js') });
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('Cannot find module') });
  });
});

describe('downloadFailureReason', () => {
  it("prefers the fetch hook's line: the cause, and the host when the cause does not name it", () => {
    const hooked = (cause: string) =>
      [`${FETCH_FAILURE_MARKER}${JSON.stringify({ url: 'https://github.com/electron/electron/releases/download/v45.5.0/x.zip', cause })}`, 'TypeError: fetch failed', '    at node:internal/deps/undici/undici:14976:13'].join('\n');
    expect(downloadFailureReason(hooked('getaddrinfo ENOTFOUND github.com'), 1)).toBe('getaddrinfo ENOTFOUND github.com');
    expect(downloadFailureReason(hooked('Connect Timeout Error'), 1)).toBe('github.com: Connect Timeout Error');
  });

  it('otherwise takes the first error line of the stack install.js printed', () => {
    const stack = 'HTTPError: Response code 404 (Not Found) for http://mirror/v45.5.0/electron-v45.5.0-linux-x64.zip\n    at FetchDownloader.download (file:///x.js:48:23)';
    expect(downloadFailureReason(stack, 1)).toBe('Response code 404 (Not Found) for http://mirror/v45.5.0/electron-v45.5.0-linux-x64.zip');
  });

  it('names the Node.js version when it cannot require() the ESM @electron/get (before 20.19)', () => {
    const stderr = [
      '/x/node_modules/electron/install.js:3',
      "const { downloadArtifact } = require('@electron/get');",
      '                             ^',
      '',
      'Error [ERR_REQUIRE_ESM]: require() of ES Module /x/node_modules/@electron/get/dist/index.js from /x/install.js not supported.',
    ].join('\n');
    expect(downloadFailureReason(stderr, 1)).toBe(`Node.js ${process.versions.node} cannot load @electron/get; Electron's download needs Node.js 20.19 or newer`);
  });

  it('falls back to the exit code when nothing was written', () => {
    expect(downloadFailureReason('', 3)).toBe('install.js exited with code 3');
  });
});
