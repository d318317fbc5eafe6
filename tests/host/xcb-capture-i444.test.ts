/**
 * The xcb-capture addon's I444 output against a real Xvfb: full-resolution
 * chroma (a one-pixel line keeps its colour, where I420 smears it), BT.601
 * limited-range values as the encoder's VUI will claim, scaling, and the
 * buffer-size refusals. The I420 path's own tests are in xcb-capture.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadXcbNative, xcbFrameSize, type XcbConfigure, type XcbHandle, type XcbNative } from '../../src/host/capture/xcb-native.js';
import { GREEN_RECT, GREEN_YUV, RED_YUV } from './helpers/frames.js';
import { paintRect } from './helpers/x11-paint.js';
import { startXvfb, xrun, type Xvfb } from './helpers/xvfb.js';

/** BT.601 limited range of pure blue, as libyuv converts it: Y 41, U 240, V 110. */
const BLUE_YUV = [41, 240, 110];
/** libyuv computes each 4:4:4 sample from its own pixel, so only rounding separates it from the formula. */
const TOLERANCE = 2;
/** A one-pixel blue line on the red background, at an odd x so that I420 cannot keep it in one chroma sample. */
const LINE = { x: 701, y: 100, width: 1, height: 200 } as const;
const POLL_LIMIT = 50;

const load = loadXcbNative();

interface Planes {
  width: number;
  height: number;
  at(x: number, y: number): number[];
}

function i444(data: Uint8Array, width: number, height: number): Planes {
  const plane = width * height;
  return { width, height, at: (x, y) => [data[y * width + x]!, data[plane + y * width + x]!, data[2 * plane + y * width + x]!] };
}

function i420(data: Uint8Array, width: number, height: number): Planes {
  const plane = width * height;
  const cw = width / 2;
  const c = (x: number, y: number) => (y >> 1) * cw + (x >> 1);
  return { width, height, at: (x, y) => [data[y * width + x]!, data[plane + c(x, y)]!, data[plane + plane / 4 + c(x, y)]!] };
}

function near(actual: number[], expected: number[], tolerance = TOLERANCE): boolean {
  return actual.every((v, i) => Math.abs(v - expected[i]!) <= tolerance);
}

function expectNear(actual: number[], expected: number[], what: string): void {
  expect(near(actual, expected), `${what}: ${actual.join(',')} vs ${expected.join(',')}`).toBe(true);
}

