/**
 * What `npm run bench` makes of the rows: the printed tables, the ratios of
 * Backlot's encoded pipeline to everyone else at each configuration, where
 * the encoded pipeline's time goes, and the goals of issue 12 with met /
 * missed / unknown. Pure functions of the results, so results.json and the
 * printed table always agree.
 */
import type { BreakdownResult } from './breakdown.js';
import type { BrokerResult } from './broker.js';
import type { EncoderAvailability } from './encoders.js';
import type { InputResult } from './input.js';
import { r1 } from './lib/stats.js';
import type { ShapedLinkResult } from './shaped-link.js';
import type { StreamRow, Who } from './stream.js';

const fmt = (v: number | null | undefined, digits = 0) => (v === null || v === undefined ? '–' : v.toFixed(digits));
const q = (a: number | null | undefined, b: number | null | undefined) => (a !== null && a !== undefined && b !== null && b !== undefined && b > 0 ? Math.round((a / b) * 100) / 100 : null);
const key = (r: { resolution: string; fps_requested: number }) => `${r.resolution}@${r.fps_requested}`;

/** The encoded pipeline with the encoder the probe chose: the row every goal is judged on. */
export const isMain = (r: StreamRow) => r.who === 'encoded' && r.encoder_requested === 'auto';

/** The configurations in run order. */
function configs(rows: StreamRow[]): string[] {
  return [...new Set(rows.map(key))];
}

export interface Ratios {
  resolution: string;
  fps_requested: number;
  /** Backlot encoded ÷ the other, per figure. */
  over: Partial<Record<Exclude<Who, 'encoded'>, { glass_to_glass_p50: number | null; glass_to_glass_p95: number | null; fps_received: number | null; host_cpu: number | null; host_cpu_ms_per_frame: number | null; client_cpu: number | null; bitrate: number | null }>>;
}

export function ratios(rows: StreamRow[]): Ratios[] {
  const out: Ratios[] = [];
  for (const c of configs(rows)) {
    const main = rows.find((r) => isMain(r) && key(r) === c);
    if (!main) continue;
    const entry: Ratios = { resolution: main.resolution, fps_requested: main.fps_requested, over: {} };
    for (const who of ['browser share', 'noVNC', 'xpra'] as const) {
      const o = rows.find((r) => r.who === who && key(r) === c);
      if (!o) continue;
      entry.over[who] = {
        glass_to_glass_p50: q(main.glass_to_glass_ms_p50, o.glass_to_glass_ms_p50),
        glass_to_glass_p95: q(main.glass_to_glass_ms_p95, o.glass_to_glass_ms_p95),
        fps_received: q(main.fps_received_median, o.fps_received_median),
        host_cpu: q(main.host_cpu_pct, o.host_cpu_pct),
        host_cpu_ms_per_frame: q(main.host_cpu_ms_per_frame, o.host_cpu_ms_per_frame),
        client_cpu: q(main.client_cpu_pct, o.client_cpu_pct),
        bitrate: q(main.bitrate_kbps, o.bitrate_kbps),
      };
    }
    out.push(entry);
  }
  return out;
}

const label = (r: StreamRow) => (r.who === 'encoded' ? `Backlot encoded${r.encoder ? ` (${r.encoder})` : r.encoder_requested && r.encoder_requested !== 'auto' ? ` (${r.encoder_requested})` : ''}` : r.who);

