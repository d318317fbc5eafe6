/**
 * `npm run bench`: every Backlot benchmark in one run, with Chromium's own
 * screen share measured alongside as the baseline. Prints a table, writes
 * bench/results.json. See BENCHMARKS.md for the methods.
 *
 *   tsx bench/run.ts [--quick] [--only stream,broker] [--samples N]
 *                    [--connections N] [--web-root DIR] [--no-baseline]
 *                    [--configs 1280x720@30,1920x1080@60] [--out FILE]
 *
 * Every process it starts (Xvfb, browsers, broker, host agents, ffmpeg) is
 * stopped at the end, on failure, and on Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runBroker, type BrokerResult } from './broker.js';
import { runBreakdown, type BreakdownResult } from './breakdown.js';
import { ROOT } from './lib/backlot.js';
import { machineInfo } from './lib/machine.js';
import { cleanupAll, installExitHandlers, onCleanup } from './lib/proc.js';
import { runStreams, type StreamConfig, type StreamRow, type StreamSection } from './stream.js';

const RESULTS = resolve(import.meta.dirname, 'results.json');
/** The whole run must stay inside this on a 2-core machine (issue 7). */
const BUDGET_MS = 10 * 60_000;

const CONFIGS: StreamConfig[] = [
  { width: 1280, height: 720, fps: 30 },
  { width: 1920, height: 1080, fps: 30 },
  { width: 1920, height: 1080, fps: 60 },
];

function parse() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      samples: { type: 'string' },
      connections: { type: 'string' },
      'web-root': { type: 'string' },
      'no-baseline': { type: 'boolean', default: false },
      out: { type: 'string' },
      configs: { type: 'string' },
    },
    strict: true,
  });
  const only = new Set((values.only ?? 'stream,breakdown,broker').split(','));
  return {
    quick: values.quick,
    stream: only.has('stream'),
    breakdown: only.has('breakdown'),
    broker: only.has('broker'),
    samples: Number(values.samples ?? (values.quick ? 20 : 110)),
    connections: Number(values.connections ?? (values.quick ? 1000 : 10_000)),
    webRoot: values['web-root'],
    baseline: !values['no-baseline'],
    out: values.out ? resolve(values.out) : RESULTS,
    configs: values.configs
      ? values.configs.split(',').map((c) => {
          const m = /^(\d+)x(\d+)@(\d+)$/.exec(c);
          if (!m) throw new Error(`--configs: expected WxH@FPS, got ${c}`);
          return { width: Number(m[1]), height: Number(m[2]), fps: Number(m[3]) };
        })
      : CONFIGS,
  };
}

/** Builds the web client into a private folder, so a concurrent build of dist/ cannot change it under us. */
async function buildWebClient(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'backlot-bench-web-'));
  onCleanup('web client build', () => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'renderer');
  execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

const fmt = (v: number | null | undefined, digits = 0) => (v === null || v === undefined ? '–' : v.toFixed(digits));
const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? (a / b).toFixed(2) : '–');

