/**
 * What the stream should be, from what the client asked, what the session's
 * policy allows and what the host can do. Pure, so the clamping rules are
 * unit-tested without a display.
 */
import type { Monitor, QualityRequest } from '../shared/control.js';
import type { SessionPolicy, VideoCodec } from '../shared/policy.js';
import type { CaptureRegion, CaptureSettings } from './capture/capture-source.js';
import { ALL_MONITORS } from './x11/monitors.js';

/** Highest capture rate the ffmpeg pipeline is run at, whatever policy allows (issue 4: up to 60 fps). */
export const MAX_CAPTURE_FPS = 60;
/** Smallest frame we encode; below this libwebrtc's encoders misbehave and nobody can work. */
const MIN_WIDTH = 160;
const MIN_HEIGHT = 120;
/**
 * Bits per pixel per frame of the default bitrate. Chosen from the benchmark:
 * on software VP8, every extra megabit costs encode and decode time, and at
 * 15 Mbps 1280x720 took 271 ms glass to glass against 120 ms at 3 Mbps. 0.06
 * gives 1.7 Mbps at 1280x720@30, 3.7 Mbps at 1920x1080@30 and 7.5 Mbps at
 * 1920x1080@60; the client can ask for more, up to the policy's ceiling.
 */
export const DEFAULT_BITS_PER_PIXEL = 0.06;
const MIN_DEFAULT_BITRATE_KBPS = 1_000;
/**
 * A 4:4:4 (full colour) stream's default bitrate, as a multiple of 4:2:0's:
 * it carries twice the samples (three full planes against one and two
 * quarters). At 4:2:0's default (1.66 Mb/s at 1280x720@30, each frame capped
 * at bitrate / fps by the encoder's one-frame VBV) the full-colour e2e test
 * card's first 4:4:4 keyframe did not fit: x264 ran one of its slices out of
 * bits and sent it with no residual at all, a flat grey half picture (7 of 8
 * runs), and the settled picture kept a mean chroma error of 39-41, barely
 * below 4:2:0's 50. At twice: whole in 8 of 8, settled at 24-25. A connection
 * learns its chroma from the offer, after initialQuality: see withChroma.
 */
export const CHROMA444_BITRATE_FACTOR = 2;

/** The bitrate a stream starts with when the client does not ask for one, in kbps; `chroma444` for a full-colour stream. */
export function defaultBitrateKbps(width: number, height: number, fps: number, chroma444 = false): number {
  const kbps = Math.max(MIN_DEFAULT_BITRATE_KBPS, Math.round((width * height * fps * DEFAULT_BITS_PER_PIXEL) / 1000));
  return chroma444 ? kbps * CHROMA444_BITRATE_FACTOR : kbps;
}


/** The stream as it runs now: what `hello` and `quality.applied` report. */
export interface StreamQuality {
  monitor: string;
  width: number;
  height: number;
  fps: number;
  maxBitrateKbps: number;
  codec: VideoCodec | undefined;
  /** The connection runs 4:4:4 (decided with the client's offer: withChroma); absent for 4:2:0. */
  chroma444?: boolean;
}

/** Whether `current` runs at the default bitrate for its size, rate and chroma (clamped to policy): one the client never chose. */
function atDefaultBitrate(current: StreamQuality, policy: SessionPolicy): boolean {
  return current.maxBitrateKbps === Math.min(defaultBitrateKbps(current.width, current.height, current.fps, current.chroma444 === true), policy.maxBitrateKbps);
}

/** The region a monitor id selects; 'all' (or an unknown id) is the bounding box of every monitor. */
export function regionOf(monitors: readonly Monitor[], id: string): CaptureRegion | undefined {
  const one = monitors.find((m) => m.id === id);
  if (one) return { x: one.x, y: one.y, width: one.width, height: one.height };
  if (id !== ALL_MONITORS || monitors.length === 0) return undefined;
  const x = Math.min(...monitors.map((m) => m.x));
  const y = Math.min(...monitors.map((m) => m.y));
  const right = Math.max(...monitors.map((m) => m.x + m.width));
  const bottom = Math.max(...monitors.map((m) => m.y + m.height));
  return { x, y, width: right - x, height: bottom - y };
}

/** The monitor a session starts on: the primary one. */
export function defaultMonitor(monitors: readonly Monitor[]): string {
  return (monitors.find((m) => m.primary) ?? monitors[0])?.id ?? ALL_MONITORS;
}

const even = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

/**
 * Fits `width`x`height` inside the region (we never upscale) and the policy's
 * maximum, keeping the requested aspect ratio, in even pixels.
 */
