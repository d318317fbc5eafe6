/**
 * The host's side of a session on libdatachannel (node-datachannel): it
 * answers the client's simple-peer offer, sends encoded video frames on one
 * track (H.264/HEVC/AV1 packetized by rtp-packetizer.ts, with
 * libdatachannel's RTCP sender reports and NACK responder), carries the negotiated input and control
 * data channels on the same connection, and reports the receiver's RTCP
 * (PLI, FIR, REMB, loss) to whoever drives the encoder.
 *
 * Measured before choosing it (README, "Dependencies worth a word"):
 * Chromium 156 decodes what it sends, 4:4:4 included; the negotiated
 * channels open next to simple-peer's own in-band channel; a renegotiation
 * with the same ICE credentials is answered in ~90 ms; an ICE restart is
 * refused by libdatachannel ("Invalid ICE settings from remote SDP"), so
 * this peer says it cannot restart and the client goes to a fresh grant.
 */
import nodeDatachannel, { type DataChannel as NdcDataChannel, type PeerConnection, type RtpPacketizationConfig, type Track } from 'node-datachannel';
import type { Logger } from 'pino';
import { randomInt } from 'node:crypto';
import type { IceServer, SignalData } from '../../shared/protocol.js';
import { HostError } from '../errors.js';
import { datachannelIceServers } from './ice-servers.js';
import { NdcChannel } from './ndc-channel.js';
import type { DataChannel, DataChannelInit } from './channel.js';
import { summariseOffer, type ChosenFormat, type OfferedVideo } from './offer.js';
import { parseRtcp, type RtcpFeedback } from './rtcp.js';
import { ABS_SEND_TIME_URI, PLAYOUT_DELAY_URI, RtpPacketizer } from './rtp-packetizer.js';

/** RTP clock of every video codec we send. */
const VIDEO_CLOCK_HZ = 90_000;
/** Packets kept for NACK retransmission: ~1 s of 1080p60 at 8 Mbit/s. */
const NACK_HISTORY_PACKETS = 1024;
/** RTP payload per packet; leaves room for SRTP, extensions and TURN framing under a 1280-byte path MTU. */
const MAX_FRAGMENT_BYTES = 1_100;
/** Malformed RTCP packets logged per session; the rest only count. */
const MAX_LOGGED_RTCP_ERRORS = 5;

export interface DatachannelPeerOptions {
  iceServers: readonly IceServer[];
  /** Local address to gather on (tests use 127.0.0.1); all interfaces otherwise. */
  bindAddress?: string;
  /** Upper bound of the playout delay sent to the receiver, ms (0: render on arrival); null sends none (the receiver's adaptive jitter buffer). */
  playoutDelayMaxMs: number | null;
  logger: Logger;
  /** Picks the format to send from the offer's video section; undefined refuses the offer. */
  chooseVideo: (video: OfferedVideo) => ChosenFormat | undefined;
  onSignal: (data: SignalData) => void;
  onConnect: () => void;
  onClose: () => void;
  onError: (err: HostError) => void;
  onFeedback: (feedback: RtcpFeedback) => void;
  /** The video track opened (DTLS done): frames may be sent. */
  onVideoOpen?: () => void;
}

export interface TransportStats {
  /**
   * libdatachannel's PeerConnection.bytesSent(): the SCTP (data channel)
   * bytes only, not media (measured: 4.9 KB while the encoder had sent
   * 1.9 MB); the video's bytes are the encoder stage's `bytesSent`.
   */
  bytesSent: number;
  framesSent: number;
  /**
   * libdatachannel's PeerConnection.rtt(): SCTP's smoothed RTT, which read
   * ~200 ms on loopback in the bench (its initial value, with little data
   * channel traffic to refine it): not a media round trip.
   */
  rttMs: number | undefined;
  /** Local and remote candidate types of the selected pair (host, srflx, relay). */
  path: string | undefined;
  rtcpPackets: number;
  rtcpErrors: number;
}

