/** X11GrabCapture against a real Xvfb and ffmpeg, read back through a wrtc video sink. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureSettings } from '../../src/host/capture/capture-source.js';
import { X11GrabCapture, x11grabArgs } from '../../src/host/capture/x11grab-capture.js';
import type { HostError } from '../../src/host/errors.js';
import { startXvfb, xrun, type Xvfb } from './helpers/xvfb.js';
import { paintRect } from './helpers/x11-paint.js';
import { collectFrames, expectColour, expectGreenRectOnRed, GREEN_RECT, GREEN_YUV, yuvAt } from './helpers/frames.js';

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
    const failures: HostError[] = [];
    try {
      const track = await capture.start(FULL_30, (err) => failures.push(err));
      expect(track.kind).toBe('video');
      const frames = await collectFrames(track, 5);
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

  it('switches region, size and rate by restarting ffmpeg under the same track', async () => {
    const rect = await paintRect(xvfb.display, 640, 360, 640, 360, 0x00ff00);
    const capture = new X11GrabCapture({ display: xvfb.display });
    try {
      const track = await capture.start(FULL_30, () => {});
      await collectFrames(track, 2);
      // The bottom-right quarter (all green), scaled down to 320x180 at 15 fps.
      await capture.reconfigure({ region: { x: 640, y: 360, width: 640, height: 360 }, width: 320, height: 180, fps: 15 });
      const frames = await collectFrames(track, 3);
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
      await capture.start(FULL_30, () => {});
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

  it('fails to start with a stable code when ffmpeg is missing', async () => {
    const capture = new X11GrabCapture({ display: xvfb.display, ffmpegPath: '/nonexistent/ffmpeg' });
    await expect(capture.start(FULL_30, () => {})).rejects.toMatchObject({ code: 'ERR_CAPTURE_START' });
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
        void capture.start({ region: { x: 0, y: 0, width: 640, height: 480 }, width: 640, height: 480, fps: 30 }, resolve);
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
