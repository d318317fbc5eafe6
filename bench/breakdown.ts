/**
 * Where the glass-to-glass time goes, first stage: the host agent's capture,
 * for both of its paths, on a 1920x1080 display with the desktop content and
 * the marker. Each marker change is timed from the flip to the moment the
 * first I420 frame showing it is in this (Node) process:
 * - xcb: the agent's XcbCapture (MIT-SHM + DAMAGE + libyuv on a worker
 *   thread), frames taken from its frame sink, as the encoder stage of
 *   either pipeline gets them;
 * - ffmpeg: ffmpeg run exactly as the fallback path runs it (`x11grabArgs`:
 *   x11grab, I420, raw frames to a pipe).
 * Encode and pacing come from the agent's own stats in the stream runs,
 * network, jitter buffer and decode from the receiver's (see glass.ts).
 */
import { spawn } from 'node:child_process';
import { x11grabArgs } from '../src/host/capture/x11grab-capture.js';
import { XcbCapture } from '../src/host/capture/xcb-capture.js';
import { startXvfb } from '../src/demo/xvfb.js';
import { startContent } from './lib/browsers.js';
import { MARKER } from './lib/content.js';
import { openMarker, PALETTE, type Flip } from './lib/marker.js';
import { onCleanup, sleep } from './lib/proc.js';
import { epochNow } from './lib/probe.js';
import { median, r1, summary } from './lib/stats.js';

export interface CaptureStage {
  backend: 'xcb' | 'ffmpeg';
  fps_requested: number;
  fps_delivered: number | null;
  flip_to_frame_in_node: ReturnType<typeof summary>;
  missed: number;
}

export interface BreakdownResult {
  capture: CaptureStage[];
  summary: Record<string, number | null>;
}

