/**
 * Stream benchmarks: glass to glass, frame rate, bitrate, codec and CPU, at
 * each configuration, in the same run, for:
 * - Backlot's encoded pipeline (our own libavcodec encoder on libdatachannel,
 *   the encoder the agent's probe picks; issue 12), and one row per other
 *   encoder this machine has, at the encoder configuration;
 * - Chromium's own screen share of the same display (the baseline);
 * - the peers: noVNC over x11vnc and xpra's HTML5 client (bench/lib/peers.ts).
 * One Xvfb (and one demo stack) per resolution; the host agent restarts per
 * row; the content page, the marker and the client browser stay up
 * throughout, so every row sees the same content, marker and clock.
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoStack } from '../src/demo/stack.js';
import { agentStats, agentSummary, connectClient, disconnectClient, startHostProcess, startStack, type AgentStats, type HostPipeline } from './lib/backlot.js';
import { startBaseline } from './lib/baseline.js';
import { startClient, startContent, startSender, type BenchBrowser } from './lib/browsers.js';
import { MARKER } from './lib/content.js';
import { measureGlass, type GlassResult } from './lib/glass.js';
import { openMarker, type Marker } from './lib/marker.js';
import { peerUnavailable, startNoVnc, startXpra, type PeerLink, type PeerName } from './lib/peers.js';
import type { Region } from './lib/probe.js';
import { sleep } from './lib/proc.js';
import { r1 } from './lib/stats.js';
import { measureInput, type InputResult } from './input.js';

/** Who a row measures. */
export const WHO = ['encoded', 'browser share', 'noVNC', 'xpra'] as const;
export type Who = (typeof WHO)[number];

export interface StreamConfig {
  width: number;
  height: number;
  fps: number;
  /** Who is measured at this configuration; default all of WHO. */
  who?: readonly Who[];
  /** Flips for this configuration; default the run's --samples. */
  samples?: number;
}

export interface StreamRow {
  who: Who;
  /** Backlot rows: the host agent's pipeline. */
  pipeline: 'encoded' | null;
  /** What was asked for ('auto' = the probe chooses) and what ran (libx264, libwebrtc, x11vnc…). */
  encoder_requested: string | null;
  encoder: string | null;
  resolution: string;
  fps_requested: number;
  fps_received_median: number | null;
  glass_to_glass_ms_p50: number | null;
  glass_to_glass_ms_p95: number | null;
  /** % of one core: the host agent, the screen-sharing Chromium, or the peer's server processes. */
  host_cpu_pct: number | null;
  /** Frames the host side sent per second over the window (agent's frames encoded, sender's framesSent, peers' frames painted at the client). */
  frames_sent_per_s: number | null;
  /** Host CPU ms per frame sent: host_cpu_pct × 10 / frames_sent_per_s. */
  host_cpu_ms_per_frame: number | null;
  client_cpu_pct: number | null;
  bitrate_kbps: number | null;
  codec: string | null;
  /** Everything measured, for the breakdown. */
  detail: GlassResult & { received_resolution: string | null; host_agent?: AgentStats; peer?: Record<string, unknown>; error?: string };
}

export interface StreamSection {
  rows: StreamRow[];
  input: (InputResult & { pipeline: string | null }) | null;
  content_cpu_pct: Record<string, number | null>;
}

export interface StreamOptions {
  webRoot: string;
  samples: number;
  /** Where the input row runs (on the encoded pipeline's session). */
  input: { width: number; height: number; fps: number } | null;
  inputSamples: number;
  /** Extra encoded-pipeline rows, one per encoder, at this configuration. */
  encoderRows: { width: number; height: number; fps: number; encoders: string[] } | null;
}

/** Bitrate ramp-up and first keyframes settle before sampling starts. */
const WARMUP_MS = 3_000;

const log = (msg: string) => console.error(`bench: ${msg}`);
const cfgName = (c: { width: number; height: number; fps: number }) => `${c.width}x${c.height}@${c.fps}`;

