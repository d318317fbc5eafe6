/**
 * Stream benchmarks: glass to glass, frame rate, bitrate, codec and CPU for
 * Backlot and for Chromium's own screen share of the same display, at each
 * configuration, in the same run. One Xvfb (and one demo stack) per
 * resolution; the host agent restarts per frame rate; the content page and
 * the marker stay up throughout.
 */
import type { DemoStack } from '../src/demo/stack.js';
import { agentStats, connectClient, disconnectClient, startHostProcess, startStack, type AgentStats } from './lib/backlot.js';
import { startBaseline } from './lib/baseline.js';
import { startClient, startContent, startSender, type BenchBrowser } from './lib/browsers.js';
import { MARKER } from './lib/content.js';
import { measureGlass, type GlassResult } from './lib/glass.js';
import { openMarker, type Marker } from './lib/marker.js';
import { sleep } from './lib/proc.js';
import { measureInput, type InputResult } from './input.js';

export interface StreamConfig {
  width: number;
  height: number;
  fps: number;
}

export interface StreamRow {
  resolution: string;
  fps_requested: number;
  fps_received_median: number | null;
  glass_to_glass_ms_p50: number | null;
  glass_to_glass_ms_p95: number | null;
  host_cpu_pct: number | null;
  client_cpu_pct: number | null;
  bitrate_kbps: number | null;
  codec: string | null;
  /** Everything measured, for the breakdown. */
  detail: GlassResult & { received_resolution: string | null; host_agent?: AgentStats; error?: string };
}

export interface StreamSection {
  stream: StreamRow[];
  baseline_browser_share: StreamRow[];
  input: InputResult | null;
  content_cpu_pct: Record<string, number | null>;
}

/** Bitrate ramp-up and first keyframes settle before sampling starts. */
const WARMUP_MS = 3_000;

function row(cfg: StreamConfig, r: GlassResult, hostKey: string): StreamRow {
  return {
    resolution: `${cfg.width}x${cfg.height}`,
    fps_requested: cfg.fps,
    fps_received_median: r.fps_received_median,
    glass_to_glass_ms_p50: r.g2g_expected_display.p50,
    glass_to_glass_ms_p95: r.g2g_expected_display.p95,
    host_cpu_pct: r.cpu[hostKey] ?? null,
    client_cpu_pct: r.cpu.client ?? null,
    bitrate_kbps: r.bitrate_kbps,
    codec: r.codec,
    detail: { ...r, received_resolution: r.resolution },
  };
}

function failedRow(cfg: StreamConfig, err: unknown): StreamRow {
  const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  console.error(`bench: ${cfg.width}x${cfg.height}@${cfg.fps} failed: ${message}`);
  return {
    resolution: `${cfg.width}x${cfg.height}`,
    fps_requested: cfg.fps,
    fps_received_median: null,
    glass_to_glass_ms_p50: null,
    glass_to_glass_ms_p95: null,
    host_cpu_pct: null,
    client_cpu_pct: null,
    bitrate_kbps: null,
    codec: null,
    detail: { error: message } as StreamRow['detail'],
  };
}

const log = (msg: string) => console.error(`bench: ${msg}`);

export async function runStreams(configs: StreamConfig[], opts: { webRoot: string; samples: number; input: { width: number; height: number; fps: number } | null; inputSamples: number; baseline: boolean }): Promise<StreamSection> {
  const out: StreamSection = { stream: [], baseline_browser_share: [], input: null, content_cpu_pct: {} };
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
      const region = { x: MARKER.x / width, y: MARKER.y / height, w: MARKER.size / width, h: MARKER.size / height };

      for (const cfg of configs.filter((c) => c.width === width && c.height === height)) {
        // Backlot
        log(`backlot ${width}x${height}@${cfg.fps}`);
        try {
          const host = await startHostProcess(stack, cfg.fps);
          const page = await client.context.newPage();
          try {
            await connectClient(page, stack);
            await sleep(WARMUP_MS);
            const from = Date.now();
            const r = await measureGlass({
              receiver: page,
              marker,
              region,
              samples: opts.samples,
              cpuRoots: { host: host.pid, client: client.pid(), content: content.pid() },
            });
            const agent = agentStats(host.output(), from, Date.now());
            const backlot = row(cfg, r, 'host');
            out.stream.push({ ...backlot, detail: { ...backlot.detail, host_agent: agent } });
            out.content_cpu_pct[`backlot ${width}x${height}@${cfg.fps}`] = r.cpu.content ?? null;
            log(`  g2g p50 ${r.g2g_expected_display.p50} p95 ${r.g2g_expected_display.p95} fps ${r.fps_received_median} n=${r.samples}/${r.flips} host ${r.cpu.host}% client ${r.cpu.client}% ${r.codec} ${r.bitrate_kbps} kbps; agent: ${agent.capture_backend} capture ${agent.capture_grab_to_frame_ms} ms, encode ${agent.encode_ms_per_frame} ms/frame at ${agent.encoder_fps} fps, pacer ${agent.packet_send_delay_ms} ms, limited by ${agent.quality_limitation.join('/') || '-'}, playout-delay ${agent.low_latency_playout ? 'on' : 'off'}${agent.quality_changes.length ? `; client asked for ${agent.quality_changes.map((c) => `${c.fps} fps at +${Math.round(c.at / 1000)} s`).join(', ')}` : ''}`);
            if (opts.input && opts.input.width === width && opts.input.height === height && opts.input.fps === cfg.fps) {
              log(`input latency at ${width}x${height}@${cfg.fps}`);
              out.input = await measureInput(page, content.page, stack.display.display, { width, height }, opts.inputSamples).catch((err: unknown) => {
                log(`input failed: ${(err as Error).message}`);
                return null;
              });
            }
          } finally {
            await disconnectClient(page, stack);
            await page.close().catch(() => undefined);
            await host.stop();
          }
        } catch (err) {
          out.stream.push(failedRow(cfg, err));
        }

        if (!opts.baseline) continue;
        log(`baseline ${width}x${height}@${cfg.fps}`);
        let sender: BenchBrowser | undefined;
        try {
          sender = await startSender(stack.display.display, width, height);
          const page = await client.context.newPage();
          try {
            const link = await startBaseline(`${stack.url}/healthz`, sender.page, page, width, height, cfg.fps);
            await sleep(WARMUP_MS);
            const r = await measureGlass({
              receiver: page,
              sender: sender.page,
              marker,
              region,
              samples: opts.samples,
              cpuRoots: { sender: sender.pid(), client: client.pid(), content: content.pid() },
            });
            out.baseline_browser_share.push(row(cfg, r, 'sender'));
            out.content_cpu_pct[`baseline ${width}x${height}@${cfg.fps}`] = r.cpu.content ?? null;
            log(`  g2g p50 ${r.g2g_expected_display.p50} p95 ${r.g2g_expected_display.p95} fps ${r.fps_received_median} n=${r.samples}/${r.flips} sender ${r.cpu.sender}% client ${r.cpu.client}% ${r.codec} ${r.bitrate_kbps} kbps (capture ${JSON.stringify(link.settings)})`);
            await link.close();
          } finally {
            await page.close().catch(() => undefined);
          }
        } catch (err) {
          out.baseline_browser_share.push(failedRow(cfg, err));
        } finally {
          await sender?.close();
        }
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
