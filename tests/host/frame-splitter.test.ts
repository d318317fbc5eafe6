import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameSplitter } from '../../src/host/capture/frame-splitter.js';

function collect(frameSize: number): { splitter: FrameSplitter; frames: number[][] } {
  const frames: number[][] = [];
  // The splitter reuses its buffer, so each frame is copied out.
  const splitter = new FrameSplitter(frameSize, (f) => frames.push([...f]));
  return { splitter, frames };
}

describe('FrameSplitter', () => {
  it('emits a frame that arrives in one exact chunk', () => {
    const { splitter, frames } = collect(4);
    splitter.push(Uint8Array.of(1, 2, 3, 4));
    expect(frames).toEqual([[1, 2, 3, 4]]);
    expect(splitter.pending).toBe(0);
  });

  it('joins a frame split across chunks and holds back the incomplete rest', () => {
    const { splitter, frames } = collect(4);
    splitter.push(Uint8Array.of(1, 2));
    expect(frames).toEqual([]);
    splitter.push(Uint8Array.of(3, 4, 5));
    expect(frames).toEqual([[1, 2, 3, 4]]);
    expect(splitter.pending).toBe(1);
    splitter.push(Uint8Array.of(6, 7, 8));
    expect(frames).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
  });

  it('emits several frames from one large chunk', () => {
    const { splitter, frames } = collect(3);
    splitter.push(Uint8Array.from({ length: 10 }, (_, i) => i));
    expect(frames).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
    ]);
    expect(splitter.pending).toBe(1);
  });

  it('ignores empty chunks', () => {
    const { splitter, frames } = collect(2);
    splitter.push(new Uint8Array(0));
    expect(frames).toEqual([]);
  });

  it('rejects a non-positive frame size', () => {
    expect(() => new FrameSplitter(0, () => {})).toThrow(RangeError);
    expect(() => new FrameSplitter(1.5, () => {})).toThrow(RangeError);
  });

  it('yields the same frames however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.uint8Array({ maxLength: 600 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 20 }),
        (frameSize, stream, cuts) => {
          const { splitter, frames } = collect(frameSize);
          const points = [...new Set(cuts.map((c) => Math.min(c, stream.length)))].sort((a, b) => a - b);
          let prev = 0;
          for (const p of [...points, stream.length]) {
            splitter.push(stream.subarray(prev, p));
            prev = p;
          }
          const whole = Math.floor(stream.length / frameSize);
          expect(frames.length).toBe(whole);
          for (let i = 0; i < whole; i++) expect(frames[i]).toEqual([...stream.subarray(i * frameSize, (i + 1) * frameSize)]);
          expect(splitter.pending).toBe(stream.length % frameSize);
        },
      ),
    );
  });
});