/** BT.601 limited-range luma of each palette colour: what the I420 Y plane holds for the marker. */
const LUMA = PALETTE.map(([r, g, b]) => 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
const CX = MARKER.x + MARKER.size / 2;
const CY = MARKER.y + MARKER.size / 2;

/** The palette index the marker's centre shows in an I420 frame's Y plane. */
function classify(y: Uint8Array, width: number): number {
  let sum = 0;
  for (let dy = -4; dy < 4; dy++) for (let dx = -4; dx < 4; dx++) sum += y[(CY + dy) * width + CX + dx]!;
  const v = sum / 64;
  let cls = 0;
  LUMA.forEach((l, i) => {
    if (Math.abs(l - v) < Math.abs(LUMA[cls]! - v)) cls = i;
  });
  return cls;
}

/** Flips the marker `samples` times, then matches each change seen to its flip. */
async function flipAndMatch(marker: Awaited<ReturnType<typeof openMarker>>, changes: { cls: number; t: number }[], frameTimes: number[], samples: number): Promise<Omit<CaptureStage, 'backend' | 'fps_requested'>> {
  await sleep(1_500);
  const flips: Flip[] = [];
  for (let i = 0; i < samples; i++) {
    flips.push(await marker.flip());
    await sleep(150 + Math.random() * 60);
  }
  await sleep(500);
  const lat: number[] = [];
  const used = new Set<number>();
  for (const c of changes) {
    let match;
    for (const f of flips) if (f.cls === c.cls && f.t <= c.t) match = f;
    if (!match || used.has(match.i)) continue;
    used.add(match.i);
    lat.push(c.t - match.t);
  }
  const window = frameTimes.filter((t) => t >= flips[0]!.t);
  const span = (window[window.length - 1]! - window[0]!) / 1000;
  return { fps_delivered: span > 0 ? r1((window.length - 1) / span) : null, flip_to_frame_in_node: summary(lat), missed: samples - lat.length };
}

async function xcbStage(display: string, width: number, height: number, fps: number, samples: number): Promise<CaptureStage> {
  const marker = await openMarker(display, MARKER.x, MARKER.y, MARKER.size);
  const capture = new XcbCapture({ display });
  const unregister = onCleanup('breakdown xcb capture', () => capture.stop());
  const changes: { cls: number; t: number }[] = [];
  const frameTimes: number[] = [];
  let last = -1;
  try {
    // The capture's frame sink, as the encoder stage gets frames (the buffer is reused after the sink returns).
    await capture.start(
      { region: { x: 0, y: 0, width, height }, width, height, fps },
      (frame) => {
        const t = epochNow();
        frameTimes.push(t);
        const cls = classify(frame.data, frame.width);
        if (cls !== last) {
          last = cls;
          changes.push({ cls, t });
        }
      },
      () => {},
    );
    return { backend: 'xcb', fps_requested: fps, ...(await flipAndMatch(marker, changes, frameTimes, samples)) };
  } finally {
    unregister();
    await capture.stop();
    await marker.close();
  }
}

async function ffmpegStage(display: string, width: number, height: number, fps: number, samples: number): Promise<CaptureStage> {
  const marker = await openMarker(display, MARKER.x, MARKER.y, MARKER.size);
  const proc = spawn('ffmpeg', x11grabArgs(display, width, height, fps), { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  const kill = (): Promise<void> => {
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
    return Promise.resolve();
  };
  const unregister = onCleanup('breakdown ffmpeg', kill);
  const frameBytes = (width * height * 3) / 2;
  const changes: { cls: number; t: number }[] = [];
  const frameTimes: number[] = [];
  let last = -1;
  let pending: Buffer[] = [];
  let have = 0;
  proc.stdout.on('data', (chunk: Buffer) => {
    const t = epochNow();
    pending.push(chunk);
    have += chunk.length;
    // Join the chunks only once a whole frame is here (joining on every chunk would cost more than the grab).
    while (have >= frameBytes) {
      const buf = Buffer.concat(pending);
      frameTimes.push(t);
      const cls = classify(buf, width);
      if (cls !== last) {
        last = cls;
        changes.push({ cls, t });
      }
      const rest = buf.subarray(frameBytes);
      pending = rest.length > 0 ? [Buffer.from(rest)] : [];
      have = rest.length;
    }
  });
  try {
    return { backend: 'ffmpeg', fps_requested: fps, ...(await flipAndMatch(marker, changes, frameTimes, samples)) };
  } finally {
    unregister();
    await kill();
    await marker.close();
  }
}

export async function runBreakdown(opts: { samples: number }): Promise<BreakdownResult> {
  const display = await startXvfb(1920, 1080);
  onCleanup('breakdown Xvfb', () => display.stop());
  const content = await startContent(display.display, 1920, 1080);
  try {
    await sleep(1_000);
    const capture: CaptureStage[] = [];
    for (const fps of [30, 60]) capture.push(await xcbStage(display.display, 1920, 1080, fps, opts.samples));
    for (const fps of [30, 60]) capture.push(await ffmpegStage(display.display, 1920, 1080, fps, opts.samples));
    const stage = (backend: string, fps: number) => capture.find((c) => c.backend === backend && c.fps_requested === fps);
    return {
      capture,
      summary: {
        xcb_capture_1080p30_ms_p50: stage('xcb', 30)?.flip_to_frame_in_node.p50 ?? null,
        xcb_capture_1080p60_ms_p50: stage('xcb', 60)?.flip_to_frame_in_node.p50 ?? null,
        xcb_capture_1080p60_fps: stage('xcb', 60)?.fps_delivered ?? null,
        ffmpeg_capture_1080p30_ms_p50: stage('ffmpeg', 30)?.flip_to_frame_in_node.p50 ?? null,
        ffmpeg_capture_1080p60_ms_p50: stage('ffmpeg', 60)?.flip_to_frame_in_node.p50 ?? null,
        ffmpeg_capture_1080p60_fps: stage('ffmpeg', 60)?.fps_delivered ?? null,
        half_frame_interval_30: r1(median([1000 / 60])),
      },
    };
  } finally {
    await content.close();
    await display.stop();
  }
}
