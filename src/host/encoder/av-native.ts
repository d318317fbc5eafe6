/**
 * Loads the host's own video encoder addon (native/av-encoder, built by
 * `npm run build:native` and on `npm install`): libavcodec driven on a libuv
 * worker thread (libx264, NVENC, VA-API, QSV, SVT-AV1). Where it was not
 * built (no libavcodec headers, not Linux) `loadAvNative` says why, and the
 * agent stops at start with that reason: it has no other encoder.
 */
import { createRequire } from 'node:module';
import { frameBytes } from '../capture/capture-source.js';
import { findNativeAddon } from '../native-addon.js';

/** Encoder names the addon knows, in the order `encoders()` reports them. */
export const AV_ENCODER_NAMES = [
  'libx264',
  'h264_nvenc',
  'h264_vaapi',
  'h264_qsv',
  'hevc_nvenc',
  'hevc_vaapi',
  'hevc_qsv',
  'libsvtav1',
  'av1_nvenc',
  'av1_vaapi',
  'av1_qsv',
] as const;
export type AvEncoderName = (typeof AV_ENCODER_NAMES)[number];

/** Layout of the frames `encode` takes: planar I420 (Y, then U and V at quarter size) or I444 (three full planes). */
export type AvPixelFormat = 'yuv420p' | 'yuv444p';

/** What the bitstream's VUI says about colour; it must match how the frames were converted from RGB. */
export interface AvColour {
  range: 'limited' | 'full';
  matrix: 'bt601' | 'bt709';
}

/**
 * The capture's conversion (libyuv ARGBToI420 / ARGBToI444 in native/xcb-capture)
 * is BT.601 limited range: this is what its frames must be labelled with.
 * Primaries BT.709 and transfer sRGB are written by the addon in every case.
 */
export const CAPTURE_COLOUR: AvColour = { range: 'limited', matrix: 'bt601' };

export interface AvOpenOptions {
  codec: AvEncoderName;
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  /** Default 'yuv420p'. 'yuv444p' only with libx264, h264_nvenc and hevc_nvenc. */
  pixelFormat?: AvPixelFormat;
  /** Software encoders' threads (x264: one slice per thread, no added delay). 0 or absent: one per core, at most 8. */
  threads?: number;
  /** Frames between periodic keyframes; default five minutes' worth (keyframes come on demand, after a PLI). */
  gopFrames?: number;
  /** Default CAPTURE_COLOUR (BT.601, limited). */
  colour?: AvColour;
  /** DRM render node for VA-API and QSV; default /dev/dri/renderD128. */
  device?: string;
}

export interface AvEncodeOptions {
  /**
   * Make this frame an IDR (with SPS/PPS in front): the answer to a PLI.
   * libsvtav1 cannot force one in low delay (SVT-AV1 1.4): it is reopened, which
   * drops the frames in its pipeline and starts a new sequence at this frame.
   */
  forceKeyframe?: boolean;
  /** Any non-negative integer, increasing from frame to frame; handed back with the packet. */
  pts: number;
}

export interface AvEncodeResult {
  /** One access unit: Annex-B with start codes for H.264/HEVC, a temporal unit of OBUs for AV1; null when the encoder gave nothing yet. */
  data: Buffer | null;
  keyframe: boolean;
  /** Time in avcodec_send_frame/receive_packet, ms. */
  encodeMs: number;
  /** Time converting or uploading the frame first (VA-API/QSV NV12), ms; 0 when the encoder reads the frame in place. */
  convertMs: number;
  /** pts of the frame `data` belongs to: the one just sent, except with libsvtav1, whose packets come out about three frames late through ffmpeg 5.1. */
  pts: number;
}

