/**
 * A stand-in Encoder for EncodedStream's scheduling: each encode either waits
 * to be finished by the test (`manual`) or takes `encodeMs` of (fake) time,
 * and it records what a real one must never see: two encodes at once, an
 * encode or a close while one is in flight, or input that changed while it
 * was being read.
 */
import type { EncodedFrame, Encoder, EncoderFactory, EncoderSettings } from '../../../src/host/encoder/encoder.js';

export interface EncodeCall {
  /** The first bytes of the frame when the encode began (the frame's tag). */
  tag: number;
  forceKeyframe: boolean;
  startedAt: number;
  /** Finishes a manual encode: with a one-byte access unit (a keyframe if forced), `out`, or null for "held back". */
  finish: (out?: EncodedFrame | null) => void;
  fail: (err: Error) => void;
}

/** Writes `index` into the first four bytes of a frame, where SlowEncoder and the tests read it back. */
export function tagFrame(data: Uint8Array, index: number): Uint8Array {
  new DataView(data.buffer, data.byteOffset, 4).setUint32(0, index, true);
  return data;
}

export function frameTag(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
}

export class SlowEncoder implements Encoder {
  readonly name = 'slow';
  readonly codec = 'H264' as const;
  readonly calls: EncodeCall[] = [];
  readonly bitrates: number[] = [];
  /** Broken promises: each names what happened. */
  readonly violations: string[] = [];
  closed = false;
  /** close() came while an encode was in flight (allowed by Encoder, but a reopen should not do it). */
  closedWhileBusy = false;
  busy = false;

  constructor(
    readonly settings: EncoderSettings,
    private readonly mode: { encodeMs: number } | 'manual',
  ) {}

  encode(frame: Uint8Array, forceKeyframe: boolean): Promise<EncodedFrame | undefined> {
    if (this.closed) this.violations.push('encode after close');
    if (this.busy) this.violations.push('two encodes at once');
    this.busy = true;
    const tag = frameTag(frame);
    const startedAt = performance.now();
    return new Promise<EncodedFrame | undefined>((resolve, reject) => {
      const done = (): void => {
        this.busy = false;
        // The capture must not have written into the buffer while we read it.
        if (frameTag(frame) !== tag) this.violations.push(`frame ${tag} overwritten (now ${frameTag(frame)}) during its encode`);
      };
      const call: EncodeCall = {
        tag,
        forceKeyframe,
        startedAt,
        finish: (out) => {
          done();
          resolve(out === null ? undefined : (out ?? { data: Uint8Array.of(tag & 0xff), keyframe: forceKeyframe, encodeMs: performance.now() - startedAt }));
        },
        fail: (err) => {
          done();
          reject(err);
        },
      };
      this.calls.push(call);
      if (this.mode !== 'manual') setTimeout(() => call.finish(), this.mode.encodeMs);
    });
  }

  setBitrate(kbps: number): void {
    this.bitrates.push(kbps);
  }

  close(): void {
    if (this.busy) this.closedWhileBusy = true;
    this.closed = true;
  }
}

/** A factory handing out SlowEncoders, kept in `opened` in order. */
export function slowEncoders(mode: { encodeMs: number } | 'manual'): { open: EncoderFactory; opened: SlowEncoder[] } {
  const opened: SlowEncoder[] = [];
  return {
    opened,
    open: (settings) => {
      const encoder = new SlowEncoder(settings, mode);
      opened.push(encoder);
      return Promise.resolve(encoder);
    },
  };
}
