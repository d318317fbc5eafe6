/**
 * In-process capture on X11: the xcb-capture addon grabs the region with
 * MIT-SHM and converts it to I420 (or I444) with libyuv on a worker thread,
 * and the frame goes straight to the sink (the encoder): no child process,
 * no pipe, no extra copies. The next grab goes into another buffer while
 * the sink still reads the last one (the encoder on its worker thread), so
 * grab and encode overlap; a buffer is grabbed into again only once the sink's
 * promise for it has settled, and with every buffer held the capture waits,
 * so a slow encoder lowers the frame rate instead of queueing. DAMAGE drives it: a change is grabbed as soon as the
 * frame-rate limit allows (instead of on a fixed clock), and a still screen
 * costs nothing but a refresh frame now and then, which lets the encoder
 * sharpen what stays on screen.
 *
 * Measured on the build machine (1920x1080, Xvfb): grab 1.3 ms + convert
 * 0.8 ms, where the ffmpeg pipeline took 54-150 ms from change to frame.
 */
import type { Logger } from 'pino';
import type { Monitor } from '../../shared/control.js';
import { HostError } from '../errors.js';
import { listMonitors } from '../x11/monitors.js';
import { frameBytes, type CaptureSettings, type CaptureSource, type CaptureStats, type FrameSink } from './capture-source.js';
import { loadXcbNative, type XcbHandle, type XcbNative } from './xcb-native.js';

/** With nothing changing, the last frame is sent again this often (the encoder refines a still picture). */
export const IDLE_REFRESH_MS = 200;
/** Longest wait for damage in one native call: bounds how late a stop or a new setting is applied. */
const MAX_WAIT_SLICE_MS = 100;
/** The fps figure in stats is measured over windows this long. */
const FPS_WINDOW_MS = 1_000;
/**
 * Buffers the capture grabs into, in turn: one the encoder reads, one waiting for it (EncodedStream
 * keeps at most these two), and one being grabbed, whose frame replaces the waiting one.
 */
export const FRAME_BUFFERS = 3;

export interface XcbCaptureOptions {
  /** X display, e.g. ":99". */
  display: string;
  /** false leaves the cursor out of the picture, for clients that draw it locally from `cursor` messages. */
  drawCursor?: boolean;
  logger?: Logger;
  /** The addon; defaults to the built one. */
  native?: XcbNative;
  /** Lists the monitors; defaults to RandR on `display`. */
  listMonitors?: () => Promise<Monitor[]>;
}

const even = (n: number): number => Math.max(2, n & ~1);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One frame's pixels, and how many of the frames handed to the sink still read them. */
interface FrameBuffer {
  data: Uint8Array;
  holds: number;
}

