/**
 * The encoded pipeline: in-process capture → our own encoder (libavcodec,
 * chosen by the probe) → libdatachannel, with the receiver's RTCP driving
 * keyframes and bitrate (encoded-stream.ts). The video format is decided
 * when the client's offer arrives: the first codec in the studio's order
 * that both an encoder here and the client's decoder handle, in 4:4:4 when
 * the policy allows it, the encoder can write it and the client put
 * 4:4:4 first in its offer.
 */
import type { Logger } from 'pino';
import type { Monitor } from '../../shared/control.js';
import { VIDEO_CODECS, type SessionPolicy, type VideoCodec } from '../../shared/policy.js';
import type { IceServer, SignalData } from '../../shared/protocol.js';
import type { CaptureSettings, CaptureSource, FrameSink, RawFrame } from '../capture/capture-source.js';
import { HostError } from '../errors.js';
import { codecOfEncoder, encodes444 } from '../encoder/av-encoder.js';
import type { AvEncoderName } from '../encoder/av-native.js';
import { EncodedStream } from '../encoder/encoded-stream.js';
import type { ColourDescription, EncoderFactory } from '../encoder/encoder.js';
import type { KeyframeReason } from '../encoder/keyframes.js';
import { BitrateController } from '../transport/bitrate.js';
import type { DataChannel, DataChannelInit } from '../transport/channel.js';
import { DatachannelPeer } from '../transport/datachannel-peer.js';
import { chooseFormat, prefersChroma444, type ChosenFormat, type OfferedVideo } from '../transport/offer.js';
import type { MediaPipeline, NegotiatedVideo, PipelineEvents } from './pipeline.js';

export interface EncodedPipelineOptions extends PipelineEvents {
  capture: CaptureSource;
  policy: SessionPolicy;
  iceServers: readonly IceServer[];
  /** Encoders that passed the probe, best first. */
  encoders: readonly AvEncoderName[];
  openEncoder: EncoderFactory;
  /** How the capture's frames were converted from RGB: written into the bitstream. */
  colour: ColourDescription;
  /** Bitrate before the first receiver report, and the ceiling, kbps. */
  startKbps: number;
  maxKbps: number;
  fps: number;
  playoutDelayMaxMs: number | null;
  bindAddress?: string;
  logger: Logger;
}

export class EncodedPipeline implements MediaPipeline {
  readonly kind = 'encoded' as const;
  readonly iceRestart = false;
  readonly keyframeOnDemand = true;
  readonly codecChangeInPlace = false;
  private readonly peer: DatachannelPeer;
  private readonly stream: EncodedStream;
  private captureSettings: CaptureSettings | undefined;
  private video: NegotiatedVideo | undefined;
  private codecWish: VideoCodec | undefined;
  private closed = false;

  constructor(private readonly options: EncodedPipelineOptions) {
    this.stream = new EncodedStream({
      openEncoder: options.openEncoder,
      settings: { fps: options.fps, pixelFormat: 'yuv420p', colour: options.colour },
      sender: { canSend: () => this.peer.canSend(), sendFrame: (au, at) => this.peer.sendFrame(au, at) },
      bitrate: new BitrateController(options.startKbps, options.maxKbps),
      logger: options.logger,
      onFailure: (err) => options.onMediaFailure(err instanceof HostError ? err : new HostError('ERR_ENCODER_FAILED', err.message)),
    });
    this.peer = new DatachannelPeer({
      iceServers: options.iceServers,
      ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
      playoutDelayMaxMs: options.playoutDelayMaxMs,
      logger: options.logger,
      chooseVideo: (video) => this.chooseVideo(video),
      onSignal: options.onSignal,
      onConnect: options.onConnect,
      onClose: options.onClose,
      onError: options.onError,
      onFeedback: (feedback) => this.stream.onFeedback(feedback),
      onVideoOpen: () => this.stream.requestKeyframe('start'),
    });
  }

  async start(capture: CaptureSettings, _monitors: readonly Monitor[]): Promise<void> {
    this.captureSettings = { ...capture, format: 'i420' };
    // readyIn lets the capture time its grabs to the encoder, which runs beside it.
    const sink: FrameSink = Object.assign((frame: RawFrame) => this.stream.frame(frame), { readyIn: () => this.stream.readyIn() });
    await this.options.capture.start(this.captureSettings, sink, (err) => this.options.onMediaFailure(err));
  }