/** The stream table, Markdown, with a ratio line per other row under each configuration. */
export function streamTable(rows: StreamRow[], encoders: EncoderAvailability[] = []): string {
  const head = ['config', 'who', 'fps rx (med)', 'g2g p50 ms', 'g2g p95 ms', 'host CPU %', 'host CPU ms/frame', 'client CPU %', 'kbps', 'codec', 'samples'];
  const lines: string[][] = [];
  const rs = ratios(rows);
  for (const c of configs(rows)) {
    const here = rows.filter((r) => key(r) === c);
    for (const r of here) {
      const status = r.detail.error ? `failed: ${r.detail.error}` : `${r.detail.samples}/${r.detail.flips}`;
      lines.push([c, label(r), fmt(r.fps_received_median, 1), fmt(r.glass_to_glass_ms_p50, 1), fmt(r.glass_to_glass_ms_p95, 1), fmt(r.host_cpu_pct), fmt(r.host_cpu_ms_per_frame, 1), fmt(r.client_cpu_pct), fmt(r.bitrate_kbps), r.codec ?? '–', status]);
    }
    if (c === '1920x1080@30') {
      for (const e of encoders.filter((x) => !x.available)) lines.push([c, `Backlot encoded (${e.encoder})`, '–', '–', '–', '–', '–', '–', '–', e.codec, `not available here: ${e.reason}`]);
    }
    const ratio = rs.find((x) => `${x.resolution}@${x.fps_requested}` === c);
    for (const [who, v] of Object.entries(ratio?.over ?? {})) {
      lines.push(['', `ratio encoded/${who}`, fmt(v.fps_received, 2), `**${fmt(v.glass_to_glass_p50, 2)}**`, fmt(v.glass_to_glass_p95, 2), fmt(v.host_cpu, 2), fmt(v.host_cpu_ms_per_frame, 2), fmt(v.client_cpu, 2), fmt(v.bitrate, 2), '', '']);
    }
  }
  return markdown(head, lines);
}