describe.runIf(load.ok)('xcb-capture I444 output on Xvfb', () => {
  const native = (load as { native: XcbNative }).native;
  let xvfb: Xvfb;
  let closers: { close(): Promise<void> }[] = [];
  let handle: XcbHandle;
  const full: XcbConfigure = { x: 0, y: 0, width: 1280, height: 720, outWidth: 1280, outHeight: 720, drawCursor: false };

  /** Grabs until `ready` accepts the frame (the painted windows may take a round trip to show), bounded. */
  async function grab(settings: XcbConfigure, ready: (p: Planes) => boolean): Promise<Planes> {
    native.configure(handle, settings);
    const format = settings.format ?? 'i420';
    const out = new Uint8Array(xcbFrameSize(format, settings.outWidth, settings.outHeight));
    const view = (format === 'i444' ? i444 : i420)(out, settings.outWidth, settings.outHeight);
    for (let i = 0; i < POLL_LIMIT; i++) {
      const r = await native.next(handle, out, 20, true);
      expect(r.captured).toBe(true);
      if (ready(view)) return view;
    }
    return view; // the caller's expectations then say what is wrong
  }

  beforeAll(async () => {
    xvfb = await startXvfb('1280x720');
    await xrun(xvfb.display, 'xsetroot', ['-solid', '#ff0000']);
    closers.push(await paintRect(xvfb.display, GREEN_RECT.x, GREEN_RECT.y, GREEN_RECT.width, GREEN_RECT.height, 0x00ff00));
    closers.push(await paintRect(xvfb.display, LINE.x, LINE.y, LINE.width, LINE.height, 0x0000ff));
    handle = native.open(xvfb.display);
  });
  afterAll(async () => {
    if (handle) native.close(handle);
    for (const c of closers) await c.close();
    closers = [];
    await xvfb?.stop();
  });

  it('keeps one-pixel chroma detail at full size, in BT.601 limited range', async () => {
    const p = await grab({ ...full, format: 'i444' }, (v) => near(v.at(LINE.x, 150), BLUE_YUV) && near(v.at(250, 275), GREEN_YUV));
    expectNear(p.at(20, 20), RED_YUV, 'background');
    expectNear(p.at(1279, 719), RED_YUV, 'last pixel');
    expectNear(p.at(250, 275), GREEN_YUV, 'green rectangle');
    expectNear(p.at(GREEN_RECT.x, GREEN_RECT.y), GREEN_YUV, 'rectangle corner');
    expectNear(p.at(GREEN_RECT.x - 1, GREEN_RECT.y), RED_YUV, 'just left of the rectangle');
    // The line and both its neighbours: each keeps its own colour, chroma included.
    expectNear(p.at(LINE.x, 150), BLUE_YUV, 'the blue line');
    expectNear(p.at(LINE.x - 1, 150), RED_YUV, 'left of the line');
    expectNear(p.at(LINE.x + 1, 150), RED_YUV, 'right of the line');
  });

  it('where I420 of the same screen blends the line into its neighbour', async () => {
    const p = await grab(full, (v) => near(v.at(250, 275), GREEN_YUV, 4));
    const [y, u, v] = p.at(LINE.x, 150);
    expect(Math.abs(y! - BLUE_YUV[0]!)).toBeLessThanOrEqual(TOLERANCE); // luma is full resolution in both
    // One chroma sample covers x 700..701: half red, half blue, neither colour.
    expect(Math.abs(u! - BLUE_YUV[1]!)).toBeGreaterThan(40);
    expect(Math.abs(u! - RED_YUV[1]!)).toBeGreaterThan(40);
    expect(Math.abs(v! - RED_YUV[2]!)).toBeGreaterThan(40);
  });

  it('scales the BGRX first, then converts at the output size', async () => {
    const p = await grab({ ...full, outWidth: 640, outHeight: 360, format: 'i444' }, (v) => near(v.at(125, 137), GREEN_YUV));
    expectNear(p.at(10, 10), RED_YUV, 'background');
    expectNear(p.at(125, 137), GREEN_YUV, 'green rectangle, halved');
    expectNear(p.at(639, 359), RED_YUV, 'last pixel');
    // A region of its own, scaled: the green rectangle fills it.
    const q = await grab(
      { x: GREEN_RECT.x + 10, y: GREEN_RECT.y + 10, width: 200, height: 100, outWidth: 100, outHeight: 50, drawCursor: false, format: 'i444' },
      (v) => near(v.at(50, 25), GREEN_YUV),
    );
    expectNear(q.at(0, 0), GREEN_YUV, 'region corner');
    expectNear(q.at(99, 49), GREEN_YUV, 'region far corner');
  });

  it('refuses an output buffer sized for I420 and an unknown format, and I420 stays the default', async () => {
    native.configure(handle, { ...full, outWidth: 640, outHeight: 360, format: 'i444' });
    expect(() => native.next(handle, new Uint8Array(xcbFrameSize('i420', 640, 360)), 0, true)).toThrow(/smaller than one I444 frame of the output size/);
    expect(() => native.configure(handle, { ...full, format: 'nv12' as never })).toThrow(/format must be "i420" or "i444"/);
    expect(() => native.configure(handle, { ...full, format: 444 as never })).toThrow(/format must be "i420" or "i444"/);
    native.configure(handle, { ...full, outWidth: 640, outHeight: 360 });
    await expect(native.next(handle, new Uint8Array(xcbFrameSize('i420', 640, 360)), 0, true)).resolves.toMatchObject({ captured: true });
    expect(xcbFrameSize('i444', 640, 360)).toBe(640 * 360 * 3);
    expect(xcbFrameSize('i420', 640, 360)).toBe((640 * 360 * 3) / 2);
  });
});
