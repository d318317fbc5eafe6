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
 * - `__bench.start(region, palette, { source: 'canvas' })` does the same for
 *   the peers that paint into a 2D canvas (noVNC, xpra's HTML5 client): the
 *   largest canvas in the document is read at every `requestAnimationFrame`,
 *   which runs just before the frame that shows what was drawn since the
 *   last one is composited. Its `now` is that frame's begin time, the
 *   counterpart of a video frame's `presentationTime`; `expectedDisplay` is
 *   `now` plus one measured frame interval, as Chromium estimates a video
 *   frame's `expectedDisplayTime` (see `present_to_display` in glass.ts).
 * - `__bench.painted()`: frames in which the page drew into a visible canvas
 *   (the 2D context's drawImage/putImageData are wrapped to notice), for the
 *   canvas peers' frames received per second.
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
  const st = { running: false, detections: [], frames: 0, firstFrame: null, lastFrame: null, lastCls: -1, unclassified: 0, intervals: [] };
  const epoch = (t) => (typeof t === 'number' ? performance.timeOrigin + t : null);
  // Frames in which something was drawn into a canvas that is in the document (not an offscreen buffer).
  const paint = { frames: 0, dirty: false, looping: false };
  const C2D = window.CanvasRenderingContext2D;
  if (C2D) {
    for (const name of ['drawImage', 'putImageData']) {
      const orig = C2D.prototype[name];
      C2D.prototype[name] = function (...args) {
        if (!paint.dirty && this.canvas && this.canvas.isConnected && this.canvas !== st.readCanvas) { paint.dirty = true; paintLoop(); }
        return orig.apply(this, args);
      };
    }
  }
  // Started by the first draw into a visible canvas, so pages without one (Backlot's) get no extra rAF loop.
  function paintLoop() {
    if (paint.looping) return;
    paint.looping = true;
    const tick = () => { if (paint.dirty) { paint.frames++; paint.dirty = false; } requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  }
  function classify(ctx, palette) {
    const d = ctx.getImageData(0, 0, 8, 8).data;
    let r = 0, g = 0, b = 0;
    for (let i = 0; i < d.length; i += 4) { r += d[i]; g += d[i + 1]; b += d[i + 2]; }
    const n = d.length / 4; r /= n; g /= n; b /= n;
    let best = -1, bestD = Infinity;
    palette.forEach((c, i) => { const dd = (r - c[0]) ** 2 + (g - c[1]) ** 2 + (b - c[2]) ** 2; if (dd < bestD) { bestD = dd; best = i; } });
    if (bestD > 3 * 70 * 70) { st.unclassified++; best = -1; }
    return best;
  }
  function largestCanvas() {
    let best = null;
    for (const c of document.querySelectorAll('canvas')) if (c !== st.readCanvas && c.width * c.height > (best ? best.width * best.height : 0)) best = c;
    return best;
  }
  function start(region, palette, opts) {
    const canvas = document.createElement('canvas');
    canvas.width = 8; canvas.height = 8;
    st.readCanvas = canvas;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    st.running = true; st.detections = []; st.frames = 0; st.firstFrame = null; st.lastFrame = null; st.lastCls = -1; st.unclassified = 0; st.intervals = [];
    if (opts && opts.source === 'canvas') {
      paintLoop();
      let prev = null;
      const tick = (now) => {
        if (!st.running) return;
        if (prev !== null) st.intervals.push(now - prev);
        prev = now;
        const src = largestCanvas();
        if (src && src.width > 0) {
          const frameMs = st.intervals.length ? [...st.intervals].sort((a, b) => a - b)[st.intervals.length >> 1] : 1000 / 60;
          const f = { t: epoch(now + frameMs), presented: paint.frames };
          if (!st.firstFrame) st.firstFrame = f;
          st.lastFrame = f;
          st.frames++;
          const sx = (region.x + region.w / 4) * src.width, sy = (region.y + region.h / 4) * src.height;
          ctx.drawImage(src, sx, sy, (region.w / 2) * src.width, (region.h / 2) * src.height, 0, 0, 8, 8);
          const best = classify(ctx, palette);
          if (best !== -1 && best !== st.lastCls) {
            st.lastCls = best;
            st.detections.push({ cls: best, expectedDisplay: epoch(now + frameMs), presentation: epoch(now), callback: epoch(performance.now()), receive: null, capture: null, processingMs: null, rtpTimestamp: null, width: src.width, height: src.height });
          }
        }
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      return;
    }
    const video = document.querySelector('video');
    if (!video) throw new Error('no video element');
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
      // What rVFC's expectedDisplayTime adds to the callback's frame time: the canvas mode adds the same (one frame).
      st.intervals.push(meta.expectedDisplayTime - now);
      const best = classify(ctx, palette);
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
    const iv = [...st.intervals].sort((a, b) => a - b);
    return { detections: st.detections, frames: st.frames, firstFrame: st.firstFrame, lastFrame: st.lastFrame, unclassified: st.unclassified, frameToDisplayMs: iv.length ? iv[iv.length >> 1] : null };
  }
  function painted() { return { frames: paint.frames, t: performance.timeOrigin + performance.now() }; }
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
  window.__bench = { start, stop, stats, painted };
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
  /** Median of expectedDisplayTime − the callback's frame time (video), or of the rAF interval (canvas), ms. */
  frameToDisplayMs: number | null;
}

/** Where the probe reads the picture: the page's <video> (WebRTC) or its largest 2D canvas (noVNC, xpra). */
export type ProbeSource = 'video' | 'canvas';

/** getStats() dictionaries, as plain JSON. */
export interface RtpStats {
  inbound: Record<string, number | string | boolean> | null;
  outbound: Record<string, number | string | boolean> | null;
  source: Record<string, number | string | boolean> | null;
  codec: string | null;
  pair: Record<string, number | string | boolean> | null;
}

export const probe = {
  start: (page: Page, region: Region, palette: readonly (readonly number[])[], source: ProbeSource = 'video') =>
    page.evaluate(([r, p, s]) => (window as unknown as { __bench: { start(r: unknown, p: unknown, o: unknown): void } }).__bench.start(r, p, { source: s }), [region, palette, source] as const),
  stop: (page: Page) => page.evaluate(() => (window as unknown as { __bench: { stop(): ProbeResult } }).__bench.stop()),
  painted: (page: Page) => page.evaluate(() => (window as unknown as { __bench: { painted(): { frames: number; t: number } } }).__bench.painted()),
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
