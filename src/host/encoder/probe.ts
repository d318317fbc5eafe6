/**
 * Picks the host's video encoder at session start (DESIGN.md, "The host owns
 * its encoder"): each candidate in order is opened at the session's size,
 * encodes a few frames of a moving synthetic picture, and the first that opens
 * and keeps within the per-frame budget wins. Hardware first (NVENC, VA-API,
 * QSV), libx264 last; every candidate's outcome is kept with its reason, so
 * "why is this workstation on x264?" has an answer in the log.
 *
 * Pure TypeScript over the AvNative interface: tests drive it with a stand-in.
 */
import { avFrameSize, type AvEncoderName, type AvInfo, type AvNative, type AvOpenOptions, type AvPixelFormat } from './av-native.js';

/** H.264 candidates on Linux, preferred first. */
export const H264_CANDIDATES: readonly AvEncoderName[] = ['h264_nvenc', 'h264_vaapi', 'h264_qsv', 'libx264'];
/** Frames encoded before timing starts (first-frame allocations, the IDR). */
export const PROBE_WARMUP_FRAMES = 2;
/** Frames timed per candidate; the median is what counts. */
export const PROBE_TIMED_FRAMES = 8;
/** Bitrate used while probing when none is given, per million pixels per second. */
const PROBE_BITS_PER_PIXEL_SECOND = 0.1;

export interface ProbeOptions {
  native: AvNative;
  width: number;
  height: number;
  fps: number;
  pixelFormat?: AvPixelFormat;
  /** Tried in order; default H264_CANDIDATES. */
  candidates?: readonly AvEncoderName[];
  /** Per-frame budget (median of encode + conversion), ms. */
  maxEncodeMs: number;
  /** Default: 0.1 bit per pixel at the session's rate. */
  bitrateKbps?: number;
  /** Passed through to `open` (threads, colour, device...). */
  open?: Partial<Pick<AvOpenOptions, 'threads' | 'gopFrames' | 'colour' | 'device'>>;
  /** Timed frames per candidate; default PROBE_TIMED_FRAMES. */
  frames?: number;
}

export type ProbeStatus = 'chosen' | 'ok' | 'too-slow' | 'failed' | 'missing' | 'skipped';

export interface ProbeCandidate {
  name: AvEncoderName;
  status: ProbeStatus;
  /** Opened, encoded, and within the budget. */
  ok: boolean;
  reason?: string;
  medianEncodeMs?: number;
  info?: AvInfo;
}

export interface ProbeResult {
  /** The encoder to use; undefined when none opened at all. */
  chosen: AvEncoderName | undefined;
  /** One line, e.g. "h264_nvenc: Cannot load libcuda.so.1; libx264: 7.9 ms/frame ≤ 25 ms: chosen". */
  why: string;
  candidates: ProbeCandidate[];
}

const ms = (n: number): string => `${n.toFixed(1)} ms`;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Frame `index` of a moving test picture in planar I420 or I444: a drifting
 * gradient, rows of fine "text" that scroll sideways, and a box that moves,
 * so an encoder has both motion and detail to code (a flat colour would time
 * nothing).
 */
export function synthFrame(width: number, height: number, format: AvPixelFormat, index: number, out?: Uint8Array): Uint8Array {
  const frame = out ?? new Uint8Array(avFrameSize(width, height, format));
  const boxW = width >> 2;
  const boxH = height >> 2;
  const boxX = (index * 16) % Math.max(1, width - boxW);
  const boxY = (index * 9) % Math.max(1, height - boxH);
  const scroll = index * 4;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const text = (y >> 3) % 3 === 0; // one line in three carries "text"
    const inBoxRow = y >= boxY && y < boxY + boxH;
    for (let x = 0; x < width; x++) {
      let v: number;
      if (inBoxRow && x >= boxX && x < boxX + boxW) v = 200 + ((x - boxX) & 31);
      else if (text) v = ((x + scroll) * 7 + y * 13) & 0x40 ? 220 : 30;
      else v = 16 + ((x + y + index * 2) % 200);
      frame[row + x] = v;
    }
  }
  const cw = format === 'yuv444p' ? width : Math.ceil(width / 2);
  const ch = format === 'yuv444p' ? height : Math.ceil(height / 2);
  const u = width * height;
  const v = u + cw * ch;
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      frame[u + y * cw + x] = 64 + ((x * 2 + index * 3) % 128);
      frame[v + y * cw + x] = 64 + ((y * 2 + index * 5) % 128);
    }
  }
  return frame;
}

