/**
 * Reading captured frames in tests: a FrameCollector to pass to a capture as
 * its sink, pixels as YUV (I420 or I444), and colour checks.
 */
import { expect } from 'vitest';
import { frameBytes, type FrameFormat, type FrameSink, type RawFrame } from '../../../src/host/capture/capture-source.js';

/** BT.601 limited-range YUV of pure colours, as ffmpeg and libyuv convert them. */
export const RED_YUV = [81, 90, 240];
export const GREEN_YUV = [145, 54, 34];
const TOLERANCE = 4;
/** How long `collect` waits for its frames unless told otherwise. */
export const COLLECT_TIMEOUT_MS = 10_000;

/** A planar picture: I420 unless `format` says otherwise (the client's decoded frames carry no format). */
export interface Picture {
  width: number;
  height: number;
  data: Uint8Array;
  format?: FrameFormat;
}

/** A frame the sink received, copied out of the capture's buffer, with the performance.now() time it arrived. */
export interface CollectedFrame extends RawFrame {
  receivedAt: number;
}

export function yuvAt(frame: Picture, x: number, y: number): number[] {
  const { width, height, data } = frame;
  const plane = width * height;
  if (frame.format === 'i444') return [data[y * width + x]!, data[plane + y * width + x]!, data[2 * plane + y * width + x]!];
  const chromaW = width / 2;
  const c = (y >> 1) * chromaW + (x >> 1);
  return [data[y * width + x]!, data[plane + c]!, data[plane + plane / 4 + c]!];
}

export function expectColour(actual: number[], expected: number[]): void {
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!), `component ${i}: ${actual.join(',')} vs ${expected.join(',')}`).toBeLessThanOrEqual(TOLERANCE));
}

/** The scene both capture tests paint: a green rectangle on the red root window of a 1280x720 display. */
export const GREEN_RECT = { x: 100, y: 200, width: 300, height: 150 } as const;

/** A full-size 1280x720 frame shows GREEN_RECT on red, with red again just outside it. */
export function expectGreenRectOnRed(frame: Picture): void {
  expect([frame.width, frame.height, frame.data.length]).toEqual([1280, 720, frameBytes(1280, 720, frame.format ?? 'i420')]);
  expectColour(yuvAt(frame, 20, 20), RED_YUV);
  expectColour(yuvAt(frame, 1200, 700), RED_YUV);
  expectColour(yuvAt(frame, 250, 275), GREEN_YUV);
  // Just outside the painted rectangle the background shows again.
  expectColour(yuvAt(frame, 90, 275), RED_YUV);
  expectColour(yuvAt(frame, 410, 275), RED_YUV);
}

interface Waiter {
  count: number;
  until: ((frame: CollectedFrame) => boolean) | undefined;
  /** Keep only the latest frame (a search through many frames for one). */
  latestOnly: boolean;
  seen: number;
  frames: CollectedFrame[];
  resolve: (frames: CollectedFrame[]) => void;
  reject: (err: Error) => void;
}

/**
 * A capture's sink for tests: counts every frame, and hands copies of the
 * frames that arrive after a `collect` call to it. Frames nobody waits for
 * are counted, not kept (a capture at 30 fps would otherwise hold 40 MB a
 * second).
 */
export class FrameCollector {
  /** Frames the sink has received since it was created. */
  received = 0;
  private readonly waiters = new Set<Waiter>();

  /** Pass this to `capture.start`. Synchronous: the copy is taken before the capture reuses its buffer. */
  readonly sink: FrameSink = (frame) => {
    const receivedAt = performance.now();
    this.received++;
    if (this.waiters.size === 0) return;
    const copy: CollectedFrame = { ...frame, data: Uint8Array.from(frame.data), receivedAt };
    for (const w of [...this.waiters]) {
      w.seen++;
      if (w.latestOnly) w.frames[0] = copy;
      else w.frames.push(copy);
      let done: boolean;
      try {
        done = w.seen === w.count || w.until?.(copy) === true;
      } catch (err) {
        // Fails the collecting test, not the capture that called the sink.
        this.waiters.delete(w);
        w.reject(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (done) {
        this.waiters.delete(w);
        w.resolve(w.frames);
      }
    }
  };

  /**
   * The next `count` frames to arrive, or fewer if `until` accepts one first
   * (it ends the list). Rejects after `timeoutMs`, saying how many came.
   */
  collect(count: number, until?: (frame: CollectedFrame) => boolean, timeoutMs = COLLECT_TIMEOUT_MS): Promise<CollectedFrame[]> {
    return this.wait(count, until, false, timeoutMs);
  }

  /** The next frame to arrive. */
  async next(timeoutMs = COLLECT_TIMEOUT_MS): Promise<CollectedFrame> {
    return (await this.collect(1, undefined, timeoutMs))[0]!;
  }

  /** The first frame to arrive that `accept` accepts; rejects after `timeoutMs`. */
  async first(accept: (frame: CollectedFrame) => boolean, timeoutMs = COLLECT_TIMEOUT_MS): Promise<CollectedFrame> {
    return (await this.wait(Number.POSITIVE_INFINITY, accept, true, timeoutMs))[0]!;
  }

  private wait(count: number, until: ((frame: CollectedFrame) => boolean) | undefined, latestOnly: boolean, timeoutMs: number): Promise<CollectedFrame[]> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        count,
        until,
        latestOnly,
        seen: 0,
        frames: [],
        resolve: (frames) => {
          clearTimeout(timer);
          resolve(frames);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const what = until ? `no accepted frame among ${waiter.seen}` : `only ${waiter.seen} of ${count} frames`;
        reject(new Error(`${what} arrived within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}
