/**
 * End-to-end fixtures: a demo stack (broker, Xvfb, host agent) per test file,
 * a "desktop" Chromium on the virtual display whose page records the events
 * it receives, and a headless client Chromium that opens the web client.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { desktopChromiumArgs, desktopHtml } from '../../src/demo/desktop.js';
import { startDemoStack, type DemoStack } from '../../src/demo/stack.js';

export const CHROMIUM = process.env.BACKLOT_CHROMIUM ?? '/usr/bin/chromium';
export const WEB_ROOT = resolve(import.meta.dirname, '../../dist/renderer');
export const ARTIFACTS = resolve(import.meta.dirname, '../../test-results');

/** Flags that work as root on the build machines (see ENVIRONMENT.md). */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface HostEvent {
  type: string;
  x: number;
  y: number;
  button: number;
  buttons: number;
  key?: string;
  code?: string;
  deltaX?: number;
  deltaY?: number;
  t: number;
}

/** The application on the workstation's display: a full-screen page that logs its input events. */
export async function startDesktop(stack: DemoStack): Promise<{ page: Page; events(): Promise<HostEvent[]>; close(): Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'backlot-e2e-desktop-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: false,
    args: desktopChromiumArgs(stack.display.width, stack.display.height),
    env: { ...process.env, DISPLAY: stack.display.display },
    viewport: null,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.setContent(desktopHtml('WS-042 end-to-end'));
  return {
    page,
    events: () => page.evaluate(() => (window as unknown as { __backlotEvents: HostEvent[] }).__backlotEvents.slice()),
    close: () => context.close(),
  };
}

/** The artist's browser: headless Chromium with a fresh profile. */
export async function startClientBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, '--autoplay-policy=no-user-gesture-required'],
  });
}

export async function startStack(): Promise<DemoStack> {
  await mkdir(ARTIFACTS, { recursive: true });
  return startDemoStack({ width: 1280, height: 720, fps: 30, webRoot: WEB_ROOT, desktop: false, password: 'correct horse battery' });
}

/** Signs in through the login form. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Reads the RGB of video pixels at the given positions (in video pixels), from a frame drawn to a canvas. */
export function sampleVideo(page: Page, points: { x: number; y: number }[]): Promise<[number, number, number][]> {
  return page.evaluate((pts) => {
    const video = document.querySelector('video')!;
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(video, 0, 0);
    return pts.map(({ x, y }) => {
      const d = ctx.getImageData(x, y, 1, 1).data;
      return [d[0]!, d[1]!, d[2]!] as [number, number, number];
    });
  }, points);
}

/** Waits until the video element has decoded at least `frames` frames. */
export async function waitForFrames(page: Page, frames = 10): Promise<void> {
  await page.waitForFunction(
    (n) => {
      const v = document.querySelector('video');
      return !!v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames >= n;
    },
    frames,
    { timeout: 20_000 },
  );
}