/** The addon's messages start with the encoder's name; the probe's lines already do. */
function withoutName(name: string, message: string): string {
  return message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
}

/** Opens one candidate and times it; never throws. */
async function probeOne(options: ProbeOptions, name: AvEncoderName, bitrateKbps: number, frames: Uint8Array[]): Promise<ProbeCandidate> {
  const { native } = options;
  let handle;
  try {
    handle = await native.open({
      ...options.open,
      codec: name,
      width: options.width,
      height: options.height,
      fps: options.fps,
      bitrateKbps,
      pixelFormat: options.pixelFormat ?? 'yuv420p',
    });
  } catch (err) {
    return { name, status: 'failed', ok: false, reason: withoutName(name, (err as Error).message) };
  }
  try {
    const times: number[] = [];
    let produced = 0;
    const total = PROBE_WARMUP_FRAMES + (options.frames ?? PROBE_TIMED_FRAMES);
    for (let i = 0; i < total; i++) {
      const result = await native.encode(handle, frames[i % frames.length]!, { pts: i, forceKeyframe: i === 0 });
      if (result.data) produced++;
      if (i >= PROBE_WARMUP_FRAMES) times.push(result.encodeMs + result.convertMs);
    }
    if (produced === 0) return { name, status: 'failed', ok: false, reason: `no output in ${total} frames` };
    const info = native.info(handle);
    const medianEncodeMs = median(times);
    if (medianEncodeMs > options.maxEncodeMs) {
      return { name, status: 'too-slow', ok: false, medianEncodeMs, info, reason: `${ms(medianEncodeMs)}/frame > ${options.maxEncodeMs} ms` };
    }
    return { name, status: 'ok', ok: true, medianEncodeMs, info };
  } catch (err) {
    return { name, status: 'failed', ok: false, reason: `encoding failed: ${withoutName(name, (err as Error).message)}` };
  } finally {
    native.close(handle);
  }
}

/** Probes the candidates in order and keeps the first that opens and meets `maxEncodeMs`. */
export async function probeEncoders(options: ProbeOptions): Promise<ProbeResult> {
  const candidates = options.candidates ?? H264_CANDIDATES;
  const format = options.pixelFormat ?? 'yuv420p';
  const bitrateKbps = options.bitrateKbps ?? Math.max(500, Math.round((options.width * options.height * options.fps * PROBE_BITS_PER_PIXEL_SECOND) / 1000));
  let present: ReadonlySet<string>;
  try {
    present = new Set(options.native.encoders());
  } catch (err) {
    const reason = `encoders() failed: ${(err as Error).message}`;
    return { chosen: undefined, why: reason, candidates: candidates.map((name) => ({ name, status: 'failed', ok: false, reason })) };
  }
  const frames: Uint8Array[] = [];
  const results: ProbeCandidate[] = [];
  let chosen: ProbeCandidate | undefined;
  for (const name of candidates) {
    if (chosen) {
      results.push({ name, status: 'skipped', ok: false, reason: `not probed: ${chosen.name} was chosen first` });
      continue;
    }
    if (!present.has(name)) {
      results.push({ name, status: 'missing', ok: false, reason: 'not in this libavcodec build' });
      continue;
    }
    // Made once, on the first candidate that gets as far as encoding.
    if (!frames.length) for (let i = 0; i < 4; i++) frames.push(synthFrame(options.width, options.height, format, i * 3));
    const result = await probeOne(options, name, bitrateKbps, frames);
    if (result.ok) {
      result.status = 'chosen';
      chosen = result;
    }
    results.push(result);
  }
  const parts = results
    .filter((r) => r.status !== 'skipped')
    .map((r) => (r.status === 'chosen' ? `${r.name}: ${ms(r.medianEncodeMs!)}/frame ≤ ${options.maxEncodeMs} ms: chosen` : `${r.name}: ${r.reason}`));
  if (!chosen) {
    // None within budget: a slow encoder beats none; the fastest that worked goes, and says so.
    const slow = results.filter((r) => r.status === 'too-slow').sort((a, b) => a.medianEncodeMs! - b.medianEncodeMs!)[0];
    if (slow) {
      slow.status = 'chosen';
      parts.push(`none met ${options.maxEncodeMs} ms/frame: the fastest, ${slow.name} (${ms(slow.medianEncodeMs!)}), chosen`);
      return { chosen: slow.name, why: parts.join('; '), candidates: results };
    }
    parts.push('no encoder opened');
  }
  return { chosen: chosen?.name, why: parts.join('; '), candidates: results };
}
