/**
 * Receive-side statistics from `RTCPeerConnection.getStats()`, polled once a
 * second (never per frame) and turned into the numbers the overlay shows.
 * Pure functions over a map of stats dictionaries, so they are unit-tested
 * with plain objects.
 */

/** How often the peer polls getStats. */
export const STATS_INTERVAL_MS = 1_000;

/** The cumulative counters one poll reads; rates come from two of these. */
export interface RawVideoStats {
  /** ms, from the stats timestamp. */
  timestamp: number;
  framesReceived: number;
  framesDecoded: number;
  framesDropped: number;
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  totalDecodeTime: number;
  freezeCount: number;
  totalFreezesDuration: number;
  width: number;
  height: number;
  codec: string | null;
  /** The codec's fmtp line (`sdpFmtpLine`): the H.264 profile-level-id, VP9 profile-id, AV1 profile. */
  codecFmtp: string | null;
  rttMs: number | null;
}

/** One second of the session, as the overlay and tests see it. Contains no identifiers or secrets. */
export interface StatsSnapshot {
  /** Wall-clock time of the sample, ms since the epoch. */
  at: number;
  rttMs: number | null;
  fpsReceived: number;
  fpsDecoded: number;
  width: number;
  height: number;
  codec: string | null;
  /** The decoded format's fmtp line, e.g. `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f` (4:4:4). */
  codecFmtp: string | null;
  bitrateKbps: number;
  /** Lost packets over the last interval, percent of those expected. */
  packetLossPct: number;
  packetsLost: number;
  /** Average time a frame waited in the jitter buffer, cumulative, ms. */
  jitterBufferMs: number | null;
  /** Average time a frame waited in the jitter buffer over the last interval, ms (null before two samples). */
  queueMs: number | null;
  /** Average decode time per frame over the last interval, ms. */
  decodeMs: number | null;
  framesDropped: number;
  freezes: number;
  freezeSeconds: number;
}

type StatsLike = Pick<ReadonlyMap<string, Record<string, unknown>>, 'forEach' | 'get'>;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Reads the video inbound-rtp, its codec and the selected candidate pair out of a stats report. */
export function readRawStats(report: StatsLike): RawVideoStats | null {
  let inbound: Record<string, unknown> | undefined;
  let transport: Record<string, unknown> | undefined;
  let nominatedPair: Record<string, unknown> | undefined;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') inbound = s;
    else if (s.type === 'transport') transport = s;
    else if (s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded') nominatedPair = s;
  });
  if (!inbound) return null;
  const pairId = transport?.selectedCandidatePairId;
  const pair = (typeof pairId === 'string' ? report.get(pairId) : undefined) ?? nominatedPair;
  const codecId = inbound.codecId;
  const codec = typeof codecId === 'string' ? report.get(codecId) : undefined;
  const mime = typeof codec?.mimeType === 'string' ? codec.mimeType.replace(/^video\//i, '') : null;
  const rtt = pair?.currentRoundTripTime;
  return {
    timestamp: num(inbound.timestamp),
    framesReceived: num(inbound.framesReceived),
    framesDecoded: num(inbound.framesDecoded),
    framesDropped: num(inbound.framesDropped),
    bytesReceived: num(inbound.bytesReceived),
    packetsReceived: num(inbound.packetsReceived),
    packetsLost: num(inbound.packetsLost),
    jitterBufferDelay: num(inbound.jitterBufferDelay),
    jitterBufferEmittedCount: num(inbound.jitterBufferEmittedCount),
    totalDecodeTime: num(inbound.totalDecodeTime),
    freezeCount: num(inbound.freezeCount),
    totalFreezesDuration: num(inbound.totalFreezesDuration),
    width: num(inbound.frameWidth),
    height: num(inbound.frameHeight),
    codec: mime,
    codecFmtp: typeof codec?.sdpFmtpLine === 'string' ? codec.sdpFmtpLine : null,
    rttMs: typeof rtt === 'number' ? rtt * 1000 : null,
  };
}

const round1 = (v: number): number => Math.round(v * 10) / 10;

/** The snapshot for `cur`, with rates over the interval since `prev` (zero rates on the first sample). */
export function computeStats(prev: RawVideoStats | null, cur: RawVideoStats, at: number): StatsSnapshot {
  const dt = prev ? (cur.timestamp - prev.timestamp) / 1000 : 0;
  const rate = (a: number, b: number): number => (prev && dt > 0 ? Math.max(0, (a - b) / dt) : 0);
  const framesDecodedDelta = prev ? cur.framesDecoded - prev.framesDecoded : cur.framesDecoded;
  const decodeDelta = prev ? cur.totalDecodeTime - prev.totalDecodeTime : cur.totalDecodeTime;
  const lostDelta = prev ? Math.max(0, cur.packetsLost - prev.packetsLost) : cur.packetsLost;
  const receivedDelta = prev ? Math.max(0, cur.packetsReceived - prev.packetsReceived) : cur.packetsReceived;
  const expected = lostDelta + receivedDelta;
  return {
    at,
    rttMs: cur.rttMs === null ? null : round1(cur.rttMs),
    fpsReceived: round1(rate(cur.framesReceived, prev?.framesReceived ?? 0)),
    fpsDecoded: round1(rate(cur.framesDecoded, prev?.framesDecoded ?? 0)),
    width: cur.width,
    height: cur.height,
    codec: cur.codec,
    codecFmtp: cur.codecFmtp,
    bitrateKbps: Math.round((rate(cur.bytesReceived, prev?.bytesReceived ?? 0) * 8) / 1000),
    packetLossPct: expected > 0 ? round1((lostDelta / expected) * 100) : 0,
    packetsLost: cur.packetsLost,
    jitterBufferMs: cur.jitterBufferEmittedCount > 0 ? round1((cur.jitterBufferDelay / cur.jitterBufferEmittedCount) * 1000) : null,
    queueMs:
      prev && cur.jitterBufferEmittedCount > prev.jitterBufferEmittedCount
        ? round1(((cur.jitterBufferDelay - prev.jitterBufferDelay) / (cur.jitterBufferEmittedCount - prev.jitterBufferEmittedCount)) * 1000)
        : null,
    decodeMs: framesDecodedDelta > 0 ? round1((decodeDelta / framesDecodedDelta) * 1000) : null,
    framesDropped: cur.framesDropped,
    freezes: cur.freezeCount,
    freezeSeconds: round1(cur.totalFreezesDuration),
  };
}