function row(who: Who, cfg: StreamConfig, r: GlassResult, hostKeys: string[], extra: { pipeline?: 'encoded'; encoderRequested?: string; encoder?: string | null; framesSent: number | null }): StreamRow {
  const cpus = hostKeys.map((k) => r.cpu[k]).filter((v): v is number => typeof v === 'number');
  const host = cpus.length === hostKeys.length ? r1(cpus.reduce((a, b) => a + b, 0)) : null;
  return {
    who,
    pipeline: extra.pipeline ?? null,
    encoder_requested: extra.encoderRequested ?? null,
    encoder: extra.encoder ?? null,
    resolution: `${cfg.width}x${cfg.height}`,
    fps_requested: cfg.fps,
    fps_received_median: r.fps_received_median,
    glass_to_glass_ms_p50: r.g2g_expected_display.p50,
    glass_to_glass_ms_p95: r.g2g_expected_display.p95,
    host_cpu_pct: host,
    frames_sent_per_s: extra.framesSent,
    host_cpu_ms_per_frame: host !== null && extra.framesSent ? r1((host * 10) / extra.framesSent) : null,
    client_cpu_pct: r.cpu.client ?? null,
    bitrate_kbps: r.bitrate_kbps,
    codec: r.codec,
    detail: { ...r, received_resolution: r.resolution },
  };
}

/** A row that did not run, with why: it failed, or it cannot run on this machine. */
export function failedRow(who: Who, cfg: { width: number; height: number; fps: number }, err: unknown, extra: { pipeline?: 'encoded'; encoderRequested?: string } = {}): StreamRow {
  const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  log(`${who}${extra.pipeline === 'encoded' && extra.encoderRequested !== 'auto' ? ` ${extra.encoderRequested}` : ''} ${cfgName(cfg)}: ${message}`);
  return {
    who,
    pipeline: extra.pipeline ?? null,
    encoder_requested: extra.encoderRequested ?? null,
    encoder: null,
    resolution: `${cfg.width}x${cfg.height}`,
    fps_requested: cfg.fps,
    fps_received_median: null,
    glass_to_glass_ms_p50: null,
    glass_to_glass_ms_p95: null,
    host_cpu_pct: null,
    frames_sent_per_s: null,
    host_cpu_ms_per_frame: null,
    client_cpu_pct: null,
    bitrate_kbps: null,
    codec: null,
    detail: { error: message } as StreamRow['detail'],
  };
}

interface Scene {
  stack: DemoStack;
  content: BenchBrowser;
  client: BenchBrowser;
  marker: Marker;
  region: Region;
}

/** The agent's last warnings and errors (pino level ≥ 40), one line. */
function agentComplaints(output: string): string {
  const msgs: string[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      if ((j.level ?? 0) >= 40) msgs.push(`${j.msg ?? ''}${j.err?.message ? `: ${j.err.message}` : ''}`);
    } catch {
      // not a log line
    }
  }
  return msgs.slice(-3).join('; ');
}

const glassLine = (r: GlassResult) => `g2g p50 ${r.g2g_expected_display.p50} p95 ${r.g2g_expected_display.p95} fps ${r.fps_received_median} n=${r.samples}/${r.flips} client ${r.cpu.client}%${r.codec ? ` ${r.codec}` : ''} ${r.bitrate_kbps} kbps`;