export class DatachannelPeer {
  /** The client's recovery must not try an ICE restart with this peer. */
  readonly supportsIceRestart = false;
  private readonly pc: PeerConnection;
  private readonly pendingChannels: { channel: NdcChannel; label: string; init: DataChannelInit }[] = [];
  private readonly inBand: NdcDataChannel[] = [];
  private track: Track | undefined;
  private rtpConfig: RtpPacketizationConfig | undefined;
  private packetizer: RtpPacketizer | undefined;
  private format: ChosenFormat | undefined;
  private videoMid: string | undefined;
  private iceUfrag: string | undefined;
  private readonly ssrc = randomInt(1, 2 ** 31);
  private readonly timestampBase = randomInt(0, 2 ** 31);
  private timeZero: number | undefined;
  private connected = false;
  private destroyed = false;
  private framesSent = 0;
  private rtcpPackets = 0;
  private rtcpErrors = 0;
  private readonly log: Logger;

  constructor(private readonly options: DatachannelPeerOptions) {
    this.log = options.logger.child({ transport: 'datachannel' });
    const ice = datachannelIceServers(options.iceServers);
    for (const reason of ice.skipped) this.log.warn({ reason }, 'ICE server not used');
    this.pc = new nodeDatachannel.PeerConnection('backlot-host', {
      iceServers: ice.servers,
      // We answer; an offer of our own would collide with the client's.
      disableAutoNegotiation: true,
      ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
    });
    this.pc.onLocalDescription((sdp, type) => {
      if (type === 'answer') this.emitSignal({ type: 'answer', sdp });
    });
    this.pc.onLocalCandidate((candidate, mid) => {
      // libdatachannel writes the SDP attribute form; the browser wants the bare candidate.
      this.emitSignal({ type: 'candidate', candidate: { candidate: candidate.replace(/^a=/, ''), sdpMid: mid } });
    });
    this.pc.onStateChange((state) => this.onState(state));
    // simple-peer's own channel (in-band, DCEP): kept open so its 'connect' fires, otherwise unused.
    this.pc.onDataChannel((dc) => {
      this.inBand.push(dc);
      dc.onMessage(() => {});
    });
  }

  /** The connection's channel for `label`; it opens once the offer has been answered. */
  createDataChannel(label: string, init: DataChannelInit): DataChannel {
    const channel = new NdcChannel(label);
    this.pendingChannels.push({ channel, label, init });
    return channel;
  }

  /** A signal from the client (through the broker). Refuses what an answerer cannot take. */
  signal(data: SignalData): void {
    if (this.destroyed) return;
    try {
      switch (data.type) {
        case 'offer':
          this.acceptOffer(data.sdp);
          return;
        case 'candidate': {
          const { candidate, sdpMid } = data.candidate;
          // An empty candidate is the end-of-candidates marker.
          if (!candidate) return;
          const mid = sdpMid ?? this.videoMid;
          if (mid === undefined) throw new HostError('ERR_PEER_FAILED', 'a candidate arrived before the offer');
          this.pc.addRemoteCandidate(candidate, mid);
          return;
        }
        case 'answer':
        case 'pranswer':
        case 'rollback':
        case 'renegotiate':
        case 'transceiverRequest':
          this.log.warn({ type: data.type }, 'signal refused: the host only answers offers');
          return;
      }
    } catch (err) {
      this.fail(err instanceof HostError ? err : new HostError('ERR_PEER_FAILED', `signal ${data.type}: ${(err as Error).message}`));
    }
  }

  /** Whether the video track is open (DTLS done): frames sent now reach the client. */
  canSend(): boolean {
    return !this.destroyed && !!this.track?.isOpen();
  }

