/**
 * The wrtc pipeline: raw I420 frames into libwebrtc (@roamhq/wrtc) through
 * an RTCVideoSource, with simple-peer as the answerer; libwebrtc encodes
 * VP8/VP9/AV1 and paces by itself. Kept selectable (`--pipeline wrtc`)
 * until the encoded pipeline is at least as good on every bench row
 * (issue 12); it cannot send H.264, force a keyframe or send 4:4:4.
 */
import SimplePeer from 'simple-peer';
import type { Logger } from 'pino';
import type { Monitor } from '../../shared/control.js';
import type { SessionPolicy, VideoCodec } from '../../shared/policy.js';
import { SignalData, type IceServer } from '../../shared/protocol.js';
import type { CaptureSettings, CaptureSource } from '../capture/capture-source.js';
import { readEncoderStats, type EncoderCounters } from '../encoder-stats.js';
import { describeError, HostError } from '../errors.js';
import { allowedCodecs, chooseCodec } from '../quality.js';
import { keepOnlyVideoCodec, videoCodecsOf, withVideoBitrate } from '../sdp.js';
import type { DataChannel, DataChannelInit } from '../transport/channel.js';
import { createVideoSource, mediaStreamOf, peerConnectionOf, simplePeerWrtc, type VideoSource, type VideoTrack } from '../webrtc.js';
import type { MediaPipeline, NegotiatedVideo, PipelineEvents } from './pipeline.js';

export interface WrtcPipelineOptions extends PipelineEvents {
  capture: CaptureSource;
  policy: SessionPolicy;
  iceServers: readonly IceServer[];
  /** The bitrate ceiling written into the offer before it is applied, kbps. */
  maxKbps: number;
  logger: Logger;
}

export class WrtcPipeline implements MediaPipeline {
  readonly kind = 'wrtc' as const;
  readonly iceRestart = true;
  readonly keyframeOnDemand = false;
  readonly codecChangeInPlace = true;
  private peer: SimplePeer.Instance | undefined;
  private source: VideoSource | undefined;
  private track: VideoTrack | undefined;
  private codec: VideoCodec | undefined;
  private codecWish: VideoCodec | undefined;
  private maxKbps: number;
  private connected = false;
  private counters: EncoderCounters | undefined;
  private closed = false;

  constructor(private readonly options: WrtcPipelineOptions) {
    this.maxKbps = options.maxKbps;
  }

  async start(capture: CaptureSettings, _monitors: readonly Monitor[]): Promise<void> {
    const source = createVideoSource();
    this.source = source;
    // libwebrtc copies the pixels into its own buffer before onFrame returns.
    await this.options.capture.start({ ...capture, format: 'i420' }, (frame) => source.onFrame(frame), (err) => this.options.onMediaFailure(err));
    if (this.closed) return;
    this.track = source.createTrack();
    this.createPeer(this.track);
  }

  signal(data: SignalData): void {
    const peer = this.peer;
    if (!peer || this.closed) return;
    if (data.type === 'offer') data = { ...data, sdp: this.shapeOffer(data.sdp) };
    try {
      peer.signal(data as SimplePeer.SignalData);
    } catch (err) {
      // simple-peer throws on signals after destroy; it reports real failures through 'error'.
      this.options.logger.warn({ err: describeError(err) }, 'peer rejected a signal');
    }
  }

  createDataChannel(label: string, init: DataChannelInit): DataChannel {
    if (!this.peer) throw new Error('the peer is not built yet');
    return peerConnectionOf(this.peer).createDataChannel(label, init);
  }

  reconfigureCapture(settings: CaptureSettings): Promise<void> {
    return this.options.capture.reconfigure({ ...settings, format: 'i420' });
  }

  setMaxBitrate(kbps: number): void {
    if (kbps === this.maxKbps) return;
    this.maxKbps = kbps;
    this.renegotiate();
  }

  setCodecWish(codec: VideoCodec | undefined): boolean {
    this.codecWish = codec;
    if (codec !== undefined && codec !== this.codec) this.renegotiate();
    return true;
  }

