/**
 * XcbCapture (the in-process MIT-SHM capture addon) against a real Xvfb, read
 * back through the sink the encoder would be (helpers/frames.ts
 * FrameCollector); and the addon refusing bad calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { CaptureSettings, CaptureSource, FrameSink } from '../../src/host/capture/capture-source.js';
import { FallbackCapture } from '../../src/host/capture/fallback-capture.js';
import { IDLE_REFRESH_MS, XcbCapture } from '../../src/host/capture/xcb-capture.js';
import { loadXcbNative, type XcbNative } from '../../src/host/capture/xcb-native.js';
import { HostError } from '../../src/host/errors.js';
import { expectColour, expectGreenRectOnRed, FrameCollector, GREEN_RECT, GREEN_YUV, RED_YUV, yuvAt } from './helpers/frames.js';
import { paintRect } from './helpers/x11-paint.js';
import { startXvfb, xrun, type Xvfb } from './helpers/xvfb.js';

const FULL_30: CaptureSettings = { region: { x: 0, y: 0, width: 1280, height: 720 }, width: 1280, height: 720, fps: 30 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const load = loadXcbNative();

/**
 * Maps and unmaps a small square in the top-right corner (DAMAGE both times)
 * until `read` returns a value; throws after `timeoutMs`.
 */
