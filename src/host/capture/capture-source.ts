/**
 * The seam between "where pictures come from" and the WebRTC session. The
 * first implementation grabs X11 with ffmpeg and hands raw I420 frames to
 * libwebrtc's encoder; a hardware-encoder path (NVENC/VAAPI passing encoded
 * RTP through) or another platform's grabber implements the same interface.
 */
import type { HostError } from '../errors.js';
import type { VideoTrack } from '../webrtc.js';

export interface CaptureStats {
  width: number;
  height: number;
  /** Frames handed to the encoder since start. */
  framesCaptured: number;
  /** Frames per second over the last measurement window (0 before the first). */
  fps: number;
}

export interface CaptureSource {
  /**
   * Starts capturing and returns the video track to send. Resolves once the
   * first frame has arrived, so a broken capture fails here, not later.
   * `onFailure` is called (once) if capture dies after starting.
   */
  start(onFailure: (err: HostError) => void): Promise<VideoTrack>;
  /** Stops capturing and ends the track. Idempotent. */
  stop(): Promise<void>;
  stats(): CaptureStats;
}
