/**
 * libwebrtc field trials for the agent's WebRTC stack, set through the
 * wrtc-field-trials addon (native/wrtc-field-trials), because @roamhq/wrtc has
 * no API for them. The one the agent sets by default asks every video frame to
 * carry the playout-delay RTP header extension with min = 0: the client's
 * browser then renders each frame as soon as it is decoded instead of holding
 * it in an adaptive jitter buffer (measured in BENCHMARKS.md: receive to
 * display fell from ~100 ms to ~18 ms at 1280x720). `max` bounds how far the
 * receiver may still smooth a jittery network.
 *
 * Field trials are process-wide and read when a peer connection's video
 * sender is created, so they are set once, before the first session.
 */
import { createRequire } from 'node:module';
import { sep } from 'node:path';
import { findNativeAddon } from './native-addon.js';
import { simplePeerWrtc } from './webrtc.js';

/**
 * Pacing, set with the playout delay: libwebrtc's pacer spreads each frame
 * over time at a multiple of the target bitrate (2.5 by default), which on
 * the benchmark held packets 43-82 ms on average before they left. A factor
 * of 10 and bursts of up to 40 ms of media (what current libwebrtc and
 * Chromium do by default; wrtc's M106 has it behind this trial) send a frame
 * in a few ms; congestion control still sets the rate. Measured with the
 * agent's own stats: pacer delay 43 -> 19 ms at 1280x720, 82 -> 34 ms at
 * 1920x1080; glass to glass 102 -> 67 ms and 238 -> 99 ms.
 */
export const LOW_LATENCY_PACING_TRIALS = 'WebRTC-VideoRateControl/pacing_factor:10/WebRTC-BurstyPacer/burst:40ms/';

/** Highest max playout delay accepted; Chromium's low-latency renderer applies up to 500 ms. */
export const MAX_PLAYOUT_DELAY_MS = 500;

interface FieldTrialsNative {
  setFieldTrials(modulePath: string, trials: string): void;
}

/** The field-trial string for a playout delay of [0, maxMs]. */
export function playoutDelayTrial(maxMs: number): string {
  if (!Number.isInteger(maxMs) || maxMs < 0 || maxMs > MAX_PLAYOUT_DELAY_MS) throw new RangeError(`max playout delay must be an integer 0-${MAX_PLAYOUT_DELAY_MS} ms, got ${maxMs}`);
  return `WebRTC-ForceSendPlayoutDelay/min_ms:0,max_ms:${maxMs}/`;
}

/** The loaded wrtc binary's path (its module cache entry). */
function wrtcBinaryPath(): string | undefined {
  void simplePeerWrtc; // wrtc is loaded by importing webrtc.ts
  const req = createRequire(import.meta.url);
  return Object.keys(req.cache).find((k) => k.endsWith(`${sep}wrtc.node`));
}

export type FieldTrialsResult = { ok: true; trials: string } | { ok: false; reason: string };

/** Sets `trials` in wrtc's libwebrtc. Never throws: the agent streams without them, with the reason logged. */
export function setWebrtcFieldTrials(trials: string): FieldTrialsResult {
  if (process.platform !== 'linux') return { ok: false, reason: `field trials can only be set on Linux builds of wrtc (platform ${process.platform})` };
  const addon = findNativeAddon('wrtc-field-trials', 'wrtc_field_trials');
  if (!addon) return { ok: false, reason: 'the wrtc-field-trials addon is not built (npm run build:native)' };
  const binary = wrtcBinaryPath();
  if (!binary) return { ok: false, reason: 'the wrtc binary is not loaded' };
  try {
    const native = createRequire(import.meta.url)(addon) as FieldTrialsNative;
    native.setFieldTrials(binary, trials);
    return { ok: true, trials };
  } catch (err) {
    return { ok: false, reason: `${(err as Error).message} (${binary})` };
  }
}