  /** libwebrtc answers the receiver's PLI by itself; wrtc 0.10 has no way to force one from JavaScript. */
  requestKeyframe(): boolean {
    return false;
  }

  sendableCodecs(): VideoCodec[] {
    return allowedCodecs(this.options.policy);
  }

  chroma444Available(): boolean {
    return false;
  }

  negotiated(): NegotiatedVideo | undefined {
    return this.codec ? { codec: this.codec, chroma444: false, encoder: 'libwebrtc' } : undefined;
  }

  async stats(): Promise<Record<string, unknown>> {
    if (!this.peer || this.closed) return { pipeline: this.kind };
    try {
      const report = await peerConnectionOf(this.peer).getStats();
      const read = readEncoderStats(report, this.counters, performance.now());
      if (read) this.counters = read.counters;
      return { pipeline: this.kind, encoder: read?.stats };
    } catch (err) {
      this.options.logger.debug({ err: describeError(err) }, 'getStats failed');
      return { pipeline: this.kind };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.peer?.destroy();
    await this.options.capture.stop();
    this.track?.stop();
  }

  private createPeer(track: VideoTrack): void {
    const peer = new SimplePeer({
      initiator: false,
      trickle: true,
      wrtc: simplePeerWrtc,
      config: { iceServers: [...this.options.iceServers] },
      // The client offers a recvonly video transceiver; this track answers it.
      streams: [mediaStreamOf(track)],
      // Only the chosen codec stays in our answer, so it is the one libwebrtc sends.
      sdpTransform: (sdp: string) => this.transformSdp(sdp),
    });
    this.peer = peer;
    peer.on('signal', (data: unknown) => {
      const parsed = SignalData.safeParse(data);
      if (parsed.success) this.options.onSignal(parsed.data);
      else this.options.logger.warn({ type: (data as { type?: unknown } | null)?.type }, 'not relaying a signal the protocol does not allow');
    });
    peer.on('connect', () => {
      this.connected = true;
      this.options.onConnect();
    });
    // simple-peer's own channel is unused (input has its own channels); keep it flowing so nothing buffers.
    peer.on('data', () => {});
    peer.on('close', () => this.options.onClose());
    peer.on('error', (err: Error & { code?: string }) => this.options.onError(new HostError('ERR_PEER_FAILED', `${err.code ?? 'peer error'}: ${err.message}`)));
  }

  /** Codec and bitrate live in the negotiated descriptions: ask the client to offer again. */
  private renegotiate(): void {
    // negotiate() exists in simple-peer 9 but is missing from @types/simple-peer.
    if (this.peer && this.connected) (this.peer as unknown as { negotiate(): void }).negotiate();
  }

  /**
   * Our view of the client's offer, before it is applied: only the chosen
   * codec, and the bitrate ceiling. libwebrtc's answerer sends with the
   * first codec of the *remote* offer and caps its send rate by the remote
   * description's bandwidth (both measured: trimming only our answer still
   * sent VP8), so that is where both are decided.
   */
  private shapeOffer(sdp: string): string {
    const offered = videoCodecsOf(sdp);
    this.codec = chooseCodec(this.options.policy, offered, this.codecWish);
    if (!this.codec) this.options.logger.warn({ offered, allowed: this.options.policy.codecs }, 'no video codec both allowed and offered; libwebrtc picks');
    const trimmed = this.codec ? keepOnlyVideoCodec(sdp, this.codec) : sdp;
    return withVideoBitrate(trimmed, this.maxKbps);
  }

  /** Our answer carries only the chosen codec; logged because it decides what the client decodes. */
  private transformSdp(sdp: string): string {
    const out = this.codec ? keepOnlyVideoCodec(sdp, this.codec) : sdp;
    this.options.logger.debug({ codec: this.codec, before: videoCodecsOf(sdp), after: videoCodecsOf(out) }, 'answer codecs');
    return out;
  }
}
