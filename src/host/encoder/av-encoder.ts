/**
 * The Encoder stage over the av-encoder addon (libavcodec): one handle per
 * stream, frames encoded on a libuv worker thread, bitrate changes applied
 * before the next frame. Which libavcodec encoder runs is decided by the
 * probe at agent start (probe.ts) and the session's codec.
 */
import type { VideoCodec } from '../../shared/policy.js';
import { HostError } from '../errors.js';
import type { AvEncoderName, AvHandle, AvInfo, AvNative } from './av-native.js';
import type { EncodedFrame, Encoder, EncoderFactory, EncoderSettings } from './encoder.js';

/** Periodic keyframes are a safety net only: the receiver's PLI asks for one whenever it needs it. */
const GOP_SECONDS = 300;

/** The codec family each libavcodec encoder produces. */
export function codecOfEncoder(name: AvEncoderName): VideoCodec | 'H265' {
  if (name === 'libx264' || name.startsWith('h264_')) return 'H264';
  if (name.startsWith('hevc_')) return 'H265';
  return 'AV1';
}

/** Encoders that take 4:4:4 input and write a 4:4:4 bitstream (the addon's own rule). */
export function encodes444(name: AvEncoderName): boolean {
  return name === 'libx264' || name === 'h264_nvenc' || name === 'hevc_nvenc';
}

export class AvEncoder implements Encoder {
  readonly codec: VideoCodec | 'H265';
  private pts = 0;
  private closed = false;

  private constructor(
    private readonly native: AvNative,
    private readonly handle: AvHandle,
    readonly name: AvEncoderName,
    readonly settings: EncoderSettings,
  ) {
    this.codec = codecOfEncoder(name);
  }

  /** Opens `name` for `settings`; rejects with ERR_CODEC_UNAVAILABLE and libav's reason. */
  static async open(native: AvNative, name: AvEncoderName, settings: EncoderSettings, threads?: number): Promise<AvEncoder> {
    try {
      const handle = await native.open({
        codec: name,
        width: settings.width,
        height: settings.height,
        fps: settings.fps,
        bitrateKbps: settings.bitrateKbps,
        pixelFormat: settings.pixelFormat,
        gopFrames: Math.round(settings.fps * GOP_SECONDS),
        colour: settings.colour,
        ...(threads === undefined ? {} : { threads }),
      });
      return new AvEncoder(native, handle, name, settings);
    } catch (err) {
      throw new HostError('ERR_CODEC_UNAVAILABLE', `${name} would not open at ${settings.width}x${settings.height} ${settings.pixelFormat}: ${(err as Error).message}`, { cause: err });
    }
  }

  async encode(frame: Uint8Array, forceKeyframe: boolean): Promise<EncodedFrame | undefined> {
    if (this.closed) return undefined;
    try {
      const out = await this.native.encode(this.handle, frame, { forceKeyframe, pts: this.pts++ });
      if (!out.data) return undefined;
      return { data: out.data, keyframe: out.keyframe, encodeMs: out.encodeMs + out.convertMs };
    } catch (err) {
      throw new HostError('ERR_ENCODER_FAILED', `${this.name}: ${(err as Error).message}`, { cause: err });
    }
  }

  setBitrate(kbps: number): void {
    if (!this.closed) this.native.reconfigure(this.handle, { bitrateKbps: Math.round(kbps) });
  }

  info(): AvInfo | undefined {
    return this.closed ? undefined : this.native.info(this.handle);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close(this.handle);
  }
}

/**
 * A factory trying `names` in order (the probe's survivors, best first) and
 * keeping the first that opens at the stream's settings: a GPU encoder that
 * opened at 1080p may still refuse 4K or 4:4:4.
 */
export function avEncoderFactory(native: AvNative, names: readonly AvEncoderName[], threads?: number): EncoderFactory {
  return async (settings) => {
    const reasons: string[] = [];
    for (const name of names) {
      if (settings.pixelFormat === 'yuv444p' && !encodes444(name)) {
        reasons.push(`${name}: no 4:4:4`);
        continue;
      }
      try {
        return await AvEncoder.open(native, name, settings, threads);
      } catch (err) {
        reasons.push((err as Error).message);
      }
    }
    throw new HostError('ERR_CODEC_UNAVAILABLE', `no encoder opened: ${reasons.join('; ') || 'none available'}`);
  };
}
