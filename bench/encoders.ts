/**
 * Which encoders this machine has, each probed on its own (issue 12): the
 * host agent's own probe (src/host/encoder/probe.ts, through the av-encoder
 * addon) run once per encoder as the only candidate, so every one gets its
 * outcome and reason even when an earlier one would have been chosen. The
 * stream benchmark then runs a row for each encoder that opened and whose
 * codec the encoded pipeline sends, and a "not available here" row, with
 * the reason, for each hardware H.264 encoder that did not.
 */
import { codecOfEncoder } from '../src/host/encoder/av-encoder.js';
import { CAPTURE_COLOUR, loadAvNative, type AvEncoderName } from '../src/host/encoder/av-native.js';
import { probeEncoders } from '../src/host/encoder/probe.js';
import { PROBE_BUDGET_MS } from '../src/host/pipeline/select.js';

/** The hardware H.264 encoders the issue names: each gets a row, run or not. */
export const HARDWARE_H264: readonly AvEncoderName[] = ['h264_nvenc', 'h264_vaapi', 'h264_qsv'];
/** Software encoders the encoded pipeline can send (H.264 and AV1 in Chromium). */
const SOFTWARE: readonly AvEncoderName[] = ['libx264', 'libsvtav1'];

export interface EncoderAvailability {
  encoder: AvEncoderName;
  codec: string;
  hardware: boolean;
  /** In this libavcodec build at all. */
  present: boolean;
  /** Opened and encoded at the probe size. */
  available: boolean;
  /** The probe's status: ok, too-slow, failed, missing. */
  status: string;
  /** The probe's reason when it did not open, or its per-frame time. */
  reason: string;
  median_encode_ms: number | null;
  probe_size: string;
}

/** Probes each encoder alone at width×height@fps (the agent's budget, colour and frames). */
export async function probeEachEncoder(width: number, height: number, fps: number): Promise<{ addon: string; encoders: EncoderAvailability[] }> {
  const load = loadAvNative();
  const names = [...HARDWARE_H264, ...SOFTWARE];
  const size = `${width}x${height}`;
  if (!load.ok) {
    return { addon: load.reason, encoders: names.map((encoder) => ({ encoder, codec: codecOfEncoder(encoder), hardware: HARDWARE_H264.includes(encoder), present: false, available: false, status: 'failed', reason: load.reason, median_encode_ms: null, probe_size: size })) };
  }
  const present = new Set(load.native.encoders());
  const out: EncoderAvailability[] = [];
  for (const encoder of names) {
    const result = await probeEncoders({ native: load.native, width, height, fps, candidates: [encoder], maxEncodeMs: PROBE_BUDGET_MS, open: { colour: CAPTURE_COLOUR } });
    const c = result.candidates[0]!;
    const ms = c.medianEncodeMs === undefined ? null : Math.round(c.medianEncodeMs * 10) / 10;
    out.push({
      encoder,
      codec: codecOfEncoder(encoder),
      hardware: HARDWARE_H264.includes(encoder),
      present: present.has(encoder),
      available: c.status === 'chosen' || c.status === 'ok' || c.status === 'too-slow',
      status: c.status === 'chosen' ? (c.reason ? 'too-slow' : 'ok') : c.status,
      reason: c.reason ?? `${ms} ms/frame`,
      median_encode_ms: ms,
      probe_size: size,
    });
  }
  return { addon: load.path, encoders: out };
}
