/** X11GrabCapture against a real Xvfb and ffmpeg, read back through the sink the encoder would be (helpers/frames.ts FrameCollector). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureSettings } from '../../src/host/capture/capture-source.js';
import { X11GrabCapture, x11grabArgs } from '../../src/host/capture/x11grab-capture.js';
import type { HostError } from '../../src/host/errors.js';
import { startXvfb, xrun, type Xvfb } from './helpers/xvfb.js';
import { paintRect } from './helpers/x11-paint.js';
import { expectColour, expectGreenRectOnRed, FrameCollector, GREEN_RECT, GREEN_YUV, RED_YUV, yuvAt } from './helpers/frames.js';

describe('x11grabArgs', () => {
  it('asks ffmpeg for low-latency raw I420 of the given area', () => {
    const args = x11grabArgs(':5', 640, 480, 25);
    expect(args.join(' ')).toContain('-f x11grab -draw_mouse 1 -framerate 25 -video_size 640x480 -i :5+0,0');
    expect(args.join(' ')).toContain('-fflags nobuffer -probesize 32 -analyzeduration 0');
    expect(args.slice(-5)).toEqual(['-pix_fmt', 'yuv420p', '-f', 'rawvideo', 'pipe:1']);
  });
});

const FULL_30: CaptureSettings = { region: { x: 0, y: 0, width: 1280, height: 720 }, width: 1280, height: 720, fps: 30 };

describe('X11GrabCapture on Xvfb', () => {
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
    const capture = new X11GrabCapture({ display: xvfb.display });
    const sink = new FrameCollector();
    const failures: HostError[] = [];
    try {
      await capture.start(FULL_30, sink.sink, (err) => failures.push(err));
      // start resolves with the first frame delivered.
      expect(sink.received).toBeGreaterThanOrEqual(1);
      const frames = await sink.collect(5);
      expect(frames.every((f) => f.format === 'i420')).toBe(true);
      expectGreenRectOnRed(frames.at(-1)!);
      expect(capture.stats().framesCaptured).toBeGreaterThanOrEqual(5);
    } finally {
      await capture.stop();
      await rect.close();
    }
    expect(failures).toEqual([]);
  });

  it('lists the one screen when RandR is off', async () => {
    const capture = new X11GrabCapture({ display: xvfb.display });
    expect(await capture.monitors()).toEqual([{ id: 'screen0', name: 'Screen 0', x: 0, y: 0, width: 1280, height: 720, primary: true }]);
  });

  it('switches region, size and rate by restarting ffmpeg into the same sink', async () => {
    const rect = await paintRect(xvfb.display, 640, 360, 640, 360, 0x00ff00);
    const capture = new X11GrabCapture({ display: xvfb.display });
    const sink = new FrameCollector();
    try {
      await capture.start(FULL_30, sink.sink, () => {});
      await sink.collect(2);
      // The bottom-right quarter (all green), scaled down to 320x180 at 15 fps.
      await capture.reconfigure({ region: { x: 640, y: 360, width: 640, height: 360 }, width: 320, height: 180, fps: 15 });
      const frames = await sink.collect(3);
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

  it('captures at close to the requested rate', async () => {
    const capture = new X11GrabCapture({ display: xvfb.display });
    try {
      await capture.start(FULL_30, () => {}, () => {});
      const before = capture.stats().framesCaptured;
      await new Promise((r) => setTimeout(r, 2_000));
      const fps = (capture.stats().framesCaptured - before) / 2;
      // Loose bound: the CI machine has two cores shared with other tests.
      expect(fps).toBeGreaterThan(10);
      expect(fps).toBeLessThan(35);
    } finally {
      await capture.stop();
    }
  });

  it('refuses a second start and keeps delivering to the first sink', async () => {
    const capture = new X11GrabCapture({ display: xvfb.display });
    const first = new FrameCollector();
    const second = new FrameCollector();
    try {
      await capture.start(FULL_30, first.sink, () => {});
      await expect(capture.start(FULL_30, second.sink, () => {})).rejects.toThrow('capture already started');
      await first.collect(3);
      expect(second.received).toBe(0);
    } finally {
      await capture.stop();
    }
  });

  it('delivers nothing to the sink once stop has resolved', async () => {
    const capture = new X11GrabCapture({ display: xvfb.display });
    const sink = new FrameCollector();
    // A second capture of the same screen: its frames show that time passed in which a running ffmpeg would have sent more.
    const witness = new X11GrabCapture({ display: xvfb.display });
    const seen = new FrameCollector();
    try {
      await capture.start(FULL_30, sink.sink, () => {});
      await sink.collect(2);
      await capture.stop();
      await capture.stop(); // idempotent
      const delivered = sink.received;
      const captured = capture.stats().framesCaptured;
      await witness.start(FULL_30, seen.sink, () => {});
      // x11grab sends at the requested rate whether or not the screen changes: ten frames are a third of a second.
      await seen.collect(10);
      expect(sink.received).toBe(delivered);
      expect(capture.stats().framesCaptured).toBe(captured);
    } finally {
      await capture.stop();
      await witness.stop();
    }
  });

  it('stamps each frame with the performance.now() time it was whole in this process, before the sink has it', async () => {
    const capture = new X11GrabCapture({ display: xvfb.display });
    const sink = new FrameCollector();
    try {
      const startedAt = performance.now();
      await capture.start(FULL_30, sink.sink, () => {});
      const frames = await sink.collect(5);
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

  it('delivers full-chroma I444 frames when asked (ffmpeg -pix_fmt yuv444p), and switches format by restarting', async () => {
    const rect = await paintRect(xvfb.display, GREEN_RECT.x, GREEN_RECT.y, GREEN_RECT.width, GREEN_RECT.height, 0x00ff00);
    const capture = new X11GrabCapture({ display: xvfb.display });
    const sink = new FrameCollector();
    try {
      await capture.start({ ...FULL_30, format: 'i444' }, sink.sink, () => {});
      const full = (await sink.collect(3)).at(-1)!;
      expect([full.format, full.data.length]).toEqual(['i444', 1280 * 720 * 3]);
      expectGreenRectOnRed(full);
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

  it('fails to start with a stable code when ffmpeg is missing', async () => {
    const capture = new X11GrabCapture({ display: xvfb.display, ffmpegPath: '/nonexistent/ffmpeg' });
    const sink = new FrameCollector();
    await expect(capture.start(FULL_30, sink.sink, () => {})).rejects.toMatchObject({ code: 'ERR_CAPTURE_START' });
    expect(sink.received).toBe(0);
  });

  it('fails to start with a stable code when the display does not exist', async () => {
    const capture = new X11GrabCapture({ display: ':1999' });
    await expect(capture.monitors()).rejects.toMatchObject({ code: 'ERR_X11_CONNECT' });
  });

  it('reports ffmpeg exiting while it streams', async () => {
    const own = await startXvfb('640x480');
    const capture = new X11GrabCapture({ display: own.display });
    try {
      const failed = new Promise<HostError>((resolve) => {
        void capture.start({ region: { x: 0, y: 0, width: 640, height: 480 }, width: 640, height: 480, fps: 30 }, () => {}, resolve);
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(capture.stats().framesCaptured).toBeGreaterThan(0);
      await own.stop();
      const err = await failed;
      expect(err.code).toBe('ERR_CAPTURE_FAILED');
      expect(err.message).toMatch(/ffmpeg exited/);
    } finally {
      await capture.stop();
      await own.stop();
    }
  });
});
