/**
 * The walking skeleton, end to end: a person opens the web client, signs in,
 * connects to WS-042, sees that workstation's display, and clicks on it.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK, BLOCK_INSET, CALIBRATION } from '../../src/demo/desktop.js';
import type { DemoStack } from '../../src/demo/stack.js';
import { ARTIFACTS, sampleVideo, signIn, startClientBrowser, startDesktop, startStack, waitForFrames, type HostEvent } from './fixtures.js';

/** Lossy video: flat colours come back within this per-channel distance. */
const COLOUR_TOLERANCE = 40;

function close(actual: [number, number, number], expected: readonly [number, number, number]): boolean {
  return actual.every((v, i) => Math.abs(v - expected[i]!) <= COLOUR_TOLERANCE);
}

describe('walking skeleton', () => {
  let stack: DemoStack;
  let desktop: Awaited<ReturnType<typeof startDesktop>>;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startStack();
    desktop = await startDesktop(stack);
    browser = await startClientBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await desktop?.close();
    await stack?.stop();
  });

  async function openClient(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${stack.url}/`);
    return page;
  }

  it('shows a visible error for a wrong password', async () => {
    const page = await openClient();
    await signIn(page, stack.username, 'not the password');
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), { timeout: 10_000 }).toContain('Wrong username or password');
    expect(await alert.getAttribute('data-code')).toBe('ERR_BAD_CREDENTIALS');
    await page.screenshot({ path: `${ARTIFACTS}/skeleton-login-error.png` });
    await page.close();
  });

  it('streams the host display at its real resolution and clicks land where they were made', async () => {
    const page = await openClient();
    await page.screenshot({ path: `${ARTIFACTS}/skeleton-login.png` });
    await signIn(page, stack.username, stack.password);
    const row = page.locator('[data-workstation="ws-042"]');
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('Online');
    await page.screenshot({ path: `${ARTIFACTS}/skeleton-workstations.png` });
    await row.getByRole('button', { name: 'Connect' }).click();
    await waitForFrames(page);

    // (a) The picture is the workstation's display: its size, and the calibration blocks where they are drawn.
    const size = await page.evaluate(() => {
      const v = document.querySelector('video')!;
      return { w: v.videoWidth, h: v.videoHeight };
    });
    expect(size).toEqual({ w: stack.display.width, h: stack.display.height });
    const c = BLOCK_INSET + BLOCK / 2;
    const { width: W, height: H } = stack.display;
    const samples = await sampleVideo(page, [
      { x: c, y: c },
      { x: W - c, y: c },
      { x: c, y: H - c },
      { x: W - c, y: H - c },
    ]);
    const expected = [CALIBRATION.topLeft, CALIBRATION.topRight, CALIBRATION.bottomLeft, CALIBRATION.bottomRight];
    samples.forEach((s, i) => expect(close(s, expected[i]!), `block ${i}: got ${s.join(',')} want ${expected[i]!.join(',')}`).toBe(true));
    // And not merely some colour everywhere: the top-left block is not where the top-right one is.
    expect(close(samples[0]!, CALIBRATION.topRight)).toBe(false);
    await page.screenshot({ path: `${ARTIFACTS}/skeleton-streaming.png` });

    // (b) A click at a point of the video lands at the same point of the host display.
    const box = (await page.locator('video').boundingBox())!;
    const scale = Math.min(box.width / W, box.height / H);
    const offX = box.x + (box.width - W * scale) / 2;
    const offY = box.y + (box.height - H * scale) / 2;
    const target = { x: Math.round(W * 0.3), y: Math.round(H * 0.62) };
    const before = (await desktop.events()).length;
    await page.mouse.click(offX + target.x * scale, offY + target.y * scale);
    let downs: HostEvent[] = [];
    await expect
      .poll(async () => {
        downs = (await desktop.events()).slice(before).filter((e) => e.type === 'mousedown' || e.type === 'mouseup');
        return downs.length;
      }, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);
    const down = downs.find((e) => e.type === 'mousedown')!;
    // One video pixel is `1/scale` screen pixels, plus rounding through the 16-bit normalised coordinate.
    const tolerance = Math.ceil(1 / scale) + 1;
    expect(Math.abs(down.x - target.x)).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(down.y - target.y)).toBeLessThanOrEqual(tolerance);
    expect(down.button).toBe(0);
    expect(downs.map((e) => e.type)).toEqual(['mousedown', 'mouseup']);

    await page.getByRole('button', { name: 'Disconnect' }).click({ force: true });
    await expect.poll(() => page.getByRole('status').textContent(), { timeout: 10_000 }).toContain('Session ended');
    await page.close();
  });

  it('cannot stream when the host agent is not running', async () => {
    await stack.stopHost();
    try {
      const page = await openClient();
      await signIn(page, stack.username, stack.password);
      const row = page.locator('[data-workstation="ws-042"]');
      await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('Offline');
      expect(await row.getByRole('button', { name: 'Connect' }).isDisabled()).toBe(true);
      expect(await page.locator('video').count()).toBe(0);
      await page.close();
    } finally {
      await stack.startHost();
    }
  });
});
