/**
 * The person's stream settings, kept within what the session's policy allows,
 * and the clipboard rules of the policy. Pure, so the rules are unit-tested.
 */
import type { QualityRequest, StreamDescription } from '../../shared/control.js';
import type { SessionPolicy, VideoCodec } from '../../shared/policy.js';

/** Frame rates and resolutions offered in the settings panel (filtered by policy). */
export const FPS_CHOICES = [24, 30, 60, 120] as const;
export const RESOLUTION_CHOICES = [
  { label: '1280 × 720', width: 1280, height: 720 },
  { label: '1920 × 1080', width: 1920, height: 1080 },
  { label: '2560 × 1440', width: 2560, height: 1440 },
  { label: '3840 × 2160', width: 3840, height: 2160 },
] as const;
export const BITRATE_CHOICES_KBPS = [5_000, 10_000, 20_000, 35_000, 50_000, 80_000] as const;

/** A request clamped to the policy; a codec the policy does not allow is dropped. */
export function clampQuality(request: QualityRequest, policy: SessionPolicy): QualityRequest {
  const out: QualityRequest = {};
  if (request.width !== undefined) out.width = Math.min(request.width, policy.maxWidth);
  if (request.height !== undefined) out.height = Math.min(request.height, policy.maxHeight);
  if (request.fps !== undefined) out.fps = Math.min(request.fps, policy.maxFps);
  if (request.maxBitrateKbps !== undefined) out.maxBitrateKbps = Math.min(request.maxBitrateKbps, policy.maxBitrateKbps);
  if (request.codec !== undefined && policy.codecs.includes(request.codec)) out.codec = request.codec;
  if (request.monitor !== undefined) out.monitor = request.monitor;
  return out;
}

/** The codec to prefer, if the policy allows it. */
export function allowedCodec(codec: VideoCodec | null | undefined, policy: SessionPolicy): VideoCodec | null {
  return codec && policy.codecs.includes(codec) ? codec : null;
}

/**
 * The codecs the person may choose: the policy's, in its order, that the host
 * said it can send this session (`hello.stream.codecs`); before the host has
 * said, the policy's.
 */
export function choosableCodecs(policy: SessionPolicy, host: StreamDescription | null): VideoCodec[] {
  return host ? policy.codecs.filter((c) => host.codecs.includes(c)) : [...policy.codecs];
}

/** The codec the host is expected to send for the person's choice: that codec if it can, else the first it can. */
export function expectedCodec(choice: VideoCodec | null | undefined, policy: SessionPolicy, host: StreamDescription | null): VideoCodec | null {
  const codecs = choosableCodecs(policy, host);
  return choice && codecs.includes(choice) ? choice : (codecs[0] ?? null);
}

/** Full colour is asked for (in the offer's codec order) only where the session's policy allows it. */
export function wantsFullColour(enabled: boolean, policy: SessionPolicy): boolean {
  return enabled && policy.chroma444;
}

/** Whether the host applies a codec or chroma change by renegotiating the running connection (true before it has said). */
export function changesInPlace(host: StreamDescription | null): boolean {
  return host === null || host.codecChangeInPlace;
}

/** A codec choice that changes what an encoded host sends, which only a new connection can apply. */
export function codecNeedsReconnect(choice: VideoCodec | null, policy: SessionPolicy, host: StreamDescription | null): boolean {
  if (changesInPlace(host) || host!.codec === undefined) return false;
  const next = expectedCodec(choice, policy, host);
  return next !== null && next !== host!.codec;
}

/** A full-colour switch that changes what an encoded host sends (it can send 4:4:4 and sends the other), which only a new connection can apply. */
export function fullColourNeedsReconnect(enabled: boolean, policy: SessionPolicy, host: StreamDescription | null): boolean {
  if (changesInPlace(host) || !host!.chroma444Available) return false;
  return host!.chroma444 !== wantsFullColour(enabled, policy);
}

export type ClipboardDirection = 'host-to-client' | 'client-to-host';

/** Whether the policy lets clipboard text travel in this direction. */
export function clipboardAllowed(policy: SessionPolicy, direction: ClipboardDirection): boolean {
  return policy.clipboard === 'both' || policy.clipboard === direction;
}

const encoder = new TextEncoder();

/** Whether the text is within the policy's clipboard size limit (UTF-8 bytes). */
export function clipboardFits(text: string, policy: SessionPolicy): boolean {
  return text.length > 0 && encoder.encode(text).length <= policy.clipboardMaxBytes;
}