  signal(data: SignalData): void {
    this.peer.signal(data);
  }

  createDataChannel(label: string, init: DataChannelInit): DataChannel {
    return this.peer.createDataChannel(label, init);
  }

  async reconfigureCapture(settings: CaptureSettings): Promise<void> {
    this.captureSettings = { ...settings, format: this.captureSettings?.format ?? 'i420' };
    this.stream.setFps(settings.fps);
    await this.options.capture.reconfigure(this.captureSettings);
    // The encoder reopens at the new size by itself; a new rate alone needs a keyframe to resync.
    this.stream.requestKeyframe('quality');
  }

  setMaxBitrate(kbps: number): void {
    this.stream.setCeiling(kbps, kbps);
  }

  setCodecWish(codec: VideoCodec | undefined): boolean {
    this.codecWish = codec;
    // The format is fixed for the connection's life (datachannel-peer.ts): a change waits for the next connection.
    return codec === undefined || codec === this.video?.codec;
  }

  requestKeyframe(reason: KeyframeReason): boolean {
    this.stream.requestKeyframe(reason);
    return true;
  }

  sendableCodecs(): VideoCodec[] {
    const encodable = new Set(this.options.encoders.map(codecOfEncoder));
    return this.options.policy.codecs.filter((c) => encodable.has(c));
  }

  chroma444Available(): boolean {
    return this.options.policy.chroma444 && this.options.encoders.some((e) => codecOfEncoder(e) === 'H264' && encodes444(e));
  }

  negotiated(): NegotiatedVideo | undefined {
    return this.video;
  }

  stats(): Promise<Record<string, unknown>> {
    return Promise.resolve({ pipeline: this.kind, video: this.video, encoder: this.stream.stats(), transport: this.peer.stats() });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.peer.destroy();
    // Both at once: the stream drops its waiting frame instead of encoding it for a capture that is stopping.
    await Promise.all([this.options.capture.stop(), this.stream.close()]);
  }

  /** The offer's format: called by the peer with the client's video section. */
  private chooseVideo(video: OfferedVideo): ChosenFormat | undefined {
    if (this.video) {
      // A renegotiation keeps the format the connection runs with.
      const same = chooseFormat(video, { codec: this.video.codec, chroma444: this.video.chroma444 });
      if (same) return same;
    }
    const encodable = new Set(this.options.encoders.map(codecOfEncoder));
    // The client orders its offer by the artist's choice, then the studio's: that order is its wish on a new connection.
    const offered = [...new Set(video.formats.map((f) => f.codec))].filter((c): c is VideoCodec => (VIDEO_CODECS as readonly string[]).includes(c) && this.options.policy.codecs.includes(c as VideoCodec));
    const order = [...(this.codecWish ? [this.codecWish] : []), ...offered, ...this.options.policy.codecs];
    for (const codec of order) {
      if (!encodable.has(codec)) continue;
      const can444 = this.options.policy.chroma444 && this.options.encoders.some((e) => codecOfEncoder(e) === codec && encodes444(e));
      const full = can444 && prefersChroma444(video, codec);
      const format = chooseFormat(video, { codec, chroma444: full }) ?? (full ? chooseFormat(video, { codec, chroma444: false }) : undefined);
      if (!format) continue;
      const chroma444 = full && format.profileLevelId?.startsWith('f4') === true;
      this.video = { codec, chroma444, encoder: this.options.encoders.find((e) => codecOfEncoder(e) === codec)! };
      if (chroma444) void this.useChroma444();
      this.options.logger.info({ ...this.video, payloadType: format.payloadType, profile: format.profileLevelId }, 'video format chosen');
      return format;
    }
    this.options.logger.warn({ policy: this.options.policy.codecs, encoders: this.options.encoders, offered: [...new Set(video.formats.map((f) => f.codec))] }, 'no video format both allowed, encodable here and offered');
    return undefined;
  }

  /** Capture switches to I444; the encoder reopens as 4:4:4 on the first such frame. */
  private async useChroma444(): Promise<void> {
    if (!this.captureSettings) return;
    this.captureSettings = { ...this.captureSettings, format: 'i444' };
    try {
      await this.options.capture.reconfigure(this.captureSettings);
    } catch (err) {
      this.options.onMediaFailure(err instanceof HostError ? err : new HostError('ERR_CAPTURE_FAILED', (err as Error).message));
    }
  }
}