  /**
   * Sends one encoded access unit (Annex-B) captured at `capturedAtMs`
   * (performance.now() clock). Returns false when the track is not open.
   */
  sendFrame(accessUnit: Uint8Array, capturedAtMs: number): boolean {
    const track = this.track;
    if (!track || !this.rtpConfig || !this.packetizer || !track.isOpen()) return false;
    this.timeZero ??= capturedAtMs;
    // One clock for every frame: the RTP timestamp is the capture time, so the receiver sees real frame spacing.
    const timestamp = (this.timestampBase + Math.round(((capturedAtMs - this.timeZero) * VIDEO_CLOCK_HZ) / 1000)) >>> 0;
    this.rtpConfig.timestamp = timestamp;
    let sent = true;
    for (const packet of this.packetizer.packetize(accessUnit, timestamp, performance.now())) sent = track.sendMessageBinary(packet) && sent;
    if (sent) this.framesSent++;
    return sent;
  }

  /** Asks the client to offer again (simple-peer's non-initiator renegotiation). */
  renegotiate(): void {
    this.emitSignal({ type: 'renegotiate', renegotiate: true });
  }

  /** The format being sent, once the offer has been answered. */
  videoFormat(): ChosenFormat | undefined {
    return this.format;
  }

  stats(): TransportStats {
    let path: string | undefined;
    let rttMs: number | undefined;
    if (!this.destroyed) {
      try {
        const pair = this.pc.getSelectedCandidatePair();
        if (pair) path = `${pair.local.type}/${pair.remote.type}`;
        const rtt = this.pc.rtt();
        if (rtt >= 0) rttMs = rtt;
      } catch {
        // Not connected yet.
      }
    }
    return { bytesSent: this.destroyed ? 0 : this.pc.bytesSent(), framesSent: this.framesSent, rttMs, path, rtcpPackets: this.rtcpPackets, rtcpErrors: this.rtcpErrors };
  }

