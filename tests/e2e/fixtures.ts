/**
 * End-to-end fixtures: a demo stack (broker, Xvfb, host agent) per test file,
 * a "desktop" Chromium on the virtual display whose page records the events
 * it receives, and a headless client Chromium that opens the web client.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS, desktopChromiumArgs, desktopHtml, LOOPBACK_WEBRTC_FLAGS } from '../../src/demo/desktop.js';
import { startDemoStack, type DemoStack } from '../../src/demo/stack.js';

export { CHROMIUM, CHROMIUM_FLAGS };

export const WEB_ROOT = resolve(import.meta.dirname, '../../dist/renderer');
export const ARTIFACTS = resolve(import.meta.dirname, '../../test-results');
/** Every test's WebRTC stays on loopback: the host agent gathers only here. */
export const LOOPBACK = '127.0.0.1';

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

/**
 * Records, in the page, every text the reconnect banner shows, however briefly:
 * a reconnect on loopback can come and go between two Playwright round trips.
 */
export async function recordBannerTexts(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const texts: string[] = [];
    (window as unknown as { __bannerTexts: string[] }).__bannerTexts = texts;
    const look = () => {
      const text = document.querySelector('[data-testid="reconnecting"]')?.textContent ?? '';
      if (text && texts.at(-1) !== text) texts.push(text);
    };
    new MutationObserver(look).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { __bannerTexts: string[] }).__bannerTexts.slice());
}

/** The artist's browser: headless Chromium with a fresh profile. */
export async function startClientBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...LOOPBACK_WEBRTC_FLAGS, '--autoplay-policy=no-user-gesture-required'],
  });
}

export async function startStack(): Promise<DemoStack> {
  await mkdir(ARTIFACTS, { recursive: true });
  return startDemoStack({ width: 1280, height: 720, fps: 30, webRoot: WEB_ROOT, desktop: false, password: 'correct horse battery', iceBindAddress: LOOPBACK });
}

/** Signs in through the login form. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * On the loaded web client: signs in with the stack's account, waits (up to
 * `onlineTimeoutMs`) for the demo workstation to be online, connects, and
 * waits for decoded frames.
 */
