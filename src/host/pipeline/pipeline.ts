/**
 * The media half of a session: capture, encode and the peer connection
 * that carries video and the data channels. The session (session.ts) owns
 * input, control, clipboard and cursor, and talks to the pipeline through
 * this interface. One implementation, `encoded` (encoded-pipeline.ts): our
 * own encoder (libavcodec) and libdatachannel; H.264 (4:4:4 where allowed),
 * keyframes on demand, bitrate from the receiver's reports. (libwebrtc's
 * own VP8 pipeline, through @roamhq/wrtc, was removed in issue 12 once this
 * one won every bench row; BENCHMARKS.md.)
 */
import type { Monitor } from '../../shared/control.js';
import type { SignalData } from '../../shared/protocol.js';
import type { VideoCodec } from '../../shared/policy.js';
import type { CaptureSettings } from '../capture/capture-source.js';
import type { HostError } from '../errors.js';
import type { KeyframeReason } from '../encoder/keyframes.js';
import type { DataChannel, DataChannelInit } from '../transport/channel.js';

export const PIPELINE_KINDS = ['encoded'] as const;
export type PipelineKind = (typeof PIPELINE_KINDS)[number];

export interface PipelineEvents {
  /** A signal for the client, through the broker. */
  onSignal: (data: SignalData) => void;
  onConnect: () => void;
  onClose: () => void;
  onError: (err: HostError) => void;
  /** Capture or encoder died after starting. */
  onMediaFailure: (err: HostError) => void;
}

/** What the stream is being sent as, once negotiated. */
export interface NegotiatedVideo {
  codec: VideoCodec | 'H265';
  /** 4:4:4 chroma (full colour). */
  chroma444: boolean;
  /** The encoder that runs (libx264, h264_nvenc…). */
  encoder: string;
}

export interface MediaPipeline {
  readonly kind: PipelineKind;
  /** Whether the client may recover a dropped path with an ICE restart on this connection. */
  readonly iceRestart: boolean;
  /** Whether `requestKeyframe` does anything. */
  readonly keyframeOnDemand: boolean;
  /** Starts capture (resolves on the first frame, so a broken capture fails here) and builds the peer. */
  start(capture: CaptureSettings, monitors: readonly Monitor[]): Promise<void>;
  signal(data: SignalData): void;
  createDataChannel(label: string, init: DataChannelInit): DataChannel;
  /** New capture region, size or rate, without renegotiating. */
  reconfigureCapture(settings: CaptureSettings): Promise<void>;
  /** The client's (or the default's) bitrate ceiling, kbps. */
  setMaxBitrate(kbps: number): void;
  /** The codec the client asked for; applied now or at the next negotiation. Returns false if it cannot be applied on this connection. */
  setCodecWish(codec: VideoCodec | undefined): boolean;
  requestKeyframe(reason: KeyframeReason): boolean;
  negotiated(): NegotiatedVideo | undefined;
  /** Codecs this pipeline can send under the session's policy, in the policy's order. */
  sendableCodecs(): VideoCodec[];
  /** Whether 4:4:4 could be sent in this session, should the client ask. */
  chroma444Available(): boolean;
  /** Whether a codec change is applied by renegotiating the same connection. */
  readonly codecChangeInPlace: boolean;
  /** Counters for the session's stats log, since start. */
  stats(): Promise<Record<string, unknown>>;
  /** Stops capture and closes the peer. Idempotent. */
  close(): Promise<void>;
}