function table(results: { stream: StreamRow[]; baseline_browser_share: StreamRow[] }): string {
  const head = ['config', 'who', 'fps rx (med)', 'g2g p50', 'g2g p95', 'host/sender CPU %', 'client CPU %', 'kbps', 'codec', 'n'];
  const rows: string[][] = [];
  for (const s of results.stream) {
    const b = results.baseline_browser_share.find((x) => x.resolution === s.resolution && x.fps_requested === s.fps_requested);
    for (const [who, r] of [['Backlot', s], ['browser share', b]] as const) {
      if (!r) continue;
      rows.push([`${r.resolution}@${r.fps_requested}`, who, fmt(r.fps_received_median, 1), fmt(r.glass_to_glass_ms_p50, 1), fmt(r.glass_to_glass_ms_p95, 1), fmt(r.host_cpu_pct), fmt(r.client_cpu_pct), fmt(r.bitrate_kbps), r.codec ?? '–', r.detail.error ? 'failed' : `${r.detail.samples}/${r.detail.flips}`]);
    }
    if (b) rows.push(['', 'ratio B/base', ratio(s.fps_received_median, b.fps_received_median), ratio(s.glass_to_glass_ms_p50, b.glass_to_glass_ms_p50), ratio(s.glass_to_glass_ms_p95, b.glass_to_glass_ms_p95), ratio(s.host_cpu_pct, b.host_cpu_pct), ratio(s.client_cpu_pct, b.client_cpu_pct), ratio(s.bitrate_kbps, b.bitrate_kbps), '', '']);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function goals(stream: StreamRow[], baseline: StreamRow[], input: StreamSection['input'], broker: BrokerResult | null): { goal: string; met: boolean | null; measured: string }[] {
  const s1080 = stream.find((s) => s.resolution === '1920x1080' && s.fps_requested === 30);
  const b1080 = baseline.find((s) => s.resolution === '1920x1080' && s.fps_requested === 30);
  const s60 = stream.find((s) => s.resolution === '1920x1080' && s.fps_requested === 60);
  const v = (x: number | null | undefined) => (x === null || x === undefined ? null : x);
  const check = (x: number | null | undefined, ok: (n: number) => boolean) => (v(x) === null ? null : ok(x!));
  return [
    { goal: 'g2g 1920x1080@30 p50 ≤ 50 ms', met: check(s1080?.glass_to_glass_ms_p50, (n) => n <= 50), measured: `${fmt(s1080?.glass_to_glass_ms_p50, 1)} ms` },
    {
      goal: 'g2g 1920x1080@30 no worse than browser share (p50)',
      met: v(s1080?.glass_to_glass_ms_p50) === null || v(b1080?.glass_to_glass_ms_p50) === null ? null : s1080!.glass_to_glass_ms_p50! <= b1080!.glass_to_glass_ms_p50!,
      measured: `${fmt(s1080?.glass_to_glass_ms_p50, 1)} vs ${fmt(b1080?.glass_to_glass_ms_p50, 1)} ms`,
    },
    { goal: '1920x1080@60 requested: ≥ 55 fps received', met: check(s60?.fps_received_median, (n) => n >= 55), measured: `${fmt(s60?.fps_received_median, 1)} fps` },
    { goal: 'input pointer p50 ≤ 5 ms, p95 ≤ 15 ms', met: input ? (input.pointer_ms_p50 === null ? null : input.pointer_ms_p50 <= 5 && (input.pointer_ms_p95 ?? Infinity) <= 15) : null, measured: `${fmt(input?.pointer_ms_p50, 1)} / ${fmt(input?.pointer_ms_p95, 1)} ms` },
    { goal: 'input key p50 ≤ 5 ms, p95 ≤ 15 ms', met: input ? (input.key_ms_p50 === null ? null : input.key_ms_p50 <= 5 && (input.key_ms_p95 ?? Infinity) <= 15) : null, measured: `${fmt(input?.key_ms_p50, 1)} / ${fmt(input?.key_ms_p95, 1)} ms` },
    { goal: 'broker: 10,000 idle connections in one process', met: broker ? broker.ws_connections_held >= 10_000 : null, measured: `${broker?.ws_connections_held ?? '–'}` },
    { goal: 'broker: signalling relay p99 < 5 ms at that load', met: broker?.signal_relay_ms_p99 === undefined || broker.signal_relay_ms_p99 === null ? null : broker.signal_relay_ms_p99 < 5 && broker.ws_connections_held >= 10_000, measured: `${fmt(broker?.signal_relay_ms_p99, 2)} ms at ${broker?.ws_connections_held ?? '–'} connections` },
  ];
}

async function main(): Promise<void> {
  installExitHandlers();
  const opts = parse();
  const started = Date.now();
  const deadline = setTimeout(() => {
    console.error('bench: over the 10-minute budget; stopping');
    process.kill(process.pid, 'SIGTERM');
  }, BUDGET_MS + 60_000);
  deadline.unref();
  const machine = machineInfo();
  console.error(`bench: ${machine.cpu_model}, ${machine.cores} cores, load ${machine.load_average_at_start.join(' ')}`);

  let streams: StreamSection | null = null;
  let breakdown: BreakdownResult | null = null;
  let broker: BrokerResult | null = null;
  try {
    if (opts.stream) {
      const webRoot = opts.webRoot ?? (console.error('bench: building the web client'), await buildWebClient());
      streams = await runStreams(opts.configs, {
        webRoot,
        samples: opts.samples,
        input: { width: 1920, height: 1080, fps: 30 },
        inputSamples: opts.quick ? 20 : 60,
        baseline: opts.baseline,
      });
    }
    if (opts.breakdown) {
      console.error('bench: latency breakdown (capture, encode)');
      breakdown = await runBreakdown({ samples: opts.quick ? 20 : 60 }).catch((err: unknown) => {
        console.error(`bench: breakdown failed: ${(err as Error).message}`);
        return null;
      });
    }
    if (opts.broker) {
      console.error(`bench: broker with ${opts.connections} connections`);
      broker = await runBroker({ connections: opts.connections, quick: opts.quick }).catch((err: unknown) => {
        console.error(`bench: broker failed: ${(err as Error).stack}`);
        return null;
      });
    }
  } finally {
    await cleanupAll();
  }

  const stream = streams?.stream ?? [];
  const baseline = streams?.baseline_browser_share ?? [];
  const input = streams?.input ?? null;
  const results = {
    machine: { ...machine, load_average_at_end: (await import('node:os')).loadavg().map((v) => Math.round(v * 100) / 100), duration_s: Math.round((Date.now() - started) / 1000) },
    method: {
      glass_to_glass: 'marker colour flip on the Xvfb framebuffer (X round trip confirmed) → requestVideoFrameCallback expectedDisplayTime of the first frame showing it, epoch ms on one machine',
      samples_per_config: opts.samples,
      cpu: '% of one core over the measurement window, from /proc/<pid>/stat of the whole process tree',
    },
    stream,
    baseline_browser_share: baseline,
    ratios_backlot_over_baseline: stream.map((s) => {
      const b = baseline.find((x) => x.resolution === s.resolution && x.fps_requested === s.fps_requested);
      const q = (a: number | null, c: number | null | undefined) => (a !== null && c !== null && c !== undefined && c > 0 ? Math.round((a / c) * 100) / 100 : null);
      return {
        resolution: s.resolution,
        fps_requested: s.fps_requested,
        glass_to_glass_p50: q(s.glass_to_glass_ms_p50, b?.glass_to_glass_ms_p50),
        glass_to_glass_p95: q(s.glass_to_glass_ms_p95, b?.glass_to_glass_ms_p95),
        fps_received: q(s.fps_received_median, b?.fps_received_median),
        host_cpu: q(s.host_cpu_pct, b?.host_cpu_pct),
        client_cpu: q(s.client_cpu_pct, b?.client_cpu_pct),
        bitrate: q(s.bitrate_kbps, b?.bitrate_kbps),
      };
    }),
    input: input ?? { pointer_ms_p50: null, pointer_ms_p95: null, key_ms_p50: null, key_ms_p95: null },
    broker: broker ?? { ws_connections_held: 0, rss_mb_per_1k_connections: null, session_setups_per_s: null, signal_relay_ms_p50: null, signal_relay_ms_p99: null },
    breakdown,
    content_cpu_pct: streams?.content_cpu_pct ?? {},
    goals: goals(stream, baseline, input, broker),
  };
  await writeFile(opts.out, `${JSON.stringify(results, null, 2)}\n`);

  console.log(`\nBacklot benchmarks — ${machine.cpu_model}, ${machine.cores} cores, ${machine.memory_gb} GB, load at start ${machine.load_average_at_start.join(' ')}; Chromium ${machine.chromium}, ffmpeg ${machine.ffmpeg}, Node ${machine.node}\n`);
  if (stream.length > 0) console.log(`${table({ stream, baseline_browser_share: baseline })}\n`);
  if (input) {
    const pair = (x: { p50: number | null; p95: number | null; n: number }) => `p50 ${fmt(x.p50, 1)}, p95 ${fmt(x.p95, 1)} ms (n=${x.n})`;
    console.log(
      [
        'Input, client event → host application (platform timestamps at both ends):',
        `  received: pointer ${pair(input.pointer)}; click ${pair(input.click)}; key ${pair(input.key)}`,
        `  handled by the application: pointer ${pair(input.handled.pointer)}; click ${pair(input.handled.click)}; key ${pair(input.handled.key)}`,
        `  floor, XTEST from this process → received: pointer ${pair(input.floor.pointer)}; key ${pair(input.floor.key)}; → handled: pointer ${pair(input.floor.pointer_handled)}; key ${pair(input.floor.key_handled)}`,
        '',
      ].join('\n'),
    );
  }
  if (broker) {
    console.log(
      `Broker: ${broker.ws_connections_held} idle host connections held, ${fmt(broker.rss_mb_per_1k_connections, 1)} MB RSS per 1,000; session setups/s ${fmt(broker.session_setups_per_s, 1)} (fresh login each), ${fmt(broker.session_setups_per_s_token_reused, 1)} (token reused); relay p50 ${fmt(broker.signal_relay_ms_p50, 2)} ms, p99 ${fmt(broker.signal_relay_ms_p99, 2)} ms\n`,
    );
  }
  if (breakdown) console.log(`Breakdown: ${JSON.stringify(breakdown.summary)}\n`);
  console.log('Goals:');
  for (const g of results.goals) console.log(`  ${g.met === null ? '  ?' : g.met ? ' met' : 'MISS'}  ${g.goal}: ${g.measured}`);
  console.log(`\nwrote ${opts.out} in ${results.machine.duration_s} s`);
  if (Date.now() - started > BUDGET_MS) console.log('WARNING: the run took longer than the 10-minute budget');
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    console.error(err);
    await cleanupAll();
    process.exit(1);
  },
);
