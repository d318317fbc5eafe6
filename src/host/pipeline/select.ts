/**
 * Which encoder the agent runs, decided once at start by the probe
 * (hardware first), with the reason logged. `--encoder` overrides the
 * choice. A host where the av-encoder addon does not load, or no encoder
 * opens, cannot stream: that is an error at start, with the reason, not a
 * session that fails later.
 */
import type { Logger } from 'pino';
import type { SessionPolicy } from '../../shared/policy.js';
import type { IceServer } from '../../shared/protocol.js';
import type { CaptureSource } from '../capture/capture-source.js';
import { HostError } from '../errors.js';
import { avEncoderFactory } from '../encoder/av-encoder.js';
import { AV_ENCODER_NAMES, CAPTURE_COLOUR, loadAvNative, type AvEncoderName, type AvNative } from '../encoder/av-native.js';
import { H264_CANDIDATES, probeEncoders, type ProbeResult } from '../encoder/probe.js';
import type { StreamQuality } from '../quality.js';
import { EncodedPipeline } from './encoded-pipeline.js';
import type { MediaPipeline, PipelineEvents, PipelineKind } from './pipeline.js';

/** A candidate slower than this per frame (median, at the probe size) is passed over for the next. */
export const PROBE_BUDGET_MS = 25;
/** Probe size when the display's monitors cannot be listed. */
const DEFAULT_PROBE_SIZE = { width: 1920, height: 1080 };

export interface SelectedPipeline {
  kind: PipelineKind;
  /** Encoders that may be opened, best first. */
  encoders: AvEncoderName[];
  /** One line for the log and the client: why this pipeline and encoder. */
  why: string;
  probe: ProbeResult;
  native: AvNative;
}

export interface SelectOptions {
  /** 'auto' or one of AV_ENCODER_NAMES. */
  encoder: string;
  width?: number;
  height?: number;
  fps: number;
  logger: Logger;
  /** The addon; default the built one. */
  loadNative?: typeof loadAvNative;
}

/**
 * Probes the encoders once; throws ERR_BAD_OPTIONS for an unknown encoder
 * name and ERR_CODEC_UNAVAILABLE, with the reason, when nothing can encode.
 */
export async function selectPipeline(options: SelectOptions): Promise<SelectedPipeline> {
  if (options.encoder !== 'auto' && !(AV_ENCODER_NAMES as readonly string[]).includes(options.encoder)) {
    throw new HostError('ERR_BAD_OPTIONS', `unknown encoder ${JSON.stringify(options.encoder)}; one of auto, ${AV_ENCODER_NAMES.join(', ')}`);
  }
  const load = (options.loadNative ?? loadAvNative)();
  const fallback = (why: string): never => {
    throw new HostError('ERR_CODEC_UNAVAILABLE', `this host cannot encode video: ${why}`);
  };
  if (!load.ok) return fallback(load.reason);
  const native = load.native;
  const present = new Set(native.encoders());
  const candidates = options.encoder === 'auto' ? H264_CANDIDATES.filter((c) => present.has(c)) : [options.encoder as AvEncoderName];
  if (candidates.length === 0) return fallback(`this libavcodec has none of ${H264_CANDIDATES.join(', ')}`);
  const size = { width: options.width ?? DEFAULT_PROBE_SIZE.width, height: options.height ?? DEFAULT_PROBE_SIZE.height };
  const probe = await probeEncoders({ native, ...size, fps: options.fps, candidates, maxEncodeMs: PROBE_BUDGET_MS, open: { colour: CAPTURE_COLOUR } });
  options.logger.info({ candidates: probe.candidates.map(({ name, status, reason, medianEncodeMs }) => ({ name, status, reason, medianEncodeMs })), size }, `encoder probe: ${probe.why}`);
  if (!probe.chosen) return fallback(`no encoder opened (${probe.why})`);
  // The chosen one first, then whatever else opened (a GPU encoder may refuse a size or 4:4:4 the software one takes).
  const opened = probe.candidates.filter((c) => c.name !== probe.chosen && (c.status === 'ok' || c.status === 'too-slow')).map((c) => c.name);
  const encoders = [probe.chosen, ...opened];
  if (options.encoder === 'auto' && !encoders.includes('libx264') && present.has('libx264')) encoders.push('libx264');
  return { kind: 'encoded', encoders, why: `encoded pipeline, ${probe.why}`, probe, native };
}

export interface PipelineInputs {
  capture: CaptureSource;
  policy: SessionPolicy;
  iceServers: readonly IceServer[];
  quality: StreamQuality;
  playoutDelayMaxMs: number | null;
  bindAddress?: string;
  logger: Logger;
}

/** Software encoders: what a session may use when its policy keeps the GPU for the artist. */
const SOFTWARE_ENCODERS: readonly AvEncoderName[] = ['libx264', 'libsvtav1'];

/** The encoders a session may open: the agent's choice, narrowed by the session policy's `videoEncoder`. */
export function sessionEncoders(selected: SelectedPipeline, policy: SessionPolicy): AvEncoderName[] {
  if (policy.videoEncoder === 'auto') return selected.encoders;
  const software = selected.encoders.filter((e) => SOFTWARE_ENCODERS.includes(e));
  // The studio's rule wins over the agent's --encoder: libx264 even when the probe did not keep it.
  if (software.length === 0 && selected.native?.encoders().includes('libx264')) return ['libx264'];
  return software;
}

/** Builds the selected pipeline for one session. */
export function openPipeline(selected: SelectedPipeline, inputs: PipelineInputs, events: PipelineEvents): MediaPipeline {
  const { capture, policy, iceServers, quality, logger } = inputs;
  const encoders = sessionEncoders(selected, policy);
  if (encoders.length === 0) throw new HostError('ERR_CODEC_UNAVAILABLE', `the session policy allows only software encoders, and this host has none (${selected.encoders.join(', ')})`);
  if (encoders[0] !== selected.encoders[0]) logger.info({ encoders, probed: selected.encoders }, 'session policy: software encoding only');
  return new EncodedPipeline({
    ...events,
    capture,
    policy,
    iceServers,
    encoders,
    openEncoder: avEncoderFactory(selected.native, encoders),
    colour: CAPTURE_COLOUR,
    startKbps: quality.maxBitrateKbps,
    maxKbps: quality.maxBitrateKbps,
    fps: quality.fps,
    playoutDelayMaxMs: inputs.playoutDelayMaxMs,
    ...(inputs.bindAddress ? { bindAddress: inputs.bindAddress } : {}),
    logger,
  });
}
