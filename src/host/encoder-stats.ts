/**
 * The sender's side of the stream, from the host peer connection's
 * getStats(): what the encoder and pacer cost, per frame, over the interval
 * since the previous reading. Logged with the session's stats so a slow
 * stream says why (encode time, `qualityLimitationReason: cpu`, pacing).
 */

export interface EncoderStats {
  codec: string | undefined;
  width: number | undefined;
  height: number | undefined;
  /** Frames encoded per second over the interval. */
  fps: number;
  /** Mean encode time per frame, ms. */
  encodeMs: number | undefined;
  /** Mean time a packet waited in the pacer, ms. */
  packetSendDelayMs: number | undefined;
  kbps: number;
  /** Why libwebrtc lowered resolution or rate: none, cpu, bandwidth or other. */
  qualityLimitationReason: string | undefined;
  keyFramesEncoded: number | undefined;
}

/** The cumulative counters a reading keeps, to diff against the next one. */
export interface EncoderCounters {
  at: number;
  framesEncoded: number;
  totalEncodeTime: number;
  packetsSent: number;
  totalPacketSendDelay: number;
  bytesSent: number;
}

type Report = Iterable<[string, Record<string, unknown>]> | { forEach(cb: (value: Record<string, unknown>, key: string) => void): void };

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

function entries(report: Report): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if ('forEach' in report) report.forEach((v) => out.push(v));
  else for (const [, v] of report) out.push(v);
  return out;
}

/**
 * Reads the video outbound-rtp entry of a stats report, diffed against the
 * previous counters. Returns undefined when the report has no video sender
 * yet (before the first frame).
 */
export function readEncoderStats(report: Report, previous: EncoderCounters | undefined, now: number): { stats: EncoderStats; counters: EncoderCounters } | undefined {
  const all = entries(report);
  const out = all.find((s) => s.type === 'outbound-rtp' && (s.kind === 'video' || s.mediaType === 'video'));
  if (!out) return undefined;
  const codec = all.find((s) => s.type === 'codec' && s.id === out.codecId);
  const counters: EncoderCounters = {
    at: now,
    framesEncoded: num(out.framesEncoded) ?? 0,
    totalEncodeTime: num(out.totalEncodeTime) ?? 0,
    packetsSent: num(out.packetsSent) ?? 0,
    totalPacketSendDelay: num(out.totalPacketSendDelay) ?? 0,
    bytesSent: num(out.bytesSent) ?? 0,
  };
  const base = previous ?? { at: now, framesEncoded: 0, totalEncodeTime: 0, packetsSent: 0, totalPacketSendDelay: 0, bytesSent: 0 };
  const seconds = Math.max(0.001, (now - base.at) / 1000);
  const frames = counters.framesEncoded - base.framesEncoded;
  const packets = counters.packetsSent - base.packetsSent;
  const mime = str(codec?.mimeType);
  return {
    counters,
    stats: {
      codec: mime ? mime.replace(/^video\//i, '').toUpperCase() : undefined,
      width: num(out.frameWidth),
      height: num(out.frameHeight),
      fps: previous ? round(frames / seconds) : 0,
      encodeMs: frames > 0 ? round(((counters.totalEncodeTime - base.totalEncodeTime) * 1000) / frames) : undefined,
      packetSendDelayMs: packets > 0 ? round(((counters.totalPacketSendDelay - base.totalPacketSendDelay) * 1000) / packets, 2) : undefined,
      kbps: previous ? Math.round(((counters.bytesSent - base.bytesSent) * 8) / seconds / 1000) : 0,
      qualityLimitationReason: str(out.qualityLimitationReason),
      keyFramesEncoded: num(out.keyFramesEncoded),
    },
  };
}