interface Pending {
  settings: CaptureSettings;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class XcbCapture implements CaptureSource {
  private readonly native: XcbNative | undefined;
  private readonly unavailable: string | undefined;
  private handle: XcbHandle | undefined;
  private sink: FrameSink | undefined;
  /** Set by the first start(), so a second one (even while the first awaits its grab) is refused. */
  private starting = false;
  private settings: CaptureSettings | undefined;
  private frameSize = 0;
  private buffers: FrameBuffer[] = [];
  /** The buffer with the newest picture: what an idle refresh sends again. */
  private last: FrameBuffer | undefined;
  /** Sink promises not settled yet: stop waits for them. */
  private readonly held = new Set<Promise<void>>();
  /** Wakes the loop waiting for a buffer (or for a new setting, or stop). */
  private wake: (() => void) | undefined;
  private onFailure: ((err: HostError) => void) | undefined;
  private pending: Pending | undefined;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private stopped = false;
  private lastFrameAt = 0;
  private framesCaptured = 0;
  private restarts = 0;
  private fps = 0;
  private windowStart = 0;
  private windowFrames = 0;
  private grabTimes: number[] = [];
  /**
   * How long the last grab took from the call to its frame, not counting the wait for a change, ms:
   * how early a timed grab starts. Wall time, not the addon's grab + convert: the worker queue and
   * the event loop add to it (40 against 24 ms at 3840x2160 beside the encoder, loaded 2 cores).
   */
  private lastGrabMs = 0;
  private grabToFrameMs: number | undefined;

  constructor(private readonly options: XcbCaptureOptions) {
    if (options.native) {
      this.native = options.native;
    } else {
      const load = loadXcbNative();
      if (load.ok) this.native = load.native;
      else this.unavailable = load.reason;
    }
  }

  monitors(): Promise<Monitor[]> {
    return (this.options.listMonitors ?? (() => listMonitors(this.options.display)))();
  }

  async start(settings: CaptureSettings, sink: FrameSink, onFailure: (err: HostError) => void): Promise<void> {
    if (this.starting || this.stopped) throw new Error('capture already started');
    this.starting = true;
    const native = this.native;
    if (!native) throw new HostError('ERR_CAPTURE_START', this.unavailable ?? 'in-process capture unavailable');
    try {
      this.handle = native.open(this.options.display);
      this.configure(settings);
      // The first frame, so a broken capture fails here and the stream starts with a picture.
      const buffer = this.freeBuffer()!;
      const first = await native.next(this.handle, buffer.data, 0, true);
      if (!first.captured) throw new Error('the first grab returned no frame');
      this.sink = sink;
      this.last = buffer;
      this.lastGrabMs = first.grabMs + first.convertMs;
      // Waited for, so that a sink that fails at once fails the start.
      await this.deliver(buffer, performance.now() - first.grabMs - first.convertMs);
    } catch (err) {
      this.sink = undefined;
      this.starting = false;
      this.close();
      if (err instanceof HostError) throw err;
      throw new HostError('ERR_CAPTURE_START', `in-process capture of ${this.options.display}: ${(err as Error).message}`, { cause: err });
    }
    this.options.logger?.info({ backend: 'xcb', display: this.options.display, ...this.settings }, 'capture started');
    this.onFailure = onFailure;
    this.loop = this.run(native);
  }

  reconfigure(settings: CaptureSettings): Promise<void> {
    if (this.stopped || !this.handle) return Promise.resolve();
    this.pending?.resolve(); // superseded: the newer settings win
    const applied = new Promise<void>((resolve, reject) => {
      this.pending = { settings, resolve, reject };
    });
    this.wakeLoop();
    return applied;
  }

  /** Resolves once the loop has ended and the sink holds none of our frames. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  stats(): CaptureStats {
    return {
      width: this.settings?.width ?? 0,
      height: this.settings?.height ?? 0,
      framesCaptured: this.framesCaptured,
      fps: this.fps,
      restarts: this.restarts,
      backend: 'xcb',
      ...(this.grabToFrameMs === undefined ? {} : { grabToFrameMs: this.grabToFrameMs }),
    };
  }

  /** Applies settings to the native handle (throws with the addon's reason). */
  private configure(requested: CaptureSettings): void {
    const { region } = requested;
    // Never upscale: the output fits inside the region, in even pixels for I420.
    const width = Math.min(even(requested.width), even(region.width));
    const height = Math.min(even(requested.height), even(region.height));
    const format = requested.format ?? 'i420';
    this.native!.configure(this.handle!, { ...region, outWidth: width, outHeight: height, drawCursor: this.options.drawCursor ?? true, format });
    const size = frameBytes(width, height, format);
    if (this.frameSize !== size) {
      // Frames the sink still holds keep their old buffers; new ones are allocated at the new size.
      this.frameSize = size;
      this.buffers = [];
      this.last = undefined;
    }
    this.settings = { ...requested, width, height, format };
  }

  /** A buffer no frame with the sink reads (allocated up to FRAME_BUFFERS), or undefined if all are held. */
  private freeBuffer(): FrameBuffer | undefined {
    const free = this.buffers.find((b) => b.holds === 0);
    if (free || this.buffers.length >= FRAME_BUFFERS) return free;
    const buffer = { data: new Uint8Array(this.frameSize), holds: 0 };
    this.buffers.push(buffer);
    return buffer;
  }

  /** Resolves at the next release of a buffer, reconfigure or stop, or after `ms`. */
  private woken(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => this.wakeLoop(), ms) : undefined;
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private wakeLoop(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /**
   * Hands `buffer`'s frame to the sink without waiting for it; the promise
   * settles when the sink is done with the buffer (rejects if the sink fails).
   */
  private deliver(buffer: FrameBuffer, capturedAt: number): Promise<void> {
    const { width, height, format } = this.settings!;
    // The frame interval runs from grab to grab: time spent in the sink (encoding, sending) is
    // part of the interval, not added to it (it was: 21-23 fps at 30 on the shaped-link test).
    this.lastFrameAt = capturedAt;
    buffer.holds++;
    let result: void | Promise<void>;
    try {
      result = this.sink!({ width, height, format: format ?? 'i420', data: buffer.data, capturedAt });
    } catch (err) {
      buffer.holds--;
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.count();
    if (!result) {
      buffer.holds--;
      return Promise.resolve();
    }
    const held = Promise.resolve(result).finally(() => {
      buffer.holds--;
      this.held.delete(held);
      this.wakeLoop();
    });
    this.held.add(held);
    return held;
  }

  /** Counts a frame handed to the sink, for stats(). */
  private count(): void {
    const now = performance.now();
    this.framesCaptured++;
    this.windowFrames++;
    if (this.windowStart === 0) this.windowStart = now;
    const elapsed = now - this.windowStart;
    if (elapsed >= FPS_WINDOW_MS) {
      this.fps = (this.windowFrames * 1000) / elapsed;
      this.windowStart = now;
      this.windowFrames = 0;
      const sorted = this.grabTimes.sort((a, b) => a - b);
      if (sorted.length) this.grabToFrameMs = Math.round(sorted[sorted.length >> 1]! * 100) / 100;
      this.grabTimes = [];
    }
  }

  private async run(native: XcbNative): Promise<void> {
    let force = false;
    while (!this.stopped) {
      const pending = this.pending;
      if (pending) {
        this.pending = undefined;
        try {
          this.configure(pending.settings);
          this.restarts++;
          force = true;
          pending.resolve();
        } catch (err) {
          pending.reject(new HostError('ERR_CAPTURE_FAILED', `capture settings refused: ${(err as Error).message}`));
        }
      }
      const interval = 1000 / this.settings!.fps;
      const sinceLast = performance.now() - this.lastFrameAt;
      if (sinceLast < interval) await sleep(interval - sinceLast);
      if (this.stopped) break;
      if (this.pending) continue;

      // A grab timed to end when the sink can take its frame: the picture is as fresh as it can be
      // when the encoder starts on it, and no grab is spent on a frame a newer one would replace.
      // An encode that ends sooner than expected lets its buffer go, which wakes the loop at once.
      const early = (this.sink!.readyIn?.() ?? 0) - this.lastGrabMs;
      if (early >= 1) {
        await this.woken(Math.min(early, MAX_WAIT_SLICE_MS));
        continue;
      }
      const buffer = this.freeBuffer();
      if (!buffer) {
        // The sink holds every buffer: the next grab waits for it to let one go.
        await this.woken(Infinity);
        continue;
      }
      const refreshIn = IDLE_REFRESH_MS - (performance.now() - this.lastFrameAt);
      try {
        // Waits for damage until the refresh is due (a grab that is already late looks once and returns).
        const calledAt = performance.now();
        const result = await native.next(this.handle!, buffer.data, Math.min(Math.max(0, refreshIn), MAX_WAIT_SLICE_MS), force);
        force = false;
        if (this.stopped) break;
        if (result.captured) {
          this.lastGrabMs = performance.now() - calledAt - result.waitedMs;
          this.grabTimes.push(result.grabMs + result.convertMs);
          this.last = buffer;
          this.handOver(buffer, performance.now() - result.grabMs - result.convertMs);
        } else if (this.last && performance.now() - this.lastFrameAt >= IDLE_REFRESH_MS) {
          // Nothing changed for that long: the last picture again, which the encoder refines.
          this.handOver(this.last, performance.now());
        }
      } catch (err) {
        this.failed('in-process capture failed', err);
        break;
      }
    }
  }

  /** Delivers from the loop: a sink failure, now or once its promise rejects, ends the capture. */
  private handOver(buffer: FrameBuffer, capturedAt: number): void {
    this.deliver(buffer, capturedAt).catch((err: unknown) => this.failed('the frame sink failed', err));
  }

  /** Ends the capture with `step`'s error (unless it is stopping anyway), and says so once. */
  private failed(step: string, err: unknown): void {
    if (this.stopped) return;
    const failure = new HostError('ERR_CAPTURE_FAILED', `${step}: ${(err as Error).message}`, { cause: err });
    this.options.logger?.error({ code: failure.code, err: failure.message }, 'capture failed');
    this.stopped = true;
    this.pending?.reject(failure);
    this.pending = undefined;
    this.wakeLoop();
    this.onFailure?.(failure);
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    this.pending?.resolve();
    this.pending = undefined;
    this.wakeLoop();
    await this.loop;
    await Promise.allSettled([...this.held]);
    this.close();
  }

  private close(): void {
    if (this.handle && this.native) this.native.close(this.handle);
    this.handle = undefined;
  }
}
