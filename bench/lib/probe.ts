/**
 * What the benchmark runs inside the receiving pages (the Backlot web client
 * and the baseline's receiver), identically for both. Kept as plain
 * JavaScript source: functions compiled by tsx can carry helper calls
 * (`__name`) that do not exist in the page.
 *
 * - `RTCPeerConnection` is wrapped so every connection the page makes is kept
 *   in `window.__benchPcs` (a measurement hook; the client is unchanged).
 * - `__bench.start(region, palette)` watches the video with
 *   `requestVideoFrameCallback`: for each presented frame it draws only the
 *   marker region to an 8x8 canvas, classifies its colour against the
 *   palette, and records every change with the frame's timing metadata.
 * - `__bench.stats()` reads the inbound video RTP stats (and outbound, on a
 *   sending page) from `getStats()`.
 */
import type { Page } from 'playwright-core';

export const PROBE_SCRIPT = String.raw`
(() => {
  if (window.__bench) return;
  const pcs = (window.__benchPcs = []);
  const Orig = window.RTCPeerConnection;
  if (Orig) {
    const Wrapped = function (...args) { const pc = new Orig(...args); pcs.push(pc); return pc; };
    Wrapped.prototype = Orig.prototype;
    Object.setPrototypeOf(Wrapped, Orig);
    window.RTCPeerConnection = Wrapped;
  }
  const st = { running: false, detections: [], frames: 0, firstFrame: null, lastFrame: null, lastCls: -1, unclassified: 0 };
  const epoch = (t) => (typeof t === 'number' ? performance.timeOrigin + t : null);
  function start(region, palette) {
    const video = document.querySelector('video');
    if (!video) throw new Error('no video element');
    const canvas = document.createElement('canvas');
    canvas.width = 8; canvas.height = 8;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    st.running = true; st.detections = []; st.frames = 0; st.firstFrame = null; st.lastFrame = null; st.lastCls = -1; st.unclassified = 0;
    const cb = (now, meta) => {
      if (!st.running) return;
      const vw = video.videoWidth, vh = video.videoHeight;
      const f = { t: epoch(meta.expectedDisplayTime), presented: meta.presentedFrames };
      if (!st.firstFrame) st.firstFrame = f;
      st.lastFrame = f;
      st.frames++;
      // The centre half of the marker, so chroma bleeding at its edges does not matter.
      const sx = (region.x + region.w / 4) * vw, sy = (region.y + region.h / 4) * vh;
      const sw = (region.w / 2) * vw, sh = (region.h / 2) * vh;
      ctx.drawImage(video, sx, sy, sw, sh, 0, 0, 8, 8);
      const d = ctx.getImageData(0, 0, 8, 8).data;
      let r = 0, g = 0, b = 0;
      for (let i = 0; i < d.length; i += 4) { r += d[i]; g += d[i + 1]; b += d[i + 2]; }
      const n = d.length / 4; r /= n; g /= n; b /= n;
      let best = -1, bestD = Infinity;
      palette.forEach((c, i) => { const dd = (r - c[0]) ** 2 + (g - c[1]) ** 2 + (b - c[2]) ** 2; if (dd < bestD) { bestD = dd; best = i; } });
      if (bestD > 3 * 70 * 70) { st.unclassified++; best = -1; }
      if (best !== -1 && best !== st.lastCls) {
        st.lastCls = best;
        st.detections.push({
          cls: best,
          expectedDisplay: epoch(meta.expectedDisplayTime),
          presentation: epoch(meta.presentationTime),
          callback: epoch(now),
          receive: epoch(meta.receiveTime),
          capture: epoch(meta.captureTime),
          processingMs: typeof meta.processingDuration === 'number' ? meta.processingDuration * 1000 : null,
          rtpTimestamp: meta.rtpTimestamp ?? null,
          width: meta.width, height: meta.height,
        });
      }
      video.requestVideoFrameCallback(cb);
    };
    video.requestVideoFrameCallback(cb);
  }
  function stop() {
    st.running = false;
    return { detections: st.detections, frames: st.frames, firstFrame: st.firstFrame, lastFrame: st.lastFrame, unclassified: st.unclassified };
  }
  async function stats(pc) {
    pc = pc || window.__benchPc || pcs.filter((p) => p.connectionState !== 'closed').pop();
    if (!pc) return null;
    const report = await pc.getStats();
    const out = { inbound: null, outbound: null, source: null, codec: null, pair: null };
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') out.inbound = s;
      else if (s.type === 'outbound-rtp' && s.kind === 'video') out.outbound = s;
      else if (s.type === 'media-source' && s.kind === 'video') out.source = s;
      else if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') out.pair = s;
    });
    const rtp = out.inbound || out.outbound;
    if (rtp && rtp.codecId) { const c = report.get(rtp.codecId); out.codec = c ? c.mimeType.replace(/^video\//i, '') : null; }
    return JSON.parse(JSON.stringify(out));
  }
  window.__bench = { start, stop, stats };
})();
`;

/** The marker's square as fractions of the picture's width and height. */
export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Timing of one detected marker change, in epoch ms (performance.timeOrigin-based) of the receiving page. */
export interface Detection {
  cls: number;
  expectedDisplay: number;
  presentation: number;
  callback: number;
  receive: number | null;
  capture: number | null;
  processingMs: number | null;
  rtpTimestamp: number | null;
  width: number;
  height: number;
}

export interface ProbeResult {
  detections: Detection[];
  frames: number;
  firstFrame: { t: number; presented: number } | null;
  lastFrame: { t: number; presented: number } | null;
  unclassified: number;
}

/** getStats() dictionaries, as plain JSON. */
export interface RtpStats {
  inbound: Record<string, number | string | boolean> | null;
  outbound: Record<string, number | string | boolean> | null;
  source: Record<string, number | string | boolean> | null;
  codec: string | null;
  pair: Record<string, number | string | boolean> | null;
}

export const probe = {
  start: (page: Page, region: Region, palette: readonly (readonly number[])[]) =>
    page.evaluate(([r, p]) => (window as unknown as { __bench: { start(r: unknown, p: unknown): void } }).__bench.start(r, p), [region, palette] as const),
  stop: (page: Page) => page.evaluate(() => (window as unknown as { __bench: { stop(): ProbeResult } }).__bench.stop()),
  stats: (page: Page) => page.evaluate(() => (window as unknown as { __bench: { stats(): Promise<RtpStats | null> } }).__bench.stats()),
};

/** Epoch ms now, on this process's clock, the same way pages take it. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/**
 * The offset of a page's clock (timeOrigin + now) from ours: the sample with
 * the shortest round trip, offset = page − midpoint. Both derive from the
 * same system clock, so this should be within a millisecond or so; it is
 * measured and reported rather than assumed.
 */
export async function clockOffset(page: Page): Promise<{ offsetMs: number; uncertaintyMs: number }> {
  let best = { offsetMs: 0, uncertaintyMs: Infinity };
  for (let i = 0; i < 15; i++) {
    const t0 = epochNow();
    const p = await page.evaluate<number>('performance.timeOrigin + performance.now()');
    const t1 = epochNow();
    const half = (t1 - t0) / 2;
    if (half < best.uncertaintyMs) best = { offsetMs: p - (t0 + t1) / 2, uncertaintyMs: half };
  }
  return { offsetMs: Math.round(best.offsetMs * 100) / 100, uncertaintyMs: Math.round(best.uncertaintyMs * 100) / 100 };
}