export async function signInAndConnect(page: Page, stack: DemoStack, onlineTimeoutMs: number): Promise<void> {
  await page.getByLabel('Username').waitFor();
  await signIn(page, stack.username, stack.password);
  const row = page.locator('[data-workstation="ws-042"]');
  await expect.poll(() => row.getAttribute('data-status'), { timeout: onlineTimeoutMs }).toBe('online');
  await row.getByRole('button', { name: 'Connect' }).click();
  await waitForFrames(page);
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

// ---------------------------------------------------------------- client-session fixtures (issue 5)

/** One call the host agent's injector received: the boundary where client input becomes host input. */
export interface InjectorCall {
  method: string;
  args: unknown[];
  t: number;
}

/** Wraps an injector so every call is recorded before it is forwarded. */
export function recordingInjector<T extends object>(inner: T, calls: InjectorCall[]): T {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return (...args: unknown[]) => {
        calls.push({ method: prop, args, t: Date.now() });
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A demo stack for the client tests: TOTP required, no host agent (the test runs its own, recording one). */
export async function startClientStack(totpSecret: string): Promise<DemoStack> {
  await mkdir(ARTIFACTS, { recursive: true });
  return startDemoStack({ width: 1280, height: 720, fps: 30, webRoot: WEB_ROOT, desktop: false, host: false, password: 'correct horse battery', totpSecret, iceBindAddress: LOOPBACK });
}

/**
 * The demo workstation's host agent with the real X11 injector wrapped in a
 * recorder; `stop()` and `start()` simulate the agent going away and coming back.
 */
export async function startRecordingHost(stack: DemoStack): Promise<{ calls: InjectorCall[]; start(): Promise<void>; stop(): Promise<void> }> {
  const { startHostAgent } = await import('../../src/host/agent.js');
  const { XTestInjector } = await import('../../src/host/input/xtest-injector.js');
  const { DEMO_WORKSTATION } = await import('../../src/demo/stack.js');
  const { pino } = await import('pino');
  const calls: InjectorCall[] = [];
  let agent: Awaited<ReturnType<typeof startHostAgent>> | undefined;
  const start = async () => {
    if (agent) return;
    agent = await startHostAgent({
      display: stack.display.display,
      brokerUrl: stack.url,
      workstationId: DEMO_WORKSTATION.id,
      secret: stack.hostSecret,
      fps: 30,
      iceBindAddress: LOOPBACK,
      logger: pino({ level: process.env.LOG_LEVEL ?? 'error' }),
      openInjector: async (o, log) => recordingInjector(await XTestInjector.open(o.display, log), calls),
    });
  };
  const stop = async () => {
    const a = agent;
    agent = undefined;
    await a?.stop();
  };
  await start();
  return { calls, start, stop };
}

/**
 * The demo workstation's host agent as its own process (`backlot-host run`,
 * as a studio runs it), so a test can signal it: `pid` is the agent itself
 * (node with tsx's loader, no wrapper process), e.g. for SIGSTOP / SIGCONT.
 * Logs are kept and returned by `output()` for a failing test to show.
 */
export async function startHostProcess(stack: DemoStack): Promise<{ pid: number; output(): string; stop(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const { DEMO_WORKSTATION } = await import('../../src/demo/stack.js');
  const { stopProcess } = await import('../../src/demo/xvfb.js');
  const root = resolve(import.meta.dirname, '../..');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/host/cli.ts', 'run', '--fps', '30', '--priority', 'off', '--log-level', process.env.LOG_LEVEL ?? 'warn'],
    {
      cwd: root,
      // The secret through the environment, never on a command line others can read.
      env: { ...process.env, DISPLAY: stack.display.display, BACKLOT_BROKER: stack.url, BACKLOT_WORKSTATION: DEMO_WORKSTATION.id, BACKLOT_HOST_SECRET: stack.hostSecret, BACKLOT_ICE_BIND_ADDRESS: LOOPBACK },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  if (child.pid === undefined) throw new Error('cannot start the host agent process');
  return {
    pid: child.pid,
    output: () => output,
    stop: async () => {
      // A stopped process cannot act on SIGTERM: let it run again first.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT');
      await stopProcess(child, 10_000);
    },
  };
}

/** Where addSpinner puts its box on the host display: the tests sample the video there to see the picture move. */
export const SPINNER = { x: 300, y: 560, size: 60 } as const;

/** A box on the host display that changes colour every animation frame, so a moving picture is told from a frozen one. */
export async function addSpinner(page: Page): Promise<void> {
  await page.evaluate(({ x, y, size }) => {
    const box = document.createElement('div');
    Object.assign(box.style, { position: 'fixed', left: `${x}px`, top: `${y}px`, width: `${size}px`, height: `${size}px` });
    document.body.append(box);
    let hue = 0;
    const step = () => {
      hue = (hue + 7) % 360;
      box.style.background = `hsl(${hue} 90% 50%)`;
      requestAnimationFrame(step);
    };
    step();
  }, SPINNER);
}

/** US-layout physical keys for printable ASCII, so a test can type symbols as a person does (Shift + key). */
export function usKeystrokes(text: string): { code: string; shift: boolean }[] {
  const shifted = '~!@#$%^&*()_+{}|:"<>?';
  const plain = '`1234567890-=[]\\;\',./';
  const codes = ['Backquote', 'Digit1', 'Digit2', 'Digit3', 'Digit4', 'Digit5', 'Digit6', 'Digit7', 'Digit8', 'Digit9', 'Digit0', 'Minus', 'Equal', 'BracketLeft', 'BracketRight', 'Backslash', 'Semicolon', 'Quote', 'Comma', 'Period', 'Slash'];
  return [...text].map((ch) => {
    if (ch === ' ') return { code: 'Space', shift: false };
    if (/[a-z]/.test(ch)) return { code: `Key${ch.toUpperCase()}`, shift: false };
    if (/[A-Z]/.test(ch)) return { code: `Key${ch}`, shift: true };
    const p = plain.indexOf(ch);
    if (p >= 0) return { code: codes[p]!, shift: false };
    const s = shifted.indexOf(ch);
    if (s >= 0) return { code: codes[s]!, shift: true };
    throw new Error(`no US key for ${JSON.stringify(ch)}`);
  });
}
