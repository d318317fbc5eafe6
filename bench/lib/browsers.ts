/**
 * The Chromium instances of a run, each with its own profile directory so
 * its process tree (and so its CPU) can be found in /proc:
 * - content: full-screen, headed, on the Xvfb display: the "application"
 *   the artist works in (see content.ts);
 * - client: headless, the artist's browser (Backlot web client, and the
 *   baseline's receiving page);
 * - sender: headed on the display, for the baseline: Chromium's own screen
 *   share of the whole display, placed off-screen so it is not in the picture.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS, LOOPBACK_WEBRTC_FLAGS } from '../../src/demo/desktop.js';
import { contentHtml } from './content.js';
import { findChromiumRoot, onCleanup } from './proc.js';
import { PROBE_SCRIPT } from './probe.js';

export { CHROMIUM };

export const BASE_FLAGS = [
  ...CHROMIUM_FLAGS,
  // Two separate browsers, or a browser and the host agent, on one machine's loopback: plain host candidates, loopback allowed.
  ...LOOPBACK_WEBRTC_FLAGS,
];

export interface BenchBrowser {
  context: BrowserContext;
  page: Page;
  profile: string;
  /** Root pid of its process tree. */
  pid(): number | undefined;
  close(): Promise<void>;
}

async function launch(name: string, opts: { headless: boolean; args: string[]; display?: string; viewport?: { width: number; height: number } | null; initScript?: string }): Promise<BenchBrowser> {
  const profile = await mkdtemp(join(tmpdir(), `backlot-bench-${name}-`));
  const context = await chromium
    .launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: opts.headless,
      args: opts.args,
      env: { ...process.env, ...(opts.display ? { DISPLAY: opts.display } : {}) },
      viewport: opts.viewport ?? null,
    })
    .catch(async (err: unknown) => {
      await rm(profile, { recursive: true, force: true });
      throw err;
    });
  if (opts.initScript) await context.addInitScript(opts.initScript);
  const page = context.pages()[0] ?? (await context.newPage());
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    unregister();
    await context.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true }).catch(() => undefined);
  };
  const unregister = onCleanup(`${name} browser`, close);
  return { context, page, profile, pid: () => findChromiumRoot(profile), close };
}

/** The full-screen application on the host display. */
export async function startContent(display: string, width: number, height: number): Promise<BenchBrowser> {
  const b = await launch('content', {
    headless: false,
    display,
    args: [...BASE_FLAGS, '--noerrdialogs', '--disable-infobars', '--kiosk', '--window-position=0,0', `--window-size=${width},${height}`],
    viewport: null,
  });
  await b.page.setContent(contentHtml());
  return b;
}

/** The artist's headless browser. */
export function startClient(width: number, height: number): Promise<BenchBrowser> {
  return launch('client', {
    headless: true,
    args: [...BASE_FLAGS, '--autoplay-policy=no-user-gesture-required'],
    viewport: { width, height },
    initScript: PROBE_SCRIPT,
  });
}

/** The baseline's sender: Chromium screen-sharing the whole display, its own window off-screen. */
export async function startSender(display: string, width: number, height: number): Promise<BenchBrowser> {
  return launch('sender', {
    headless: false,
    display,
    args: [
      ...BASE_FLAGS,
      '--auto-select-desktop-capture-source=Entire screen',
      '--use-fake-ui-for-media-stream',
      '--noerrdialogs',
      '--disable-infobars',
      `--window-position=${width + 100},${height + 100}`,
      '--window-size=400,300',
    ],
    viewport: null,
    initScript: PROBE_SCRIPT,
  });
}
