/**
 * Backlot's side of the run: the demo stack (Xvfb, the broker with SQLite and
 * a real enrolment), the host agent as its own process (so its CPU, with its
 * ffmpeg child, can be read), and the web client in the artist's browser
 * signing in and connecting through its own UI.
 */
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { DEMO_WORKSTATION, startDemoStack, type DemoStack } from '../../src/demo/stack.js';
import { onCleanup, startChild, waitUntil, type Child } from './proc.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLIENT_PASSWORD = 'bench horse battery staple';

export async function startStack(width: number, height: number, webRoot: string): Promise<DemoStack> {
  const stack = await startDemoStack({ width, height, webRoot, desktop: false, host: false, password: CLIENT_PASSWORD });
  onCleanup('demo stack', () => stack.stop());
  return stack;
}

/** Which encoder the agent runs: `--encoder` (issue 12; one pipeline since libwebrtc's was removed). */
export interface HostPipeline {
  pipeline: 'encoded';
  /** For the encoded pipeline: auto (the probe decides) or one encoder name. */
  encoder?: string;
}

/** Starts `src/host/cli.ts run` for the stack's workstation at `fps`, and waits until the broker sees it online. */
export async function startHostProcess(stack: DemoStack, fps: number, media: HostPipeline = { pipeline: 'encoded' }): Promise<Child> {
  const child = startChild(
    `host agent @${fps} ${media.pipeline}${media.encoder ? ` ${media.encoder}` : ''}`,
    process.execPath,
    [
      '--import', 'tsx', 'src/host/cli.ts', 'run',
      '--display', stack.display.display,
      '--broker', stack.url,
      '--workstation', DEMO_WORKSTATION.id,
      '--secret', stack.hostSecret,
      '--fps', String(fps),
      '--encoder', media.encoder ?? 'auto',
      // Benchmarks keep their traffic on loopback.
      '--ice-bind-address', '127.0.0.1',
      // info: the session's stats lines (encoder, capture) every 5 s, read by agentStats().
      '--log-level', 'info',
      '--stats-interval', '5',
    ],
    { cwd: ROOT, env: { ...process.env, HOME: process.env.HOME ?? '/tmp' } },
  );
  try {
    await waitUntil('host agent online', () => (child.exited() ? Promise.reject(new Error(`host agent exited:\n${child.output()}`)) : stack.broker.hub.isOnline(DEMO_WORKSTATION.id)), 60_000);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return child;
}

export interface AgentStats {
  /** Session stats lines in the window. */
  samples: number;
  /** 'encoded' or 'wrtc', from the lines' `media.pipeline`. */
  pipeline: string | null;
  /** The encoder that ran: libx264, h264_nvenc…, or 'libwebrtc' for wrtc. */
  encoder: string | null;
  codec: string | null;
  /** yuv420p or yuv444p (encoded pipeline). */
  pixel_format: string | null;
  capture_backend: string | null;
  /** Median over the window of each line's median grab + convert time, ms (in-process capture only). */
  capture_grab_to_frame_ms: number | null;
  /** Frames the capture delivered per second (its own window). */
  capture_fps: number | null;
  /** Median encode time per frame, ms (encoded: the addon's own timing; wrtc: Δ totalEncodeTime / Δ framesEncoded). */
  encode_ms_per_frame: number | null;
  /** Encoded pipeline: median from the grab to the frame handed to libdatachannel, ms. */
  capture_to_send_ms: number | null;
  /** wrtc pipeline: mean time a packet waited in libwebrtc's pacer, ms (the encoded pipeline has no pacer). */
  packet_send_delay_ms: number | null;
  /** Frames encoded (and sent) per second over the window. */
  encoder_fps: number | null;
  encoder_kbps: number | null;
  /** Encoded pipeline: the bitrate controller's target at the end of the window and why (remb, loss, start). */
  target_kbps: number | null;
  target_reason: string | null;
  keyframes: number | null;
  nacked_packets: number | null;
  rtt_ms: number | null;
  quality_limitation: string[];
  low_latency_playout: boolean;
  /** Quality changes the client asked for during the window (the session lowers fps by itself on a decode backlog). */
  quality_changes: { at: number; fps: number | undefined }[];
  /** The agent's start-up encoder probe ("encoder probe: …"), and its pipeline choice. */
  probe: AgentProbe | null;
  pipeline_why: string | null;
}

export interface AgentProbe {
  why: string;
  candidates: { name: string; status: string; reason?: string; medianEncodeMs?: number }[];
}

type Json = Record<string, unknown>;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Json => (v && typeof v === 'object' ? (v as Json) : {});

/** One 'session stats' line's media part, in either shape (pipeline/*.ts `stats()`). */
interface MediaLine {
  time: number;
  pipeline: string | undefined;
  encoder: string | undefined;
  codec: string | undefined;
  pixelFormat: string | undefined;
  encodeMs: number | undefined;
  captureToSendMs: number | undefined;
  packetSendDelayMs: number | undefined;
  /** Per-interval figures (wrtc reports them; encoded gives cumulative counters, diffed below). */
  fps: number | undefined;
  kbps: number | undefined;
  framesEncoded: number | undefined;
  bytesSent: number | undefined;
  keyframes: number | undefined;
  nacked: number | undefined;
  targetKbps: number | undefined;
  targetReason: string | undefined;
  rttMs: number | undefined;
  qualityLimitation: string | undefined;
}

/**
 * Reads `media` of a session stats line: `{ pipeline: 'encoded', video, encoder: EncodedStreamStats, transport }`
 * or `{ pipeline: 'wrtc', encoder: EncoderStats }`; lines from before issue 12 had `encoder` at the top level.
 */
function mediaLine(line: Json): MediaLine {
  const media = line.media === undefined ? { pipeline: 'wrtc', encoder: line.encoder } : obj(line.media);
  const enc = obj(media.encoder);
  const time = num(line.time) ?? 0;
  if (media.pipeline === 'encoded') {
    const bitrate = obj(enc.bitrate);
    const transport = obj(media.transport);
    const video = obj(media.video);
    return {
      time,
      pipeline: 'encoded',
      encoder: str(enc.encoder) ?? str(video.encoder),
      codec: str(enc.codec) ?? str(video.codec),
      pixelFormat: str(enc.pixelFormat),
      encodeMs: num(enc.encodeMs),
      captureToSendMs: num(enc.captureToSendMs),
      packetSendDelayMs: undefined,
      fps: undefined,
      kbps: undefined,
      framesEncoded: num(enc.framesEncoded),
      bytesSent: num(enc.bytesSent),
      keyframes: num(enc.keyframesSent),
      nacked: num(enc.nackedPackets),
      targetKbps: num(bitrate.targetKbps),
      targetReason: str(bitrate.reason),
      // The media round trip from receiver reports (bitrate.ts); the transport's is SCTP's.
      rttMs: num(bitrate.rttMs) ?? num(transport.rttMs),
      qualityLimitation: undefined,
    };
  }
  return {
    time,
    pipeline: str(media.pipeline),
    encoder: 'libwebrtc',
    codec: str(enc.codec),
    pixelFormat: undefined,
    encodeMs: num(enc.encodeMs),
    captureToSendMs: undefined,
    packetSendDelayMs: num(enc.packetSendDelayMs),
    fps: num(enc.fps),
    kbps: num(enc.kbps),
    framesEncoded: undefined,
    bytesSent: undefined,
    keyframes: num(enc.keyFramesEncoded),
    nacked: undefined,
    targetKbps: undefined,
    targetReason: undefined,
    rttMs: undefined,
    qualityLimitation: str(enc.qualityLimitationReason),
  };
}

const med = (xs: (number | undefined)[]): number | null => {
  const v = xs.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  return v.length ? Math.round(v[v.length >> 1]! * 100) / 100 : null;
};

/**
 * The agent's own report of a window: its 'session stats' log lines (pino JSON) between `from` and `to`
 * (epoch ms), plus the start-up probe. For the encoded pipeline, frames and bytes are cumulative counters:
 * the rate is the difference between the first line before the window (or the first in it) and the last in it.
 */
export function agentStats(output: string, from: number, to: number): AgentStats {
  const inWindow: Json[] = [];
  let before: Json | undefined;
  let lowLatency = false;
  let probe: AgentProbe | null = null;
  let pipelineWhy: string | null = null;
  const changes: { at: number; fps: number | undefined }[] = [];
  for (const text of output.split('\n')) {
    if (!text.startsWith('{')) continue;
    let j: Json;
    try {
      j = JSON.parse(text) as Json;
    } catch {
      continue; // not a log line
    }
    const msg = str(j.msg) ?? '';
    const time = num(j.time);
    if (msg.startsWith('libwebrtc field trials set') && j.playoutDelayMaxMs !== null) lowLatency = true;
    if (msg.startsWith('encoder probe: ')) {
      const candidates = Array.isArray(j.candidates) ? (j.candidates as Json[]) : [];
      probe = {
        why: msg.slice('encoder probe: '.length),
        candidates: candidates.map((c) => ({ name: str(c.name) ?? '?', status: str(c.status) ?? '?', ...(str(c.reason) ? { reason: str(c.reason) } : {}), ...(num(c.medianEncodeMs) === undefined ? {} : { medianEncodeMs: num(c.medianEncodeMs) }) })),
      };
    }
    if (j.pipeline !== undefined && Array.isArray(j.encoders)) pipelineWhy = msg;
    if (msg === 'session stats' && time !== undefined) {
      if (time < from) before = j;
      else if (time <= to) inWindow.push(j);
    }
    if (msg === 'quality applied' && time !== undefined && time >= from && time <= to) {
      changes.push({ at: time - from, fps: (j.applied as { fps?: number } | undefined)?.fps });
    }
  }
  const media = inWindow.map(mediaLine);
  const cap = inWindow.map((l) => obj(l.capture));
  const first = before ? mediaLine(before) : media[0];
  const last = media[media.length - 1];
  const span = first && last ? (last.time - first.time) / 1000 : 0;
  const rate = (a: number | undefined, b: number | undefined, scale = 1) => (span > 0 && a !== undefined && b !== undefined ? Math.round(((b - a) / span) * scale * 10) / 10 : null);
  const encoded = last?.pipeline === 'encoded';
  return {
    samples: inWindow.length,
    pipeline: last?.pipeline ?? null,
    encoder: last?.encoder ?? null,
    codec: last?.codec ?? null,
    pixel_format: last?.pixelFormat ?? null,
    capture_backend: str(cap.find((c) => typeof c.backend === 'string')?.backend) ?? null,
    capture_grab_to_frame_ms: med(cap.map((c) => num(c.grabToFrameMs))),
    capture_fps: med(cap.map((c) => num(c.fps))),
    encode_ms_per_frame: med(media.map((m) => m.encodeMs)),
    capture_to_send_ms: med(media.map((m) => m.captureToSendMs)),
    packet_send_delay_ms: med(media.map((m) => m.packetSendDelayMs)),
    encoder_fps: encoded ? rate(first?.framesEncoded, last?.framesEncoded) : med(media.map((m) => m.fps)),
    encoder_kbps: encoded ? rate(first?.bytesSent, last?.bytesSent, 8 / 1000) : med(media.map((m) => m.kbps)),
    target_kbps: last?.targetKbps ?? null,
    target_reason: last?.targetReason ?? null,
    keyframes: encoded && first?.keyframes !== undefined && last?.keyframes !== undefined ? last.keyframes - first.keyframes : null,
    nacked_packets: encoded && first?.nacked !== undefined && last?.nacked !== undefined ? last.nacked - first.nacked : null,
    rtt_ms: med(media.map((m) => m.rttMs)),
    quality_limitation: [...new Set(media.map((m) => m.qualityLimitation).filter((r): r is string => typeof r === 'string'))],
    // The encoded pipeline always sends the playout-delay extension (min = max = 0); wrtc only when its field trials took.
    low_latency_playout: encoded || lowLatency,
    quality_changes: changes,
    probe,
    pipeline_why: pipelineWhy,
  };
}

/**
 * One line on how the agent's stream stands, from its latest 'session stats' line: for a row whose
 * picture never showed (frames encoded and skipped, keyframes sent, what the client asked for).
 */
export function agentSummary(output: string): string {
  let last: Json | undefined;
  for (const text of output.split('\n')) {
    if (!text.includes('"session stats"')) continue;
    try {
      last = JSON.parse(text) as Json;
    } catch {
      // not a log line
    }
  }
  if (!last) return 'no session stats yet';
  const media = obj(last.media);
  const enc = obj(media.encoder);
  if (media.pipeline !== 'encoded') return `${str(media.pipeline) ?? '?'} pipeline, ${num(enc.fps) ?? '?'} fps encoded`;
  const requested = obj(obj(enc.keyframes).requested);
  const asked = Object.entries(requested)
    .filter(([, v]) => typeof v === 'number' && v > 0)
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
  return `${str(enc.encoder) ?? '?'} ${str(enc.codec) ?? ''}: ${num(enc.framesEncoded) ?? 0} frames encoded, ${num(enc.framesSkipped) ?? 0} skipped, ${num(enc.keyframesSent) ?? 0} keyframes sent; keyframes asked for: ${asked || 'none'}`;
}

/** Signs in through the web client's form and connects to the workstation; resolves when video plays. */
export async function connectClient(page: Page, stack: DemoStack): Promise<void> {
  await page.goto(`${stack.url}/`);
  await page.getByLabel('Username').fill(stack.username);
  await page.getByLabel('Password').fill(CLIENT_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const row = page.locator(`[data-workstation="${DEMO_WORKSTATION.id}"]`);
  await waitUntil('workstation online in the list', async () => ((await row.textContent().catch(() => '')) ?? '').includes('Online'), 20_000);
  await row.getByRole('button', { name: 'Connect' }).click();
  await page.waitForFunction(
    () => {
      const v = document.querySelector('video');
      return !!v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames >= 10;
    },
    undefined,
    { timeout: 30_000 },
  );
}

/** Ends the session from the client (or just leaves the page) and waits until the broker has no session. */
export async function disconnectClient(page: Page, stack: DemoStack): Promise<void> {
  await page.goto('about:blank').catch(() => undefined);
  await waitUntil('session ended', () => !stack.broker.hub.isInUse(DEMO_WORKSTATION.id), 10_000).catch(() => undefined);
}
