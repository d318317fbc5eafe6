/**
 * The seam between "where pictures come from" and the encoder: a capture
 * delivers planar frames to a sink (the encoder stage). Implementations: in-process
 * MIT-SHM capture on X11 (xcb-capture.ts); the ffmpeg pipeline
 * (ffmpeg-capture.ts) with its X11, Windows `ddagrab`/`gdigrab` and macOS
 * `avfoundation` backends (ffmpeg-backends.ts).
 */
import type { Monitor } from '../../shared/control.js';
import type { HostError } from '../errors.js';

export interface CaptureStats {
  width: number;
  height: number;
  /** Frames handed to the encoder since start. */
  framesCaptured: number;
  /** Frames per second over the last measurement window (0 before the first). */
  fps: number;
  /** Times the capture was restarted with new settings. */
  restarts: number;
  /** Which capture path runs: 'xcb' (in-process MIT-SHM) or 'ffmpeg'. */
  backend?: string;
  /** Median ms from the start of a grab to the I420 frame, over the last window (in-process capture only). */
  grabToFrameMs?: number;
}

/** Planar frame layouts a capture can produce (BT.601 limited range, as libyuv converts). */
export type FrameFormat = 'i420' | 'i444';

/** Bytes of one planar frame. */
export function frameBytes(width: number, height: number, format: FrameFormat): number {
  return format === 'i444' ? width * height * 3 : width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

/** One captured picture, handed to the encoder stage. The buffer is reused once the sink's promise settles. */
export interface RawFrame {
  width: number;
  height: number;
  format: FrameFormat;
  data: Uint8Array;
  /**
   * The frame's capture time (performance.now()), carried into its RTP
   * timestamp: when the grab started for the in-process capture; when the
   * whole frame arrived on the pipe for ffmpeg, which does not say when it
   * grabbed.
   */
  capturedAt: number;
}

/**
 * Where a capture delivers frames; a returned promise holds the frame's
 * buffer until it settles. The capture may grab the next frame into another
 * buffer meanwhile (XcbCapture keeps FRAME_BUFFERS), and waits when the sink
 * holds them all. A sink that throws or rejects is a capture failure
 * (reported through `onFailure`), never an unhandled rejection.
 */
export interface FrameSink {
  (frame: RawFrame): void | Promise<void>;
  /**
   * Optional: ms until the sink would start on a frame handed to it now (0:
   * at once). A capture that can time its grabs starts the next one so it
   * ends about then, instead of taking a picture that would only wait (and
   * age) in the sink, or be replaced there by a newer one.
   */
  readyIn?: () => number;
}

/** A rectangle of the host's desktop, in desktop pixels. */
export interface CaptureRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What to capture and at which size and rate. */
export interface CaptureSettings {
  region: CaptureRegion;
  /** Size of the frames handed to the encoder (scaled from the region); even numbers. */
  width: number;
  height: number;
  fps: number;
  /** Planar layout of the frames; default i420. */
  format?: FrameFormat;
}

export interface CaptureSource {
  /** The host's monitors; the first one marked primary is the default. */
  monitors(): Promise<Monitor[]>;
  /**
   * Starts capturing into `sink`. Resolves once the first frame has been
   * delivered, so a broken capture fails here, not later. `onFailure` is
   * called (once) if capture dies after starting.
   */
  start(settings: CaptureSettings, sink: FrameSink, onFailure: (err: HostError) => void): Promise<void>;
  /** Changes what is captured; frames keep flowing to the same sink (the peer is not renegotiated). */
  reconfigure(settings: CaptureSettings): Promise<void>;
  /** Stops capturing; no frame reaches the sink once it resolves. Idempotent; a stopped capture is not started again. */
  stop(): Promise<void>;
  stats(): CaptureStats;
}
