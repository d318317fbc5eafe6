/**
 * Smoke test of the packaged-style Electron app through Playwright's
 * `_electron`: launch, sign in against a local broker (the tiny HTTP broker of
 * the main-process tests, on 127.0.0.1), see the workstation list, and check
 * the hardening from the page's side. It needs an Electron binary; build
 * machines install the electron package with ELECTRON_SKIP_BINARY_DOWNLOAD
 * (GitHub is unreachable), so there the suite reports itself skipped with the
 * reason.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, startFakeBroker, type FakeBroker } from '../main/fake-broker.js';
import { signIn } from './fixtures.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SKIP_REASON = 'no Electron binary: ELECTRON_SKIP_BINARY_DOWNLOAD on build machines';

/**
 * The binary's path if one is installed. Checked by hand: requiring 'electron'
 * from Node tries to download a missing binary (electron >= 45).
 */
function electronBinary(): string | null {
  const pkgDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  const pathFile = join(pkgDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const relative = readFileSync(pathFile, 'utf8');
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const binary = override ? join(override, relative) : join(pkgDir, 'dist', relative);
  return existsSync(binary) ? binary : null;
}

const binary = electronBinary();
if (!binary) console.warn(`electron.smoke: skipped (${SKIP_REASON})`);

describe.skipIf(!binary)(`Electron app smoke test${binary ? '' : ` (skipped: ${SKIP_REASON})`}`, () => {
  let app: ElectronApplication;
  let page: Page;
  let userData: string;
  let broker: FakeBroker;

  beforeAll(async () => {
    broker = await startFakeBroker();
    execFileSync(process.execPath, [join(root, 'scripts', 'build-electron.mjs')], { cwd: root, stdio: 'inherit' });
    expect(existsSync(join(root, 'dist', 'renderer', 'index.html')), 'run `npm run build:renderer` first').toBe(true);
    userData = mkdtempSync(join(tmpdir(), 'backlot-e2e-'));
    app = await _electron.launch({
      executablePath: binary!,
      // Chromium refuses to run its sandbox as root (CI containers); the app's own sandbox settings are asserted below.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), `--user-data-dir=${userData}`, '.'],
      cwd: root,
      env: { ...process.env, BACKLOT_BROKER_URL: broker.url },
    });
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  });

  afterAll(async () => {
    await app?.close();
    await broker?.close();
    if (userData) rmSync(userData, { recursive: true, force: true });
  });

  it('loads the renderer from app://backlot', () => {
    expect(page.url()).toBe('app://backlot/index.html');
  });

  it('exposes the bridge and nothing of Node', async () => {
    const globals = await page.evaluate(() => {
      const w = window as unknown as Record<string, unknown>;
      return {
        bridge: Object.keys((w.backlot as object | undefined) ?? {}).sort(),
        require: typeof w.require,
        process: typeof w.process,
        ipcRenderer: typeof w.ipcRenderer,
      };
    });
    expect(globals).toEqual({
      bridge: [
        'credentialsStatus',
        'exportDiagnostics',
        'getConfig',
        'getSettings',
        'listProfiles',
        'listWorkstations',
        'login',
        'logout',
        'onOpenRequest',
        'openSession',
        'removeProfile',
        'reportSessionState',
        'requestSession',
        'resumeSession',
        'saveProfile',
        'setSettings',
        'startDemo',
        'submitTotp',
        'takeOpenRequest',
      ],
      require: 'undefined',
      process: 'undefined',
      ipcRenderer: 'undefined',
    });
  });

  it('answers getConfig over the bridge with the configured broker', async () => {
    const reply = await page.evaluate(() => (window as unknown as { backlot: { getConfig(): Promise<unknown> } }).backlot.getConfig());
    expect(reply).toMatchObject({ ok: true, value: { brokerUrl: broker.url, demoAvailable: false, policyError: null } });
  });

  it('signs in against the local broker and shows the workstation list; no token reaches the page', async () => {
    await signIn(page, 'ana', GOOD_PASSWORD);
    await page.getByText('WS-042').first().waitFor({ timeout: 15_000 });
    expect(broker.requests.map((r) => r.path)).toEqual(expect.arrayContaining(['/api/login', '/api/workstations']));
    const pageText = await page.evaluate(() => document.documentElement.outerHTML + JSON.stringify(localStorage) + JSON.stringify(sessionStorage));
    for (const token of broker.accessTokens) expect(pageText).not.toContain(token);
  });

  it('refuses a malformed bridge call with a reason', async () => {
    const reply = await page.evaluate(() =>
      (window as unknown as { backlot: { requestSession(p: unknown): Promise<unknown> } }).backlot.requestSession({ workstationId: '../x' }),
    );
    expect(reply).toMatchObject({ ok: false, error: { code: 'ERR_BAD_REQUEST' } });
  });

  it('opens no new windows and cannot navigate away', async () => {
    await page.evaluate(() => {
      window.open('https://example.com');
      window.location.href = 'https://example.com';
    });
    await page.waitForTimeout(500);
    expect(app.windows()).toHaveLength(1);
    expect(page.url()).toBe('app://backlot/index.html');
  });

  it('sends a CSP that allows only the configured broker', async () => {
    const csp = await app.evaluate(async ({ net }) => (await net.fetch('app://backlot/index.html')).headers.get('content-security-policy'));
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`connect-src ${broker.url} ${broker.url.replace(/^http/, 'ws')}`);
  });

  it('blocks the page from connecting anywhere else', async () => {
    const violated = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), { once: true });
          fetch('https://example.com/').catch(() => undefined);
        }),
    );
    expect(violated).toBe('connect-src');
  });
});