  /** Closes everything. Idempotent; no callback fires afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const { channel } of this.pendingChannels) channel.detach();
    for (const dc of this.inBand) dc.close();
    this.track?.close();
    this.pc.close();
  }

  private acceptOffer(sdp: string): void {
    const offer = summariseOffer(sdp);
    if (this.iceUfrag !== undefined && offer.iceUfrag !== this.iceUfrag) {
      throw new HostError('ERR_PEER_FAILED', 'the client restarted ICE, which this host transport cannot do; reconnect with a fresh grant');
    }
    const first = this.iceUfrag === undefined;
    this.iceUfrag = offer.iceUfrag;
    if (!offer.video) throw new HostError('ERR_PEER_FAILED', 'the offer has no video section');
    if (!offer.hasDataChannel) throw new HostError('ERR_PEER_FAILED', 'the offer has no data channel section');
    const format = this.options.chooseVideo(offer.video);
    if (!format) throw new HostError('ERR_CODEC_UNAVAILABLE', 'the client offered no video format this host can send under the session policy');
    if (first) this.addVideoTrack(offer.video, format);
    else if (format.payloadType !== this.format?.payloadType) {
      // libdatachannel keeps a track's description for its lifetime: a new format is a new session.
      throw new HostError('ERR_PEER_FAILED', `the renegotiated offer needs format ${format.codec}/${format.payloadType}; reconnect to change it`);
    }
    this.pc.setRemoteDescription(sdp, 'offer');
    if (first) {
      for (const pending of this.pendingChannels) {
        const dc = this.pc.createDataChannel(pending.label, {
          negotiated: true,
          id: pending.init.id,
          ...(pending.init.ordered === false ? { unordered: true } : {}),
          ...(pending.init.maxRetransmits !== undefined ? { maxRetransmits: pending.init.maxRetransmits } : {}),
        });
        pending.channel.attach(dc);
      }
    }
    this.pc.setLocalDescription('answer');
  }

  private addVideoTrack(video: OfferedVideo, format: ChosenFormat): void {
    const media = new nodeDatachannel.Video(video.mid, 'SendOnly');
    switch (format.codec) {
      case 'H264':
        media.addH264Codec(format.payloadType, format.fmtp);
        break;
      case 'H265':
        media.addH265Codec(format.payloadType);
        break;
      case 'AV1':
        media.addAV1Codec(format.payloadType);
        break;
      case 'VP8':
      case 'VP9':
        throw new HostError('ERR_CODEC_UNAVAILABLE', `${format.codec} is not sent by the encoded-frame transport`);
    }
    const cname = `backlot-${this.ssrc.toString(16)}`;
    media.addSSRC(this.ssrc, cname, 'backlot', 'video');
    // No upper bound (null): the extension is not answered, and the receiver keeps its adaptive jitter buffer.
    const delayExt = this.options.playoutDelayMaxMs === null ? undefined : video.extensions.find((e) => e.uri === PLAYOUT_DELAY_URI);
    if (delayExt) media.parseSdpLine(`a=extmap:${delayExt.id} ${PLAYOUT_DELAY_URI}`);
    const sendTimeExt = video.extensions.find((e) => e.uri === ABS_SEND_TIME_URI);
    if (sendTimeExt) media.parseSdpLine(`a=extmap:${sendTimeExt.id} ${ABS_SEND_TIME_URI}`);

    const track = this.pc.addTrack(media);
    // The config is the sender reporter's: it pairs the latest RTP timestamp with the wall clock in each SR.
    const config = new nodeDatachannel.RtpPacketizationConfig(this.ssrc, cname, format.payloadType, VIDEO_CLOCK_HZ);
    this.packetizer = new RtpPacketizer({
      ssrc: this.ssrc,
      payloadType: format.payloadType,
      codec: format.codec,
      maxPayloadBytes: MAX_FRAGMENT_BYTES,
      firstSequence: randomInt(0, 1 << 16),
      ...(sendTimeExt ? { absSendTimeId: sendTimeExt.id } : {}),
      ...(delayExt ? { playoutDelay: { id: delayExt.id, minMs: 0, maxMs: this.options.playoutDelayMaxMs ?? 0 } } : {}),
    });
    // Our packets pass through libdatachannel unchanged: it reports on them (SR) and keeps them for NACKs.
    const reporter = new nodeDatachannel.RtcpSrReporter(config);
    reporter.addToChain(new nodeDatachannel.RtcpNackResponder(NACK_HISTORY_PACKETS));
    track.setMediaHandler(reporter);
    track.onOpen(() => {
      this.log.info({ codec: format.codec, payloadType: format.payloadType, profile: format.profileLevelId, playoutDelay: !!delayExt, absSendTime: !!sendTimeExt }, 'video track open');
      this.options.onVideoOpen?.();
    });
    track.onMessage((msg) => this.onRtcp(msg));
    track.onError((err) => this.log.warn({ err }, 'video track error'));
    this.track = track;
    this.rtpConfig = config;
    this.format = format;
    this.videoMid = video.mid;
  }

  private onRtcp(packet: Buffer): void {
    if (this.destroyed) return;
    this.rtcpPackets++;
    const parsed = parseRtcp(packet);
    if (parsed.error && this.rtcpErrors++ < MAX_LOGGED_RTCP_ERRORS) this.log.warn({ reason: parsed.error }, 'malformed RTCP from the client');
    for (const feedback of parsed.feedback) this.options.onFeedback(feedback);
  }

  private onState(state: string): void {
    if (this.destroyed) return;
    this.log.debug({ state }, 'peer connection state');
    if (state === 'connected' && !this.connected) {
      this.connected = true;
      this.options.onConnect();
    } else if (state === 'failed') {
      this.fail(new HostError('ERR_PEER_FAILED', 'the connection to the client failed'));
    } else if (state === 'closed') {
      this.options.onClose();
    }
  }

  private emitSignal(data: SignalData): void {
    if (!this.destroyed) this.options.onSignal(data);
  }

  private fail(err: HostError): void {
    if (this.destroyed) return;
    this.log.warn({ code: err.code, err: err.message }, 'peer failed');
    this.options.onError(err);
  }
}
