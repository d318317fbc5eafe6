/**
 * One stream measurement, the same for Backlot and for the baseline: flip the
 * marker on the host display N times at irregular 200-260 ms intervals (so
 * every change is its own frame and the flips do not beat with the capture
 * clock), while the receiving page's probe records when each change is
 * presented; meanwhile read CPU of the process trees and the receiver's RTP
 * stats. Glass to glass = presented time − flip time, both epoch ms on the
 * same machine.
 */
import type { Page } from 'playwright-core';
import { PALETTE, type Flip, type Marker } from './marker.js';
import { clockOffset, probe, type Detection, type ProbeSource, type Region, type RtpStats } from './probe.js';
import { CpuMeter, sleep } from './proc.js';
import { median, r1, summary } from './stats.js';

export interface GlassOptions {
  receiver: Page;
  /** The sending page, for the baseline (encode stats); absent for Backlot (the host agent is not a page). */
  sender?: Page;
  marker: Marker;
  /** Marker square in fractions of the picture. */
  region: Region;
  samples: number;
  cpuRoots: Record<string, number | undefined>;
  /** Where the receiving page shows the picture; default 'video' (WebRTC). */
  source?: ProbeSource;
  /** For peers without RTP stats: bytes the server has sent so far (its socket writes), for the bitrate. */
  bytesSent?: () => number | null;
}

export interface GlassResult {
  samples: number;
  flips: number;
  /** Marker changes never seen as their own presented frame (dropped or merged frames). */
  missed: number;
  g2g_expected_display: ReturnType<typeof summary>;
  g2g_presentation: ReturnType<typeof summary>;
  /** Flip → the frame's last packet received (capture, conversion, encode, pacing, network). */
  flip_to_receive: ReturnType<typeof summary>;
  /** Received → expected display (jitter buffer, decode, render). */
  receive_to_display: ReturnType<typeof summary>;
  /** Flip → rVFC `captureTime` (the sender's capture time as the receiver maps it from RTCP sender reports), where the browser gives one. */
  flip_to_capture: ReturnType<typeof summary>;
  x_roundtrip_ms_p50: number | null;
  /**
   * Median ms from a frame's begin time to its expected display: rVFC's expectedDisplayTime − the
   * callback's now for a video; the rAF interval the canvas probe adds (one frame) for a canvas.
   */
  present_to_display_ms: number | null;
  /** Frames per second the page drew into its visible canvas (canvas peers), per second. */
  painted_fps_samples?: number[];
  clock: { offsetMs: number; uncertaintyMs: number };
  fps_received_median: number | null;
  fps_received_samples: number[];
  fps_presented: number | null;
  cpu: Record<string, number | null>;
  bitrate_kbps: number | null;
  codec: string | null;
  resolution: string | null;
  receiver: {
    jitter_buffer_ms: number | null;
    jitter_buffer_target_ms: number | null;
    decode_ms: number | null;
    processing_delay_ms: number | null;
    assembly_ms: number | null;
    frames_dropped: number | null;
    freezes: number | null;
    packets_lost: number | null;
  };
  sender: { encode_ms: number | null; packet_send_delay_ms: number | null; source_fps: number | null; sent_fps: number | null; quality_limitation: string | null; frame_size: string | null } | null;
}

const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const delta = (a: RtpStats['inbound'], b: RtpStats['inbound'], k: string) => n(b?.[k]) - n(a?.[k]);
const per = (num: number, den: number, scale = 1) => (den > 0 ? r1((num / den) * scale) : null);

export function matchFlips(flips: Flip[], detections: Detection[]): { flip: Flip; det: Detection }[] {
  const used = new Set<number>();
  const out: { flip: Flip; det: Detection }[] = [];
  for (const det of detections) {
    // The latest flip to this colour that happened before the frame was presented.
    let match: Flip | undefined;
    for (const f of flips) if (f.cls === det.cls && f.t <= det.presentation + 1) match = f;
    // A match a whole palette cycle old would be ambiguous: never count it.
    if (!match || used.has(match.i) || det.presentation - match.t > PALETTE.length * 200) continue;
    used.add(match.i);
    out.push({ flip: match, det });
  }
  return out;
}