/** One Backlot row: the agent with `media`, the web client connecting through its UI, the probe on its video. */
async function backlotRow(scene: Scene, cfg: StreamConfig, samples: number, media: HostPipeline & { encoder: string }, input: StreamOptions['input'], inputSamples: number, out: StreamSection): Promise<StreamRow> {
  const who: Who = media.pipeline;
  const { stack, client, content, marker, region } = scene;
  const host = await startHostProcess(stack, cfg.fps, media);
  const page = await client.context.newPage();
  try {
    await connectClient(page, stack).catch(async (err: unknown) => {
      if (process.env.BENCH_DEBUG) await writeFile(join(tmpdir(), `backlot-bench-agent-${media.pipeline}-${media.encoder}.log`), host.output());
      // Say what the agent said: a stream that never plays is the agent's story more often than the page's.
      throw new Error(`no picture: ${(err as Error).message.split('\n')[0]} (agent: ${agentSummary(host.output())}; ${agentComplaints(host.output()) || 'no warnings'})`);
    });
    await sleep(WARMUP_MS);
    const from = Date.now();
    const r = await measureGlass({ receiver: page, marker, region, samples, cpuRoots: { host: host.pid, client: client.pid(), content: content.pid() } });
    const agent = agentStats(host.output(), from, Date.now());
    // A window shorter than two stats lines has no frame count of its own: then the frames the client received.
    const result = row(who, cfg, r, ['host'], { pipeline: media.pipeline, encoderRequested: media.encoder, encoder: agent.encoder, framesSent: agent.encoder_fps ?? r.fps_received_median });
    result.detail.host_agent = agent;
    out.content_cpu_pct[`${who}${media.encoder !== 'auto' && media.pipeline === 'encoded' ? ` ${media.encoder}` : ''} ${cfgName(cfg)}`] = r.cpu.content ?? null;
    log(
      `  ${glassLine(r)}; host ${result.host_cpu_pct}% = ${result.host_cpu_ms_per_frame} ms/frame at ${agent.encoder_fps} fps; agent: ${agent.encoder} ${agent.pixel_format ?? ''} capture ${agent.capture_grab_to_frame_ms} ms at ${agent.capture_fps} fps, encode ${agent.encode_ms_per_frame} ms, capture→send ${agent.capture_to_send_ms} ms, pacer ${agent.packet_send_delay_ms} ms${agent.quality_changes.length ? `; client asked for ${agent.quality_changes.map((c) => `${c.fps} fps at +${Math.round(c.at / 1000)} s`).join(', ')}` : ''}`,
    );
    if (input && media.pipeline === 'encoded' && media.encoder === 'auto' && input.width === cfg.width && input.height === cfg.height && input.fps === cfg.fps) {
      log(`input latency at ${cfgName(cfg)} (encoded pipeline)`);
      const measured = await measureInput(page, content.page, stack.display.display, { width: cfg.width, height: cfg.height }, inputSamples).catch((err: unknown) => {
        log(`input failed: ${(err as Error).message}`);
        return null;
      });
      out.input = measured ? { ...measured, pipeline: agent.pipeline } : null;
    }
    return result;
  } finally {
    await disconnectClient(page, stack);
    await page.close().catch(() => undefined);
    await host.stop();
  }
}

async function baselineRow(scene: Scene, cfg: StreamConfig, samples: number, out: StreamSection): Promise<StreamRow> {
  const { stack, client, content, marker, region } = scene;
  const sender = await startSender(stack.display.display, cfg.width, cfg.height);
  try {
    const page = await client.context.newPage();
    try {
      const link = await startBaseline(`${stack.url}/healthz`, sender.page, page, cfg.width, cfg.height, cfg.fps);
      await sleep(WARMUP_MS);
      const r = await measureGlass({ receiver: page, sender: sender.page, marker, region, samples, cpuRoots: { sender: sender.pid(), client: client.pid(), content: content.pid() } });
      out.content_cpu_pct[`browser share ${cfgName(cfg)}`] = r.cpu.content ?? null;
      const result = row('browser share', cfg, r, ['sender'], { encoder: 'Chromium (libwebrtc)', framesSent: r.sender?.sent_fps ?? null });
      log(`  ${glassLine(r)}; sender ${result.host_cpu_pct}% = ${result.host_cpu_ms_per_frame} ms/frame (capture ${JSON.stringify(link.settings)})`);
      await link.close();
      return result;
    } finally {
      await page.close().catch(() => undefined);
    }
  } finally {
    await sender.close();
  }
}

