/**
 * Receive-side latency settings: the smallest jitter buffer the browser
 * allows, and the video codec order (policy ∩ browser ∩ user preference).
 */
import type { VideoCodec } from '../../shared/policy.js';

/** The codec entries that carry no video of their own: keep them so retransmission and FEC still negotiate. */
const AUXILIARY = /^video\/(rtx|red|ulpfec|flexfec-03)$/i;

export interface CodecCapability {
  mimeType: string;
  clockRate: number;
  sdpFmtpLine?: string;
  channels?: number;
}

/**
 * The browser's codecs reordered for `setCodecPreferences`: the user's choice
 * first (if the policy allows it), then the policy's order; codecs the policy
 * does not allow are left out. Null when nothing would remain, so the caller
 * leaves the browser's default in place rather than break negotiation.
 */
export function orderCodecs<C extends CodecCapability>(available: readonly C[], policy: readonly VideoCodec[], preferred: VideoCodec | null): C[] | null {
  const order = preferred && policy.includes(preferred) ? [preferred, ...policy.filter((c) => c !== preferred)] : [...policy];
  const out: C[] = [];
  for (const codec of order) {
    for (const cap of available) if (cap.mimeType.toLowerCase() === `video/${codec.toLowerCase()}`) out.push(cap);
  }
  if (out.length === 0) return null;
  for (const cap of available) if (AUXILIARY.test(cap.mimeType)) out.push(cap);
  return out;
}

/** What Chromium's RTCRtpReceiver has beyond the DOM typings (both are in the WebRTC extensions spec). */
interface LowLatencyReceiver {
  jitterBufferTarget?: number | null;
  playoutDelayHint?: number | null;
}

/** Asks for the smallest jitter buffer the browser allows: a remote desktop wants latency over smoothness. */
export function minimiseJitterBuffer(receiver: RTCRtpReceiver): void {
  const r = receiver as RTCRtpReceiver & LowLatencyReceiver;
  try {
    if ('jitterBufferTarget' in r) r.jitterBufferTarget = 0;
    if ('playoutDelayHint' in r) r.playoutDelayHint = 0;
  } catch (err) {
    console.warn('cannot lower the jitter buffer:', err);
  }
}
