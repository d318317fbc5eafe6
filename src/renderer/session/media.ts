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

/** The H.264 profile_idc of High 4:4:4 Predictive (profile-level-id f4xxxx): full colour. */
const H264_HIGH_444 = 'f4';

/** The H.264 profile-level-id in an fmtp line, lower-cased, or null. */
export function h264ProfileLevelId(fmtp: string | undefined | null): string | null {
  const m = /(?:^|;)\s*profile-level-id=([0-9a-f]{6})\s*(?:;|$)/i.exec(fmtp ?? '');
  return m ? m[1]!.toLowerCase() : null;
}

/** Whether a codec capability is H.264 High 4:4:4 Predictive (full colour). */
export function isFullColourH264(cap: CodecCapability): boolean {
  return cap.mimeType.toLowerCase() === 'video/h264' && h264ProfileLevelId(cap.sdpFmtpLine)?.startsWith(H264_HIGH_444) === true;
}

/** Whether the browser can decode full colour as the host sends it: an H.264 High 4:4:4 entry in its receive capabilities. */
export function canDecodeFullColour(available: readonly CodecCapability[] | null | undefined): boolean {
  return !!available?.some(isFullColourH264);
}

/**
 * The browser's codecs reordered for `setCodecPreferences`: the user's choice
 * first (if the policy allows it), then the policy's order; codecs the policy
 * does not allow are left out. Null when nothing would remain, so the caller
 * leaves the browser's default in place rather than break negotiation.
 *
 * Among the H.264 entries, High 4:4:4 (f4001f) goes first when `fullColour`
 * and after the 4:2:0 ones otherwise: the encoded host sends 4:4:4 exactly
 * when it is the first H.264 format of the offer (src/host/transport/offer.ts
 * `prefersChroma444`), so this order is how the client asks for full colour.
 */
export function orderCodecs<C extends CodecCapability>(
  available: readonly C[],
  policy: readonly VideoCodec[],
  preferred: VideoCodec | null,
  fullColour = false,
): C[] | null {
  const order = preferred && policy.includes(preferred) ? [preferred, ...policy.filter((c) => c !== preferred)] : [...policy];
  const out: C[] = [];
  for (const codec of order) {
    const entries = available.filter((cap) => cap.mimeType.toLowerCase() === `video/${codec.toLowerCase()}`);
    if (codec === 'H264') {
      const full = entries.filter(isFullColourH264);
      const rest = entries.filter((cap) => !isFullColourH264(cap));
      out.push(...(fullColour ? [...full, ...rest] : [...rest, ...full]));
    } else out.push(...entries);
  }
  if (out.length === 0) return null;
  for (const cap of available) if (AUXILIARY.test(cap.mimeType)) out.push(cap);
  return out;
}

/** The browser's video receive codecs (`RTCRtpReceiver.getCapabilities('video')`), or null where it cannot say. */
export function receiveCodecs(): RTCRtpCodec[] | null {
  if (typeof RTCRtpReceiver === 'undefined' || typeof RTCRtpReceiver.getCapabilities !== 'function') return null;
  return RTCRtpReceiver.getCapabilities('video')?.codecs ?? null;
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