export interface AvInfo {
  codec: AvEncoderName;
  family: 'x264' | 'nvenc' | 'vaapi' | 'qsv' | 'svtav1';
  kind: 'h264' | 'hevc' | 'av1';
  hardware: boolean;
  width: number;
  height: number;
  fps: number;
  /** What `encode` takes. */
  inputFormat: AvPixelFormat;
  /** What the encoder itself is fed: the input, 'nv12' (QSV) or 'vaapi(nv12)'. */
  pixelFormat: string;
  /** From the stream's SPS once a keyframe came out (e.g. "Constrained Baseline", "High 4:4:4 Predictive"); null before. */
  profile: string | null;
  /** Likewise, e.g. 3.1; null before the first keyframe and for AV1. */
  level: number | null;
  /** Software encoders' threads; 0 for hardware ones. */
  threads: number;
  /** The rate in effect (a reconfigure shows once the next frame has taken it). */
  bitrateKbps: number;
  /** true: a bitrate change applies between frames; false: the encoder is reopened (the next frame is an IDR). */
  dynamicBitrate: boolean;
  gopFrames: number;
  /** VA-API/QSV: whether the low-power entry point opened; null for the others. */
  lowPower: boolean | null;
  /** The encoder reads the JS frame in place (no copy). */
  zeroCopy: boolean;
  framesIn: number;
  packetsOut: number;
  /** Warnings libav gave while opening. */
  notes: string;
  /** libavcodec's build identifier, e.g. "Lavc59.37.100". */
  libavcodec: string;
}

/** Stable codes on the addon's errors (`err.code`). */
export type AvErrorCode =
  | 'ERR_AV_ARGS'
  | 'ERR_AV_UNAVAILABLE'
  | 'ERR_AV_OPEN'
  | 'ERR_AV_ENCODE'
  | 'ERR_AV_FRAME_SIZE'
  | 'ERR_AV_BUSY'
  | 'ERR_AV_CLOSED'
  | 'ERR_AV_BROKEN';

declare const handleBrand: unique symbol;
export type AvHandle = { readonly [handleBrand]: true };

/**
 * The addon's functions (see native/av-encoder/src/av_encoder.c). Synchronous
 * ones throw, asynchronous ones reject, with an Error whose `code` is an
 * AvErrorCode and whose message carries libav's reason.
 */
export interface AvNative {
  /** Which of AV_ENCODER_NAMES this libavcodec build has (hardware ones may still fail to open). */
  encoders(): AvEncoderName[];
  /** Opens on a worker thread: loading a GPU driver can take hundreds of ms. */
  open(options: AvOpenOptions): Promise<AvHandle>;
  /** One frame in; refuses (throws ERR_AV_BUSY) while another encode on the handle is in flight. */
  encode(handle: AvHandle, frame: Uint8Array, options: AvEncodeOptions): Promise<AvEncodeResult>;
  /** Stores a new target bitrate, applied before the next frame. */
  reconfigure(handle: AvHandle, settings: { bitrateKbps: number }): { mode: 'dynamic' | 'reopen' };
  info(handle: AvHandle): AvInfo;
  /** Frees everything (after an in-flight encode finishes); flushes nothing; idempotent. */
  close(handle: AvHandle): void;
}

/** Bytes in one frame of `format` at `width` x `height`. */
export function avFrameSize(width: number, height: number, format: AvPixelFormat): number {
  return frameBytes(width, height, format === 'yuv444p' ? 'i444' : 'i420');
}

export type AvLoad = { ok: true; native: AvNative; path: string } | { ok: false; reason: string };

let cached: AvLoad | undefined;

export function loadAvNative(): AvLoad {
  if (cached) return cached;
  if (process.platform !== 'linux') return (cached = { ok: false, reason: `the av-encoder addon is built on Linux only (platform ${process.platform})` });
  const path = findNativeAddon('av-encoder', 'av_encoder');
  if (!path) return (cached = { ok: false, reason: 'the av-encoder addon is not built (run `npm run build:native`; it needs libavcodec-dev, libavutil-dev, libyuv-dev and pkg-config)' });
  try {
    const native = createRequire(import.meta.url)(path) as AvNative;
    return (cached = { ok: true, native, path });
  } catch (err) {
    return (cached = { ok: false, reason: `the av-encoder addon did not load: ${(err as Error).message}` });
  }
}
