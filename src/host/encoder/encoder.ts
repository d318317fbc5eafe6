/**
 * The encoder stage as the stream sees it: planar frames in, one encoded
 * access unit out, keyframes on demand, bitrate changeable between frames.
 * av-encoder.ts implements it over libavcodec (libx264, NVENC, VA-API,
 * QSV, SVT-AV1); nothing here is platform-specific, so a Windows host
 * (h264_nvenc, h264_amf, h264_qsv, h264_mf) or a macOS host
 * (h264_videotoolbox) plugs in behind the same interface.
 */
import type { VideoCodec } from '../../shared/policy.js';

export type PixelFormat = 'yuv420p' | 'yuv444p';

/** Colour signalled in the bitstream; it must describe what the capture's RGB→YUV conversion produced. */
export interface ColourDescription {
  range: 'limited' | 'full';
  matrix: 'bt601' | 'bt709';
}

export interface EncoderSettings {
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  pixelFormat: PixelFormat;
  colour: ColourDescription;
}

export interface EncodedFrame {
  /** One access unit; Annex-B (start codes) for H.264/HEVC, OBUs for AV1. */
  data: Uint8Array;
  keyframe: boolean;
  /** Time the encoder took for this frame, ms (on its worker thread). */
  encodeMs: number;
}

export interface Encoder {
  /** The libavcodec encoder name, e.g. libx264 or h264_nvenc. */
  readonly name: string;
  readonly codec: VideoCodec | 'H265';
  readonly settings: EncoderSettings;
  /** Encodes one planar frame (I420 or I444, as `settings.pixelFormat`); undefined if the encoder held it back. */
  encode(frame: Uint8Array, forceKeyframe: boolean): Promise<EncodedFrame | undefined>;
  /** Applies from the next frame. */
  setBitrate(kbps: number): void;
  /** Frees the encoder; an encode in flight finishes first. Idempotent. */
  close(): void;
}

/** Opens an encoder for a stream's settings; the stream reopens it when the picture's size changes. */
export type EncoderFactory = (settings: EncoderSettings) => Promise<Encoder>;
