/**
 * Loads the in-process X11 capture addon (native/xcb-capture, built by
 * `npm run build:native` and on `npm install`). It is optional: where it was
 * not built (no X11 or libyuv headers, not Linux) the agent falls back to the
 * ffmpeg pipeline, and `loadXcbNative` says why.
 */
import { createRequire } from 'node:module';
import { findNativeAddon } from '../native-addon.js';
import { frameBytes, type FrameFormat } from './capture-source.js';

/** Result of one `next` call. */
export interface XcbNextResult {
  /** A frame was written into `out`. */
  captured: boolean;
  /** The region had been damaged (as opposed to a cursor-only change or a forced grab). */
  damage: boolean;
  /** Time spent waiting for a change, ms. */
  waitedMs: number;
  /** ShmGetImage and cursor blending, ms. */
  grabMs: number;
  /** BGRX to I420 or I444 (and scaling), ms. */
  convertMs: number;
}

export type XcbFormat = FrameFormat;

/** Bytes in one frame of `format` at `width` x `height`, which `next`'s `out` must hold. */
export function xcbFrameSize(format: XcbFormat, width: number, height: number): number {
  return frameBytes(width, height, format);
}

export interface XcbConfigure {
  x: number;
  y: number;
  width: number;
  height: number;
  outWidth: number;
  outHeight: number;
  drawCursor: boolean;
  /**
   * Output layout: planar I420 (default) or I444 (full chroma, three full planes).
   * Both are libyuv's BT.601 matrix, limited range (ARGBToI420 / ARGBToI444):
   * an encoder must label them so (CAPTURE_COLOUR in encoder/av-native.ts).
   */
  format?: XcbFormat;
}

declare const handleBrand: unique symbol;
export type XcbHandle = { readonly [handleBrand]: true };

/** The addon's functions (see native/xcb-capture/src/xcb_capture.c). All throw Error with a reason. */
export interface XcbNative {
  open(display: string): XcbHandle;
  screen(handle: XcbHandle): { width: number; height: number };
  configure(handle: XcbHandle, settings: XcbConfigure): void;
  next(handle: XcbHandle, out: Uint8Array, waitMs: number, force: boolean): Promise<XcbNextResult>;
  close(handle: XcbHandle): void;
}

export type XcbLoad = { ok: true; native: XcbNative; path: string } | { ok: false; reason: string };

let cached: XcbLoad | undefined;

export function loadXcbNative(): XcbLoad {
  if (cached) return cached;
  if (process.platform !== 'linux') return (cached = { ok: false, reason: `in-process capture is X11 only (platform ${process.platform})` });
  const path = findNativeAddon('xcb-capture', 'xcb_capture');
  if (!path) return (cached = { ok: false, reason: 'the xcb-capture addon is not built (run `npm run build:native`; it needs libxcb-shm0-dev, libxcb-damage0-dev, libxcb-xfixes0-dev and libyuv-dev)' });
  try {
    const native = createRequire(import.meta.url)(path) as XcbNative;
    return (cached = { ok: true, native, path });
  } catch (err) {
    return (cached = { ok: false, reason: `the xcb-capture addon did not load: ${(err as Error).message}` });
  }
}