function fitSize(width: number, height: number, region: CaptureRegion, policy: SessionPolicy): { width: number; height: number } {
  const scale = Math.min(1, region.width / width, region.height / height, policy.maxWidth / width, policy.maxHeight / height);
  return { width: even(Math.max(MIN_WIDTH, width * scale)), height: even(Math.max(MIN_HEIGHT, height * scale)) };
}

/**
 * Applies a client's request on top of the current stream, clamped to policy
 * and the host. Fields the client leaves out keep their current value; a
 * new monitor without a size gets that monitor's native size (clamped).
 */
export function applyQualityRequest(
  current: StreamQuality,
  request: QualityRequest,
  monitors: readonly Monitor[],
  policy: SessionPolicy,
  /** Codecs the running pipeline can send (none before it runs: a codec wish then waits). */
  sendable: readonly VideoCodec[] = [],
): StreamQuality {
  const monitor = request.monitor !== undefined && regionOf(monitors, request.monitor) ? request.monitor : current.monitor;
  const region = regionOf(monitors, monitor) ?? { x: 0, y: 0, width: current.width, height: current.height };
  const monitorChanged = monitor !== current.monitor;
  const aspect = region.width / region.height;
  let width = request.width ?? (request.height !== undefined ? Math.round(request.height * aspect) : monitorChanged ? region.width : current.width);
  let height = request.height ?? (request.width !== undefined ? Math.round(request.width / aspect) : monitorChanged ? region.height : current.height);
  ({ width, height } = fitSize(width, height, region, policy));
  const fps = Math.max(1, Math.min(request.fps ?? current.fps, policy.maxFps, MAX_CAPTURE_FPS));
  // A bitrate the client never chose follows the size and rate; one it chose stays.
  const carried = atDefaultBitrate(current, policy) ? defaultBitrateKbps(width, height, fps, current.chroma444 === true) : current.maxBitrateKbps;
  const maxBitrateKbps = Math.min(request.maxBitrateKbps ?? carried, policy.maxBitrateKbps);
  // A codec outside policy or that we cannot encode is ignored; the reply shows what stays.
  const codec = request.codec !== undefined && sendable.includes(request.codec) ? request.codec : current.codec;
  return { monitor, width, height, fps, maxBitrateKbps, codec, ...(current.chroma444 ? { chroma444: true } : {}) };
}

/**
 * The stream once the connection's chroma is known (the client's offer): a
 * default bitrate follows it, CHROMA444_BITRATE_FACTOR times for 4:4:4
 * (clamped to policy); one the client chose stays.
 */
export function withChroma(current: StreamQuality, chroma444: boolean, policy: SessionPolicy): StreamQuality {
  const { chroma444: _was, ...rest } = current;
  const maxBitrateKbps = atDefaultBitrate(current, policy) ? Math.min(defaultBitrateKbps(current.width, current.height, current.fps, chroma444), policy.maxBitrateKbps) : current.maxBitrateKbps;
  return { ...rest, maxBitrateKbps, ...(chroma444 ? { chroma444: true } : {}) };
}

/** The first stream of a session: the primary monitor at native size, clamped. */
export function initialQuality(monitors: readonly Monitor[], policy: SessionPolicy, fps: number): StreamQuality {
  const monitor = defaultMonitor(monitors);
  const region = regionOf(monitors, monitor) ?? { x: 0, y: 0, width: 1280, height: 720 };
  const size = fitSize(region.width, region.height, region, policy);
  const rate = Math.max(1, Math.min(fps, policy.maxFps, MAX_CAPTURE_FPS));
  return {
    monitor,
    ...size,
    fps: rate,
    maxBitrateKbps: Math.min(defaultBitrateKbps(size.width, size.height, rate), policy.maxBitrateKbps),
    codec: undefined,
  };
}

/** Capture settings for a stream quality. */
export function captureSettingsFor(quality: StreamQuality, monitors: readonly Monitor[]): CaptureSettings {
  const region = regionOf(monitors, quality.monitor) ?? { x: 0, y: 0, width: quality.width, height: quality.height };
  return { region, width: quality.width, height: quality.height, fps: quality.fps };
}

/** The `applied` object of `hello` and `quality.applied`. */
export function appliedOf(quality: StreamQuality): QualityRequest {
  return {
    monitor: quality.monitor,
    width: quality.width,
    height: quality.height,
    fps: quality.fps,
    maxBitrateKbps: quality.maxBitrateKbps,
    ...(quality.codec === undefined ? {} : { codec: quality.codec }),
  };
}
