/** Reading I420 frames back from a track in tests: pixels as YUV, colour checks, and collecting frames through a wrtc sink. */
import { expect } from 'vitest';
import { createVideoSink, type I420Frame, type VideoTrack } from '../../../src/host/webrtc.js';

/** BT.601 limited-range YUV of pure colours, as ffmpeg and libyuv convert them. */
export const RED_YUV = [81, 90, 240];
export const GREEN_YUV = [145, 54, 34];
const TOLERANCE = 4;

export function yuvAt(frame: I420Frame, x: number, y: number): number[] {
  const { width, height, data } = frame;
  const chromaW = width / 2;
  const uOffset = width * height;
  const vOffset = uOffset + (width * height) / 4;
  const c = (y >> 1) * chromaW + (x >> 1);
  return [data[y * width + x]!, data[uOffset + c]!, data[vOffset + c]!];
}

export function expectColour(actual: number[], expected: number[]): void {
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!), `component ${i}: ${actual.join(',')} vs ${expected.join(',')}`).toBeLessThanOrEqual(TOLERANCE));
}

/** The scene both capture tests paint: a green rectangle on the red root window of a 1280x720 display. */
export const GREEN_RECT = { x: 100, y: 200, width: 300, height: 150 } as const;

/** A full-size 1280x720 frame shows GREEN_RECT on red, with red again just outside it. */
export function expectGreenRectOnRed(frame: I420Frame): void {
  expect([frame.width, frame.height, frame.data.length]).toEqual([1280, 720, (1280 * 720 * 3) / 2]);
  expectColour(yuvAt(frame, 20, 20), RED_YUV);
  expectColour(yuvAt(frame, 1200, 700), RED_YUV);
  expectColour(yuvAt(frame, 250, 275), GREEN_YUV);
  // Just outside the painted rectangle the background shows again.
  expectColour(yuvAt(frame, 90, 275), RED_YUV);
  expectColour(yuvAt(frame, 410, 275), RED_YUV);
}

/** Collects frames from a track until `count` have arrived (or `until` accepts one). */
export function collectFrames(track: VideoTrack, count: number, timeoutMs = 10_000, until?: (frame: I420Frame) => boolean): Promise<I420Frame[]> {
  const sink = createVideoSink(track);
  const frames: I420Frame[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sink.stop();
      reject(new Error(`only ${frames.length} of ${count} frames arrived`));
    }, timeoutMs);
    sink.onframe = ({ frame }) => {
      const copy = { width: frame.width, height: frame.height, data: Uint8Array.from(frame.data) };
      frames.push(copy);
      if (frames.length === count || until?.(copy)) {
        clearTimeout(timer);
        sink.stop();
        resolve(frames);
      }
    };
  });
}