async function peerRow(scene: Scene, cfg: StreamConfig, samples: number, name: PeerName, out: StreamSection): Promise<StreamRow> {
  const who: Who = name === 'novnc' ? 'noVNC' : 'xpra';
  const unavailable = peerUnavailable(name);
  if (unavailable) return failedRow(who, cfg, new Error(unavailable));
  const { stack, client, content, marker, region } = scene;
  const page = await client.context.newPage();
  let link: PeerLink | undefined;
  try {
    link = name === 'novnc' ? await startNoVnc(stack.display.display, page, cfg.width, cfg.height) : await startXpra(stack.display.display, page, cfg.width, cfg.height);
    await sleep(WARMUP_MS);
    const r = await measureGlass({ receiver: page, marker, region, samples, source: 'canvas', bytesSent: () => link!.bytesSent(), cpuRoots: { ...link.serverPids, client: client.pid(), content: content.pid() } });
    out.content_cpu_pct[`${who} ${cfgName(cfg)}`] = r.cpu.content ?? null;
    // Neither peer has a frame-rate setting like the others' (x11vnc polls as fast as the client takes updates, xpra adapts its own): they run at their defaults.
    const result = row(who, cfg, r, Object.keys(link.serverPids), { encoder: name === 'novnc' ? 'x11vnc (RFB)' : 'xpra shadow', framesSent: r.fps_received_median });
    result.detail.peer = { ...link.detail, ...(await link.describe()) };
    const paints = result.detail.peer.paints_by_encoding as Record<string, number> | null | undefined;
    const top = paints ? Object.entries(paints).sort((a, b) => b[1] - a[1])[0]?.[0] : undefined;
    result.codec = name === 'novnc' ? 'RFB Tight' : `xpra ${top ?? '?'}`;
    log(`  ${glassLine(r)}; server ${result.host_cpu_pct}% = ${result.host_cpu_ms_per_frame} ms/frame ${JSON.stringify(result.detail.peer)}`);
    return result;
  } finally {
    await link?.close();
    await page.close().catch(() => undefined);
  }
}

export async function runStreams(configs: StreamConfig[], opts: StreamOptions): Promise<StreamSection> {
  const out: StreamSection = { rows: [], input: null, content_cpu_pct: {} };
  const sizes = [...new Map(configs.map((c) => [`${c.width}x${c.height}`, { width: c.width, height: c.height }])).values()];
  for (const size of sizes) {
    const { width, height } = size;
    let stack: DemoStack | undefined;
    let content: BenchBrowser | undefined;
    let client: BenchBrowser | undefined;
    let marker: Marker | undefined;
    try {
      log(`display ${width}x${height}: starting Xvfb, broker, content`);
      stack = await startStack(width, height, opts.webRoot);
      content = await startContent(stack.display.display, width, height);
      client = await startClient(width, height);
      await sleep(1_000);
      marker = await openMarker(stack.display.display, MARKER.x, MARKER.y, MARKER.size);
      const scene: Scene = { stack, content, client, marker, region: { x: MARKER.x / width, y: MARKER.y / height, w: MARKER.size / width, h: MARKER.size / height } };

      for (const cfg of configs.filter((c) => c.width === width && c.height === height)) {
        const who = new Set(cfg.who ?? WHO);
        const samples = cfg.samples ?? opts.samples;
        const attempt = async (w: Who, run: () => Promise<StreamRow>, extra: { pipeline?: 'encoded'; encoderRequested?: string } = {}) => {
          log(`${w}${extra.pipeline === 'encoded' && extra.encoderRequested !== 'auto' ? ` ${extra.encoderRequested}` : ''} ${cfgName(cfg)}`);
          out.rows.push(await run().catch((err: unknown) => failedRow(w, cfg, err, extra)));
        };
        if (who.has('encoded')) {
          const media = { pipeline: 'encoded', encoder: 'auto' } as const;
          await attempt('encoded', () => backlotRow(scene, cfg, samples, media, opts.input, opts.inputSamples, out), { pipeline: 'encoded', encoderRequested: 'auto' });
          const extra = opts.encoderRows;
          if (extra && extra.width === cfg.width && extra.height === cfg.height && extra.fps === cfg.fps) {
            // The encoder the probe chose has its row already (the one above).
            const chosen = out.rows[out.rows.length - 1]?.encoder;
            for (const encoder of extra.encoders.filter((e) => e !== chosen)) {
              const m = { pipeline: 'encoded', encoder } as const;
              await attempt('encoded', () => backlotRow(scene, cfg, samples, m, null, 0, out), { pipeline: 'encoded', encoderRequested: encoder });
            }
          }
        }
        if (who.has('browser share')) await attempt('browser share', () => baselineRow(scene, cfg, samples, out));
        if (who.has('noVNC')) await attempt('noVNC', () => peerRow(scene, cfg, samples, 'novnc', out));
        if (who.has('xpra')) await attempt('xpra', () => peerRow(scene, cfg, samples, 'xpra', out));
      }
    } finally {
      await marker?.close();
      await client?.close();
      await content?.close();
      await stack?.stop();
    }
  }
  return out;
}