async function whileScreenChanges<T>(display: string, read: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no value within ${timeoutMs} ms of changes`);
    const square = await paintRect(display, 1200, 20, 40, 40, i % 2 ? 0x0000ff : 0xffff00);
    await sleep(30);
    await square.close();
  }
}

describe('the xcb-capture addon', () => {
  it('is built on this machine (npm install builds it; CI installs its headers)', () => {
    expect(load.ok ? 'loaded' : load.reason).toBe('loaded');
  });
});

describe.runIf(load.ok)('XcbCapture on Xvfb', () => {
  const native = (load as { native: XcbNative }).native;
  let xvfb: Xvfb;
  beforeAll(async () => {
    xvfb = await startXvfb('1280x720');
    await xrun(xvfb.display, 'xsetroot', ['-solid', '#ff0000']);
  });
  afterAll(async () => {
    await xvfb?.stop();
  });

  it('streams full-size I420 frames showing what is on screen', async () => {
    const rect = await paintRect(xvfb.display, GREEN_RECT.x, GREEN_RECT.y, GREEN_RECT.width, GREEN_RECT.height, 0x00ff00);
    const capture = new XcbCapture({ display: xvfb.display, drawCursor: false });
    const sink = new FrameCollector();
    const failures: HostError[] = [];
    try {
      await capture.start(FULL_30, sink.sink, (err) => failures.push(err));
      // start resolves with the first frame delivered.
      expect(sink.received).toBeGreaterThanOrEqual(1);
      const frames = await sink.collect(3);
      expect(frames.every((f) => f.format === 'i420')).toBe(true);
      expectGreenRectOnRed(frames.at(-1)!);
      expect(capture.stats()).toMatchObject({ backend: 'xcb', width: 1280, height: 720 });
      // The grab-to-frame median is published once per stats window, over the grabs
      // made in it: keep the screen changing (a still screen is only resent, not
      // grabbed) until one is. A grab and its conversion must fit in one frame
      // interval, or the capture could not keep the requested rate.
      const grabToFrameMs = await whileScreenChanges(xvfb.display, () => capture.stats().grabToFrameMs);
      expect(grabToFrameMs).toBeGreaterThan(0);
      expect(grabToFrameMs).toBeLessThan(1000 / FULL_30.fps);
    } finally {
      await capture.stop();
      await rect.close();
    }
    expect(failures).toEqual([]);
  });

  it('sends only refresh frames while nothing changes, and a change as soon as it happens', async () => {
    const capture = new XcbCapture({ display: xvfb.display, drawCursor: false });
    const sink = new FrameCollector();
    try {
      await capture.start(FULL_30, sink.sink, () => {});
      await sleep(300);
      const before = capture.stats().framesCaptured;
      await sleep(2_000);
      const still = capture.stats().framesCaptured - before;
      // A still screen at 30 fps requested: refresh frames only (one per IDLE_REFRESH_MS), not 60.
      expect(still).toBeGreaterThanOrEqual(Math.floor(2_000 / IDLE_REFRESH_MS) - 3);
      expect(still).toBeLessThanOrEqual(Math.ceil(2_000 / IDLE_REFRESH_MS) + 3);

      const green = sink.first((f) => Math.abs(yuvAt(f, 700, 420)[0]! - GREEN_YUV[0]!) <= 4, 5_000);
      const rect = await paintRect(xvfb.display, 600, 400, 200, 100, 0x00ff00);
      try {
        expectColour(yuvAt(await green, 700, 420), GREEN_YUV);
      } finally {
        await rect.close();
      }
    } finally {
      await capture.stop();
    }
  });

  it('switches region, size and rate into the same sink, scaling with libyuv', async () => {
    const rect = await paintRect(xvfb.display, 640, 360, 640, 360, 0x00ff00);
    const capture = new XcbCapture({ display: xvfb.display, drawCursor: false });
    const sink = new FrameCollector();
    try {
      await capture.start(FULL_30, sink.sink, () => {});
      await sink.collect(2);
      await capture.reconfigure({ region: { x: 640, y: 360, width: 640, height: 360 }, width: 320, height: 180, fps: 15 });
      const frames = await sink.collect(2);
      const last = frames.at(-1)!;
      expect([last.width, last.height]).toEqual([320, 180]);
      expectColour(yuvAt(last, 10, 10), GREEN_YUV);
      expectColour(yuvAt(last, 300, 170), GREEN_YUV);
      expect(capture.stats()).toMatchObject({ width: 320, height: 180, restarts: 1 });
    } finally {
      await capture.stop();
      await rect.close();
    }
  });

  it('refuses a region off the screen with a reason and keeps streaming the old one', async () => {
    const capture = new XcbCapture({ display: xvfb.display, drawCursor: false });
    const sink = new FrameCollector();
    try {
      await capture.start(FULL_30, sink.sink, () => {});
      await expect(capture.reconfigure({ region: { x: 1000, y: 0, width: 1280, height: 720 }, width: 1280, height: 720, fps: 30 })).rejects.toThrow(
        /outside the 1280x720 screen/,
      );
      const frames = await sink.collect(2);
      expect([frames[1]!.width, frames[1]!.height]).toEqual([1280, 720]);
    } finally {
      await capture.stop();
    }
  });

  it('draws the cursor into the picture unless told not to', async () => {
    await xrun(xvfb.display, 'xdotool', ['mousemove', '300', '100']);
    const around = (f: { width: number; height: number; data: Uint8Array }) => {
      const ys: number[] = [];
      for (let dy = -6; dy <= 6; dy++) for (let dx = -6; dx <= 6; dx++) ys.push(yuvAt(f, 300 + dx, 100 + dy)[0]!);
      return ys;
    };
    const grab = async (drawCursor: boolean) => {
      const capture = new XcbCapture({ display: xvfb.display, drawCursor });
      const sink = new FrameCollector();
      try {
        await capture.start(FULL_30, sink.sink, () => {});
        return (await sink.collect(2)).at(-1)!;
      } finally {
        await capture.stop();
      }
    };
    const without = around(await grab(false));
    const withCursor = around(await grab(true));
    expect(without.every((y) => Math.abs(y - RED_YUV[0]!) <= 4)).toBe(true);
    expect(withCursor.some((y) => Math.abs(y - RED_YUV[0]!) > 30)).toBe(true);
  });

  it('follows the pointer when only the cursor moves', async () => {
    await xrun(xvfb.display, 'xdotool', ['mousemove', '200', '600']);
    const capture = new XcbCapture({ display: xvfb.display, drawCursor: true });
    const sink = new FrameCollector();
    try {
      await capture.start(FULL_30, sink.sink, () => {});
      await sink.next();
      const moved = sink.first((f) => Math.abs(yuvAt(f, 900, 600)[0]! - RED_YUV[0]!) > 30 || Math.abs(yuvAt(f, 901, 601)[0]! - RED_YUV[0]!) > 30, 5_000);
      await xrun(xvfb.display, 'xdotool', ['mousemove', '900', '600']);
      await moved;
    } finally {
      await capture.stop();
    }
  });

  it('refuses a second start and keeps delivering to the first sink', async () => {
    const capture = new XcbCapture({ display: xvfb.display, drawCursor: false });
    const first = new FrameCollector();
    const second = new FrameCollector();
    try {
      await capture.start(FULL_30, first.sink, () => {});
      await expect(capture.start(FULL_30, second.sink, () => {})).rejects.toThrow('capture already started');
      await first.collect(2);
      expect(second.received).toBe(0);
    } finally {
      await capture.stop();
    }
  });

  it('delivers nothing to the sink once stop has resolved', async () => {
    const capture = new XcbCapture({ display: xvfb.display, drawCursor: false });
    const sink = new FrameCollector();
    // A second capture of the same screen witnesses that the screen changed and that time passed.
    const witness = new XcbCapture({ display: xvfb.display, drawCursor: false });
    const seen = new FrameCollector();
    try {
      await capture.start(FULL_30, sink.sink, () => {});
      await sink.collect(2);
      await capture.stop();
      await capture.stop(); // idempotent
      const delivered = sink.received;
      const captured = capture.stats().framesCaptured;
      await witness.start(FULL_30, seen.sink, () => {});
      const changed = seen.first((f) => Math.abs(yuvAt(f, 1220, 40)[0]! - RED_YUV[0]!) > 30, 5_000);
      const square = await paintRect(xvfb.display, 1200, 20, 40, 40, 0x0000ff);
      try {
        await changed;
        // Then two idle refreshes (IDLE_REFRESH_MS apart), which a capture still running would have sent as well.
        await seen.collect(2);
      } finally {
        await square.close();
      }
      expect(sink.received).toBe(delivered);
      expect(capture.stats().framesCaptured).toBe(captured);
    } finally {
      await capture.stop();
      await witness.stop();
    }
  });

  it('stamps each frame with the performance.now() time its grab started, before the sink has it', async () => {
    const capture = new XcbCapture({ display: xvfb.display, drawCursor: false });
    const sink = new FrameCollector();
    try {
      const startedAt = performance.now();
      await capture.start(FULL_30, sink.sink, () => {});
      const green = sink.first((f) => Math.abs(yuvAt(f, 700, 420)[0]! - GREEN_YUV[0]!) <= 4, 5_000);
      const paintedAt = performance.now();
      const rect = await paintRect(xvfb.display, 600, 400, 200, 100, 0x00ff00);
      let frames;
      try {
        const change = await green;
        frames = [change, ...(await sink.collect(2))];
        // The grab that shows the change began after the change was asked for.
        expect(change.capturedAt).toBeGreaterThanOrEqual(paintedAt);
      } finally {
        await rect.close();
      }
      for (const f of frames) {
        expect(f.capturedAt).toBeGreaterThan(startedAt);
        expect(f.capturedAt).toBeLessThanOrEqual(f.receivedAt);
      }
      const times = frames.map((f) => f.capturedAt);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    } finally {
      await capture.stop();
    }
  });

  it('delivers full-chroma I444 frames when asked, and switches format in place', async () => {
    const rect = await paintRect(xvfb.display, GREEN_RECT.x, GREEN_RECT.y, GREEN_RECT.width, GREEN_RECT.height, 0x00ff00);
    const capture = new XcbCapture({ display: xvfb.display, drawCursor: false });
    const sink = new FrameCollector();
    try {
      await capture.start({ ...FULL_30, format: 'i444' }, sink.sink, () => {});
      const full = (await sink.collect(2)).at(-1)!;
      expect([full.format, full.data.length]).toEqual(['i444', 1280 * 720 * 3]);
      expectGreenRectOnRed(full);
      // I420 again (the default), then I444 scaled: the encoded pipeline switches like this without restarting.
      await capture.reconfigure(FULL_30);
      const i420 = await sink.next();
      expect([i420.format, i420.data.length]).toEqual(['i420', (1280 * 720 * 3) / 2]);
      expectGreenRectOnRed(i420);
      await capture.reconfigure({ ...FULL_30, width: 640, height: 360, format: 'i444' });
      const half = await sink.next();
      expect([half.format, half.width, half.height, half.data.length]).toEqual(['i444', 640, 360, 640 * 360 * 3]);
      expectColour(yuvAt(half, 125, 137), GREEN_YUV);
      expectColour(yuvAt(half, 10, 10), RED_YUV);
      expect(capture.stats().restarts).toBe(2);
    } finally {
      await capture.stop();
      await rect.close();
    }
  });

  it('fails to start with a stable code when the display does not exist', async () => {
    const capture = new XcbCapture({ display: ':1999' });
    const sink = new FrameCollector();
    await expect(capture.start(FULL_30, sink.sink, () => {})).rejects.toMatchObject({ code: 'ERR_CAPTURE_START', message: expect.stringMatching(/cannot connect to X display :1999/) as unknown });
    expect(sink.received).toBe(0);
  });

  it('reports the X server going away while it streams', async () => {
    const own = await startXvfb('640x480');
    const capture = new XcbCapture({ display: own.display });
    try {
      const failed = new Promise<HostError>((resolve) => {
        void capture.start({ region: { x: 0, y: 0, width: 640, height: 480 }, width: 640, height: 480, fps: 30 }, () => {}, resolve);
      });
      await sleep(300);
      expect(capture.stats().framesCaptured).toBeGreaterThan(0);
      await own.stop();
      const err = await failed;
      expect(err.code).toBe('ERR_CAPTURE_FAILED');
      expect(err.message).toMatch(/X connection/);
    } finally {
      await capture.stop();
      await own.stop();
    }
  });

  it('the addon refuses malformed calls with a reason instead of crashing', async () => {
    expect(() => native.open(42 as unknown as string)).toThrow(/display must be a string/);
    const handle = native.open(xvfb.display);
    try {
      expect(() => native.next(handle, new Uint8Array(16), 0, true)).toThrow(/configure the capture first/);
      expect(() => native.configure(handle, { x: 0, y: 0, width: 10 } as never)).toThrow(/need integer x, y, width, height/);
      expect(() => native.configure(handle, { x: 0, y: 0, width: 640, height: 480, outWidth: 1280, outHeight: 720, drawCursor: false })).toThrow(/may not exceed the region/);
      native.configure(handle, { x: 0, y: 0, width: 640, height: 480, outWidth: 640, outHeight: 480, drawCursor: false });
      expect(() => native.next(handle, new Uint8Array(16), 0, true)).toThrow(/smaller than one I420 frame/);
      expect(() => native.next(handle, [] as unknown as Uint8Array, 0, true)).toThrow(/Uint8Array/);
      const out = new Uint8Array((640 * 480 * 3) / 2);
      const first = native.next(handle, out, 0, true);
      expect(() => native.next(handle, out, 0, true)).toThrow(/already in flight/);
      expect(await first).toMatchObject({ captured: true });
      expect(() => native.close({} as never)).toThrow(/not a capture handle/);
    } finally {
      native.close(handle);
      native.close(handle); // idempotent
    }
    expect(() => native.screen(handle)).toThrow(/not an open capture handle/);
  });
});

describe('FallbackCapture', () => {
  const logger = pino({ level: 'silent' });
  /** A capture that records the sinks it was started with. */
  function fake(name: string, startError?: Error): CaptureSource & { sinks: FrameSink[] } {
    const sinks: FrameSink[] = [];
    return {
      sinks,
      monitors: () => Promise.resolve([]),
      start: (_settings, sink) => {
        sinks.push(sink);
        return startError ? Promise.reject(startError) : Promise.resolve();
      },
      reconfigure: () => Promise.resolve(),
      stop: () => Promise.resolve(),
      stats: () => ({ width: 0, height: 0, framesCaptured: 0, fps: 0, restarts: 0, backend: name }),
    };
  }

  it('uses the preferred capture when it starts', async () => {
    const preferred = fake('xcb');
    const fallback = fake('ffmpeg');
    const capture = new FallbackCapture(preferred, () => fallback, logger);
    const sink: FrameSink = () => {};
    await capture.start(FULL_30, sink, () => {});
    expect(capture.stats().backend).toBe('xcb');
    expect(preferred.sinks).toHaveLength(1);
    expect(preferred.sinks[0]).toBe(sink);
    expect(fallback.sinks).toEqual([]);
  });

  it('falls back when the preferred capture cannot start, into the same sink', async () => {
    const preferred = fake('xcb', new HostError('ERR_CAPTURE_START', 'no MIT-SHM'));
    const fallback = fake('ffmpeg');
    const capture = new FallbackCapture(preferred, () => fallback, logger);
    const sink: FrameSink = () => {};
    await expect(capture.start(FULL_30, sink, () => {})).resolves.toBeUndefined();
    expect(capture.stats().backend).toBe('ffmpeg');
    // The caller's sink, not a wrapper: frames from the fallback reach it directly.
    expect([preferred.sinks.length, fallback.sinks.length]).toEqual([1, 1]);
    expect(preferred.sinks[0]).toBe(sink);
    expect(fallback.sinks[0]).toBe(sink);
  });
});