export async function measureGlass(o: GlassOptions): Promise<GlassResult> {
  const clock = await clockOffset(o.receiver);
  const s0 = await probe.stats(o.receiver);
  const tx0 = o.sender ? await probe.stats(o.sender) : null;
  const cpu = new CpuMeter(o.cpuRoots);
  await probe.start(o.receiver, o.region, PALETTE, o.source ?? 'video');
  cpu.start();

  // Frames received per second, polled once a second alongside: framesReceived deltas (video), or
  // frames the page drew into its canvas (canvas peers, which have no RTP stats).
  const source = o.source ?? 'video';
  const fpsSamples: number[] = [];
  const bytes0 = o.bytesSent?.() ?? null;
  const bytesAt0 = performance.now();
  let polling = true;
  const poller = (async () => {
    if (source === 'canvas') {
      let prev = await probe.painted(o.receiver).catch(() => null);
      while (polling) {
        await sleep(1_000);
        const cur = await probe.painted(o.receiver).catch(() => null);
        const dt = (n(cur?.t) - n(prev?.t)) / 1000;
        if (cur && prev && dt > 0.5) fpsSamples.push(r1((cur.frames - prev.frames) / dt)!);
        prev = cur;
      }
      return;
    }
    let prev = s0;
    while (polling) {
      await sleep(1_000);
      const cur = await probe.stats(o.receiver).catch(() => null);
      const dt = (n(cur?.inbound?.timestamp) - n(prev?.inbound?.timestamp)) / 1000;
      if (cur && prev && dt > 0.5) fpsSamples.push(r1(delta(prev.inbound, cur.inbound, 'framesReceived') / dt)!);
      prev = cur;
    }
  })();

  const flips: Flip[] = [];
  for (let i = 0; i < o.samples; i++) {
    flips.push(await o.marker.flip());
    await sleep(200 + Math.random() * 60);
  }
  await sleep(800);
  const cpuPct = cpu.stop();
  const bytes1 = o.bytesSent?.() ?? null;
  const bytesMs = performance.now() - bytesAt0;
  polling = false;
  await poller;
  const res = await probe.stop(o.receiver);
  const s1 = await probe.stats(o.receiver);
  const tx1 = o.sender ? await probe.stats(o.sender) : null;

  const pairs = matchFlips(flips, res.detections);
  if (process.env.BENCH_DEBUG) {
    const t0 = flips[0]?.t ?? 0;
    for (const f of flips) console.error(`flip ${f.i} cls ${f.cls} t ${(f.t - t0).toFixed(1)}`);
    for (const d of res.detections) console.error(`det cls ${d.cls} recv ${d.receive === null ? '-' : (d.receive - t0).toFixed(1)} pres ${(d.presentation - t0).toFixed(1)} exp ${(d.expectedDisplay - t0).toFixed(1)} rtp ${d.rtpTimestamp}`);
  }
  const g2gExpected = pairs.map((p) => p.det.expectedDisplay - p.flip.t);
  const g2gPresent = pairs.map((p) => p.det.presentation - p.flip.t);
  const toReceive = pairs.filter((p) => p.det.receive !== null).map((p) => p.det.receive! - p.flip.t);
  const receiveToDisplay = pairs.filter((p) => p.det.receive !== null).map((p) => p.det.expectedDisplay - p.det.receive!);
  const toCapture = pairs.filter((p) => p.det.capture !== null).map((p) => p.det.capture! - p.flip.t);
  const xrt = flips.map((f) => f.t - f.tSent);

  const a = s0?.inbound ?? null;
  const b = s1?.inbound ?? null;
  const dtMs = n(b?.timestamp) - n(a?.timestamp);
  const framesDecoded = delta(a, b, 'framesDecoded');
  const emitted = delta(a, b, 'jitterBufferEmittedCount');
  const presentedSpan = res.firstFrame && res.lastFrame ? (res.lastFrame.t - res.firstFrame.t) / 1000 : 0;

  let sender: GlassResult['sender'] = null;
  if (tx0?.outbound && tx1?.outbound) {
    const encoded = delta(tx0.outbound, tx1.outbound, 'framesEncoded');
    const sent = delta(tx0.outbound, tx1.outbound, 'framesSent');
    const txDt = (n(tx1.outbound.timestamp) - n(tx0.outbound.timestamp)) / 1000;
    sender = {
      encode_ms: per(delta(tx0.outbound, tx1.outbound, 'totalEncodeTime'), encoded, 1000),
      packet_send_delay_ms: per(delta(tx0.outbound, tx1.outbound, 'totalPacketSendDelay'), delta(tx0.outbound, tx1.outbound, 'packetsSent'), 1000),
      source_fps: tx1.source ? r1(n(tx1.source.framesPerSecond)) : null,
      sent_fps: txDt > 0 ? r1(sent / txDt) : null,
      quality_limitation: typeof tx1.outbound.qualityLimitationReason === 'string' ? tx1.outbound.qualityLimitationReason : null,
      frame_size: tx1.outbound.frameWidth ? `${n(tx1.outbound.frameWidth)}x${n(tx1.outbound.frameHeight)}` : null,
    };
  }

  return {
    samples: pairs.length,
    flips: flips.length,
    missed: flips.length - pairs.length,
    g2g_expected_display: summary(g2gExpected),
    g2g_presentation: summary(g2gPresent),
    flip_to_receive: summary(toReceive),
    receive_to_display: summary(receiveToDisplay),
    flip_to_capture: summary(toCapture),
    x_roundtrip_ms_p50: r1(median(xrt)),
    present_to_display_ms: r1(res.frameToDisplayMs),
    ...(source === 'canvas' ? { painted_fps_samples: fpsSamples } : {}),
    clock,
    fps_received_median: r1(median(fpsSamples)),
    fps_received_samples: fpsSamples,
    fps_presented: presentedSpan > 0 && res.firstFrame && res.lastFrame ? r1((res.lastFrame.presented - res.firstFrame.presented) / presentedSpan) : null,
    cpu: cpuPct,
    bitrate_kbps: bytes0 !== null && bytes1 !== null ? Math.round(((bytes1 - bytes0) * 8) / bytesMs) : dtMs > 0 ? Math.round((delta(a, b, 'bytesReceived') * 8) / dtMs) : null,
    codec: s1?.codec ?? null,
    resolution: b?.frameWidth ? `${n(b.frameWidth)}x${n(b.frameHeight)}` : (res.detections[0] ? `${res.detections[0].width}x${res.detections[0].height}` : null),
    receiver: {
      jitter_buffer_ms: per(delta(a, b, 'jitterBufferDelay'), emitted, 1000),
      jitter_buffer_target_ms: per(delta(a, b, 'jitterBufferTargetDelay'), emitted, 1000),
      decode_ms: per(delta(a, b, 'totalDecodeTime'), framesDecoded, 1000),
      processing_delay_ms: per(delta(a, b, 'totalProcessingDelay'), framesDecoded, 1000),
      assembly_ms: per(delta(a, b, 'totalAssemblyTime'), delta(a, b, 'framesAssembledFromMultiplePackets'), 1000),
      frames_dropped: b ? delta(a, b, 'framesDropped') : null,
      freezes: b ? delta(a, b, 'freezeCount') : null,
      packets_lost: b ? delta(a, b, 'packetsLost') : null,
    },
    sender,
  };
}