function markdown(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export interface TimeBudget {
  config: string;
  encoder: string | null;
  /** Flip → grab start: the marker changes at random times, so on average half the interval between grabs (1 / capture fps). */
  capture_wait_ms_est: number | null;
  /** Grab start → frame handed to libdatachannel (agent, median); grab + convert and encode are inside it. */
  capture_to_send_ms: number | null;
  grab_convert_ms: number | null;
  encode_ms: number | null;
  /** capture→send − grab+convert − encode: waiting for the encoder thread, JS, the hand-off. */
  host_other_ms: number | null;
  /** Flip → the frame's last packet received (probe, p50). */
  flip_to_receive_ms: number | null;
  /** flip→received − capture wait − capture→send: libdatachannel's send, loopback, Chromium's receive and reassembly (and scheduling on 2 shared cores). */
  send_network_ms: number | null;
  /** Received → expected display (probe, p50). */
  receive_to_display_ms: number | null;
  /** Client's mean decode time (Δ totalDecodeTime / Δ framesDecoded). */
  decode_ms: number | null;
  /** Client's mean jitter-buffer wait (Δ jitterBufferDelay / Δ jitterBufferEmittedCount). */
  jitter_buffer_ms: number | null;
  /** received→displayed − decode − jitter buffer: the compositor, up to the frame's expected display. */
  render_ms: number | null;
  glass_to_glass_p50: number | null;
}

const sub = (a: number | null | undefined, ...b: (number | null | undefined)[]) => (a === null || a === undefined || b.some((x) => x === null || x === undefined) ? null : r1(a - b.reduce<number>((s, x) => s + x!, 0)));

/** Where the encoded pipeline's glass-to-glass time goes, per configuration (medians and means, so the parts add up only roughly). */
export function timeBudget(rows: StreamRow[]): TimeBudget[] {
  return rows
    .filter((r) => r.who === 'encoded' && !r.detail.error)
    .map((r) => {
      const a = r.detail.host_agent;
      const wait = a?.capture_fps ? r1(500 / a.capture_fps) : null;
      const toRx = r.detail.flip_to_receive?.p50 ?? null;
      const rxToShow = r.detail.receive_to_display?.p50 ?? null;
      const rx = r.detail.receiver;
      return {
        config: key(r),
        encoder: r.encoder,
        capture_wait_ms_est: wait,
        capture_to_send_ms: a?.capture_to_send_ms ?? null,
        grab_convert_ms: a?.capture_grab_to_frame_ms ?? null,
        encode_ms: a?.encode_ms_per_frame ?? null,
        host_other_ms: sub(a?.capture_to_send_ms, a?.capture_grab_to_frame_ms, a?.encode_ms_per_frame),
        flip_to_receive_ms: toRx,
        send_network_ms: sub(toRx, wait, a?.capture_to_send_ms),
        receive_to_display_ms: rxToShow,
        decode_ms: rx?.decode_ms ?? null,
        jitter_buffer_ms: rx?.jitter_buffer_ms ?? null,
        render_ms: sub(rxToShow, rx?.decode_ms, rx?.jitter_buffer_ms),
        glass_to_glass_p50: r.glass_to_glass_ms_p50,
      };
    });
}

export function timeBudgetTable(budget: TimeBudget[]): string {
  const stages: [string, keyof TimeBudget][] = [
    ['capture wait (flip → grab; ½ grab interval, est.)', 'capture_wait_ms_est'],
    ['grab + convert (agent capture grabToFrameMs)', 'grab_convert_ms'],
    ['encode (agent encodeMs)', 'encode_ms'],
    ['other host work (capture→send − grab − encode)', 'host_other_ms'],
    ['= capture → send (agent captureToSendMs)', 'capture_to_send_ms'],
    ['send + network + reassembly (remainder)', 'send_network_ms'],
    ['= flip → frame received (probe receiveTime)', 'flip_to_receive_ms'],
    ['jitter buffer (client, mean)', 'jitter_buffer_ms'],
    ['decode (client, mean)', 'decode_ms'],
    ['render to expected display (remainder)', 'render_ms'],
    ['= received → displayed (probe)', 'receive_to_display_ms'],
    ['**glass to glass p50**', 'glass_to_glass_p50'],
  ];
  const head = ['stage', ...budget.map((b) => `${b.config}${b.encoder && b.encoder !== 'libx264' ? ` ${b.encoder}` : ''}`)];
  return markdown(
    head,
    stages.map(([name, k]) => [name, ...budget.map((b) => fmt(b[k] as number | null, 1))]),
  );
}

export interface Goal {
  goal: string;
  met: boolean | null;
  measured: string;
}

type InputSection = (InputResult & { pipeline: string | null }) | null;

export function goals(rows: StreamRow[], input: InputSection, broker: BrokerResult | null): Goal[] {
  const at = (who: Who, c: string) => rows.find((r) => (who === 'encoded' ? isMain(r) : r.who === who) && key(r) === c && !r.detail.error);
  const e720 = at('encoded', '1280x720@30');
  const e1080 = at('encoded', '1920x1080@30');
  const e60 = at('encoded', '1920x1080@60');
  const check = (x: number | null | undefined, ok: (n: number) => boolean) => (x === null || x === undefined ? null : ok(x));
  const out: Goal[] = [
    { goal: 'g2g 1920x1080@30 p50 ≤ 40 ms', met: check(e1080?.glass_to_glass_ms_p50, (n) => n <= 40), measured: `${fmt(e1080?.glass_to_glass_ms_p50, 1)} ms` },
  ];
  for (const who of ['browser share', 'noVNC', 'xpra'] as const) {
    const o = at(who, '1920x1080@30');
    const ratio = q(e1080?.glass_to_glass_ms_p50, o?.glass_to_glass_ms_p50);
    const failed = rows.find((r) => r.who === who && key(r) === '1920x1080@30' && r.detail.error);
    out.push({
      goal: `g2g 1920x1080@30 p50 ≤ 0.25 × ${who}`,
      met: ratio === null ? null : ratio <= 0.25,
      measured: failed ? `${who} did not run: ${failed.detail.error}` : `${fmt(e1080?.glass_to_glass_ms_p50, 1)} vs ${fmt(o?.glass_to_glass_ms_p50, 1)} ms (×${fmt(ratio, 2)})`,
    });
  }
  out.push(
    { goal: '1920x1080@60: ≥ 55 fps received', met: check(e60?.fps_received_median, (n) => n >= 55), measured: `${fmt(e60?.fps_received_median, 1)} fps` },
    { goal: 'g2g 1920x1080@60 p50 ≤ 30 ms', met: check(e60?.glass_to_glass_ms_p50, (n) => n <= 30), measured: `${fmt(e60?.glass_to_glass_ms_p50, 1)} ms` },
    { goal: 'g2g 1280x720@30 p50 ≤ 30 ms', met: check(e720?.glass_to_glass_ms_p50, (n) => n <= 30), measured: `${fmt(e720?.glass_to_glass_ms_p50, 1)} ms` },
  );
  // "Host CPU per 1080p frame ≤ 0.5 × the wrtc pipeline" was judged in the runs where both pipelines ran (BENCHMARKS.md); wrtc is gone.
  const inputGoal = (what: string, p50: number | null | undefined, p95: number | null | undefined): Goal => ({
    goal: `input ${what} p50 ≤ 5 ms, p95 ≤ 15 ms (${input?.pipeline ?? '–'} pipeline)`,
    met: p50 === null || p50 === undefined ? null : p50 <= 5 && (p95 ?? Infinity) <= 15,
    measured: `${fmt(p50, 1)} / ${fmt(p95, 1)} ms`,
  });
  out.push(inputGoal('pointer', input?.pointer_ms_p50, input?.pointer_ms_p95), inputGoal('click', input?.click_ms_p50, input?.click_ms_p95), inputGoal('key', input?.key_ms_p50, input?.key_ms_p95));
  out.push(
    { goal: 'broker: 10,000 idle connections in one process', met: broker ? broker.ws_connections_held >= 10_000 : null, measured: `${broker?.ws_connections_held ?? '–'}` },
    {
      goal: 'broker: signalling relay p99 < 5 ms at that load',
      met: broker?.signal_relay_ms_p99 === undefined || broker.signal_relay_ms_p99 === null ? null : broker.signal_relay_ms_p99 < 5 && broker.ws_connections_held >= 10_000,
      measured: `${fmt(broker?.signal_relay_ms_p99, 2)} ms at ${broker?.ws_connections_held ?? '–'} connections`,
    },
  );
  return out;
}

/** One line on the capture stage alone, for the printed summary. */
export function breakdownLine(b: BreakdownResult): string {
  return `Breakdown (capture alone, flip → frame in Node, p50): ${Object.entries(b.summary)
    .map(([k, v]) => `${k} ${fmt(v, 1)}`)
    .join(', ')}`;
}

/** The shaped-link row, one line per phase, Markdown; or why it was not measured. */
export function shapedLinkTable(s: ShapedLinkResult): string {
  const title = `Shaped link (${s.link.rate_mbit} Mbit/s, ${s.link.loss_pct} % loss)`;
  if (!s.measured) return `${title}: ${s.why}`;
  const head = ['phase', 's', 'settle ms', 'recover ms', 'rx kbps (mean / last 5 s)', 'target at end', 'fps', 'gap p50/p95/max ms', 'freezes', 'g2g p95', 'lost for good (settled %)', 'NACKs / resent', 'PLIs'];
  const lines = s.phases.map((p) => [
    p.phase,
    fmt(p.duration_s, 1),
    fmt(p.settle_ms),
    fmt(p.recover_ms),
    `${fmt(p.received_kbps_mean)} / ${fmt(p.received_kbps_last_5s)}`,
    fmt(p.target_kbps_at_end),
    fmt(p.fps_decoded, 1),
    `${fmt(p.gap_ms.p50, 1)} / ${fmt(p.gap_ms.p95, 1)} / ${fmt(p.gap_ms.max)}`,
    `${p.freezes} (${p.freezes_ms} ms)`,
    'not measured',
    `${p.packets_lost_for_good} of ${p.packets_received + p.packets_lost_for_good} (${fmt(p.settled_lost_pct, 2)})`,
    `${p.nacks} / ${p.host_retransmitted}`,
    `${p.plis}`,
  ]);
  return `${title}:\n${markdown(head, lines)}\n${s.why}`;
}
