/**
 * One WebRTC session with one client: the peer (simple-peer, non-initiator,
 * on libwebrtc), the video track from the capture source, the two
 * negotiated input channels routed to the injector, and the control channel
 * (quality, clipboard, keyframe, ping; hello, cursor). A session is used
 * once: `start()`, any number of `signal()`s, then `end()`.
 */
import SimplePeer from 'simple-peer';
import type { Logger } from 'pino';
import { DATA_CHANNELS, MAX_PENDING_SIGNALS } from '../shared/constants.js';
import { ClientControl, MAX_CONTROL_MESSAGE_CHARS, type HostControl, type Monitor, type QualityRequest } from '../shared/control.js';
import type { SessionPolicy } from '../shared/policy.js';
import { parseJson, SignalData, type IceServer } from '../shared/protocol.js';
import type { CaptureSource, CaptureStats } from './capture/capture-source.js';
import { clipboardRefusal, type Clipboard } from './clipboard/clipboard.js';
import type { CursorSource, CursorUpdate } from './cursor/cursor-source.js';
import { describeError, HostError } from './errors.js';
import type { Injector } from './input/injector.js';
import { InputRouter, type InputChannel, type InputStats } from './input/input-router.js';
import { RegionInjector } from './input/region-injector.js';
import {
  appliedOf,
  applyQualityRequest,
  captureSettingsFor,
  chooseCodec,
  initialQuality,
  regionOf,
  type StreamQuality,
} from './quality.js';
import { readEncoderStats, type EncoderCounters, type EncoderStats } from './encoder-stats.js';
import { keepOnlyVideoCodec, videoCodecsOf, withVideoBitrate } from './sdp.js';
import { mediaStreamOf, peerConnectionOf, simplePeerWrtc, type DataChannel } from './webrtc.js';
import { ALL_MONITORS } from './x11/monitors.js';

/** A session whose input channel has not opened by then is given up. */
export const CONNECT_TIMEOUT_MS = 30_000;
/** While a session runs its counters are logged this often, unless the options say otherwise. */
export const STATS_LOG_INTERVAL_MS = 30_000;
/** Dropped input messages logged individually per session; the rest only count. */
const MAX_LOGGED_DROPS = 20;

/** Why a session ended; sent to the broker as the `session.end` reason. */
export type SessionEndReason =
  | 'broker-ended'
  | 'replaced'
  | 'peer-closed'
  | 'peer-error'
  | 'connect-timeout'
  | 'capture-failed'
  | 'start-failed'
  | 'agent-stopping';

export interface SessionOptions {
  sessionId: string;
  user: string;
  iceServers: IceServer[];
  /** The broker's policy for this session; every client request is clamped to it. */
  policy: SessionPolicy;
  /** Frame rate to start at (the agent's configured default), before the client asks. */
  fps: number;
  capture: CaptureSource;
  /** Opens the injector for this session; the session closes it when it ends. */
  openInjector: () => Promise<Injector>;
  /** Opens the host clipboard; absent where the platform has none (clipboard requests are then refused). */
  openClipboard?: () => Promise<Clipboard>;
  /** Opens the cursor tracker; absent where the platform has none (the cursor stays in the picture). */
  openCursor?: () => Promise<CursorSource>;
  logger: Logger;
  /** Sends one of our signals to the client through the broker. */
  sendSignal: (data: SignalData) => void;
  /** Called once when the session has ended and released everything. */
  onEnded: (reason: SessionEndReason) => void;
  /** How often the session's stats (input, capture, encoder) are logged; default STATS_LOG_INTERVAL_MS. */
  statsIntervalMs?: number;
}

export interface ControlStats {
  received: number;
  dropped: number;
  clipboardIn: number;
  clipboardOut: number;
  clipboardRefused: number;
  keyframeRequests: number;
}

export interface SessionStats {
  input: InputStats | undefined;
  capture: CaptureStats;
  control: ControlStats;
  quality: StreamQuality | undefined;
}

type State = 'new' | 'starting' | 'running' | 'ended';

export class HostSession {
  readonly id: string;
  private state: State = 'new';
  private peer: SimplePeer.Instance | undefined;
  private injector: RegionInjector | undefined;
  private router: InputRouter | undefined;
  private clipboard: Clipboard | undefined;
  private cursor: CursorSource | undefined;
  private control: DataChannel | undefined;
  private monitors: Monitor[] = [];
  private quality: StreamQuality | undefined;
  /** The codec the client asked for explicitly, used at the next (re)negotiation. */
  private codecWish: StreamQuality['codec'];
  /** A quality request waiting while the previous one restarts capture; only the latest is kept. */
  private pendingQuality: QualityRequest | undefined;
  private applyingQuality = false;
  private connected = false;
  private readonly controlStats: ControlStats = { received: 0, dropped: 0, clipboardIn: 0, clipboardOut: 0, clipboardRefused: 0, keyframeRequests: 0 };
  private readonly channels: DataChannel[] = [];
  private readonly pendingSignals: SignalData[] = [];
  private connectTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private encoderCounters: EncoderCounters | undefined;
  private loggedDrops = 0;
  private endPromise: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(private readonly options: SessionOptions) {
    this.id = options.sessionId;
    this.log = options.logger.child({ sessionId: options.sessionId });
  }

  /** Opens the injector, starts capture and builds the peer. Rejects (after cleaning up) if any step fails. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`session ${this.id} already started`);
    this.state = 'starting';
    this.log.info({ user: this.options.user }, 'session starting');
    try {
      const injector = await this.options.openInjector();
      if (this.isEnded()) {
        // Ended while the injector was opening: teardown has already run without it.
        await injector.close();
        return;
      }
      this.injector = new RegionInjector(injector);
      this.router = new InputRouter(this.injector, {
        onDrop: (reason, detail) => {
          if (this.loggedDrops++ < MAX_LOGGED_DROPS) this.log.warn({ reason, detail }, 'input message dropped');
        },
        onHeartbeatTimeout: () => this.log.warn('no heartbeat from the client: released held keys and buttons'),
      });
      this.monitors = await this.options.capture.monitors();
      this.quality = initialQuality(this.monitors, this.options.policy, this.options.fps);
      this.updateRegion();
      const track = await this.options.capture.start(captureSettingsFor(this.quality, this.monitors), (err) => void this.end('capture-failed', err));
      if (this.isEnded()) return;
      this.createPeer(track);
      // Clipboard and cursor must not delay the picture: they join when ready.
      void this.openOptional();
    } catch (err) {
      this.log.error({ err: describeError(err) }, 'session failed to start');
      await this.end('start-failed');
      throw err;
    }
    if (this.isEnded()) return;
    this.state = 'running';
    this.connectTimer = setTimeout(() => void this.end('connect-timeout'), CONNECT_TIMEOUT_MS);
    this.statsTimer = setInterval(() => void this.logStats(), this.options.statsIntervalMs ?? STATS_LOG_INTERVAL_MS);
    for (const data of this.pendingSignals.splice(0)) this.signal(data);
  }

  /** Passes a signal from the client to the peer. */
  signal(data: SignalData): void {
    if (this.isEnded()) return;
    if (!this.peer) {
      // The broker holds the client's signals until we accept, so this is
      // rare; keep a bounded few rather than lose an offer.
      if (this.pendingSignals.length < MAX_PENDING_SIGNALS) this.pendingSignals.push(data);
      else this.log.warn('signal dropped: too many before the peer was ready');
      return;
    }
    if (data.type === 'offer' && this.quality) data = { ...data, sdp: this.shapeOffer(data.sdp) };
    try {
      this.peer.signal(data as SimplePeer.SignalData);
    } catch (err) {
      // simple-peer throws on signals after destroy; it reports real failures through 'error'.
      this.log.warn({ err: describeError(err) }, 'peer rejected a signal');
    }
  }

  /** Ends the session and releases input, capture and peer. Idempotent; resolves when all is released. */
  end(reason: SessionEndReason, cause?: unknown): Promise<void> {
    this.endPromise ??= this.teardown(reason, cause);
    return this.endPromise;
  }

  get ended(): boolean {
    return this.state === 'ended';
  }

  stats(): SessionStats {
    return {
      input: this.router?.stats(),
      capture: this.options.capture.stats(),
      control: { ...this.controlStats },
      quality: this.quality ? { ...this.quality } : undefined,
    };
  }

  /**
   * The encoder and pacer since the previous call (the first call covers the
   * whole session so far): see encoder-stats.ts. Undefined before the peer sends video.
   */
  async encoderStats(): Promise<EncoderStats | undefined> {
    if (!this.peer || this.isEnded()) return undefined;
    try {
      const report = await peerConnectionOf(this.peer).getStats();
      const read = readEncoderStats(report, this.encoderCounters, performance.now());
      if (!read) return undefined;
      this.encoderCounters = read.counters;
      return read.stats;
    } catch (err) {
      this.log.debug({ err: describeError(err) }, 'getStats failed');
      return undefined;
    }
  }

  private async logStats(): Promise<void> {
    const encoder = await this.encoderStats();
    if (!this.isEnded()) this.log.info({ ...this.stats(), encoder }, 'session stats');
  }

  private isEnded(): boolean {
    return this.state === 'ended';
  }

  /** Clipboard and cursor are extras: a session runs without them if they cannot open. */
  private async openOptional(): Promise<void> {
    const { openClipboard, openCursor } = this.options;
    if (openClipboard) {
      try {
        const clipboard = await openClipboard();
        if (this.isEnded()) return void (await clipboard.close());
        this.clipboard = clipboard;
        clipboard.watch((text) => this.sendClipboard(text));
      } catch (err) {
        this.log.warn({ err: describeError(err) }, 'clipboard unavailable for this session');
      }
    }
    if (openCursor) {
      try {
        const cursor = await openCursor();
        if (this.isEnded()) return void cursor.stop();
        this.cursor = cursor;
        cursor.start((update) => this.sendCursor(update));
      } catch (err) {
        this.log.warn({ err: describeError(err) }, 'cursor tracking unavailable for this session');
      }
    }
  }

  private createPeer(track: Parameters<typeof mediaStreamOf>[0]): void {
    const peer = new SimplePeer({
      initiator: false,
      trickle: true,
      wrtc: simplePeerWrtc,
      config: { iceServers: this.options.iceServers },
      // The client offers a recvonly video transceiver; this track answers it.
      streams: [mediaStreamOf(track)],
      // Only the chosen codec stays in our answer, so it is the one libwebrtc sends.
      sdpTransform: (sdp: string) => this.transformSdp(sdp),
    });
    this.peer = peer;
    peer.on('signal', (data: unknown) => {
      const parsed = SignalData.safeParse(data);
      if (parsed.success) this.options.sendSignal(parsed.data);
      else this.log.warn({ type: (data as { type?: unknown } | null)?.type }, 'not relaying a signal the protocol does not allow');
    });
    peer.on('connect', () => {
      this.connected = true;
      this.log.info({ codec: this.quality?.codec, maxBitrateKbps: this.quality?.maxBitrateKbps }, 'peer connected');
    });
    // simple-peer's own channel is unused (input has its own channels); keep it flowing so nothing buffers.
    peer.on('data', () => {});
    peer.on('close', () => void this.end('peer-closed'));
    peer.on('error', (err: Error & { code?: string }) => void this.end('peer-error', new HostError('ERR_PEER_FAILED', `${err.code ?? 'peer error'}: ${err.message}`)));

    const pc = peerConnectionOf(peer);
    this.openInputChannel(pc.createDataChannel(DATA_CHANNELS.input.label, { negotiated: true, id: DATA_CHANNELS.input.id, ordered: true }), 'input');
    this.openInputChannel(
      pc.createDataChannel(DATA_CHANNELS.pointer.label, {
        negotiated: true,
        id: DATA_CHANNELS.pointer.id,
        ordered: false,
        maxRetransmits: 0,
      }),
      'pointer',
    );
    this.openControlChannel(pc.createDataChannel(DATA_CHANNELS.control.label, { negotiated: true, id: DATA_CHANNELS.control.id, ordered: true }));
  }

  /**
   * Our view of the client's offer, before it is applied: only the chosen
   * codec, and the bitrate ceiling. libwebrtc's answerer sends with the
   * first codec of the *remote* offer and caps its send rate by the remote
   * description's bandwidth (both measured: trimming only our answer still
   * sent VP8), so that is where both are decided.
   */
  private shapeOffer(sdp: string): string {
    const quality = this.quality!;
    const offered = videoCodecsOf(sdp);
    quality.codec = chooseCodec(this.options.policy, offered, this.codecWish);
    if (!quality.codec) this.log.warn({ offered, allowed: this.options.policy.codecs }, 'no video codec both allowed and offered; libwebrtc picks');
    const trimmed = quality.codec ? keepOnlyVideoCodec(sdp, quality.codec) : sdp;
    return withVideoBitrate(trimmed, quality.maxBitrateKbps);
  }

  /** Our answer carries only the chosen codec; logged because it decides what the client decodes. */
  private transformSdp(sdp: string): string {
    const codec = this.quality?.codec;
    const out = codec ? keepOnlyVideoCodec(sdp, codec) : sdp;
    this.log.debug({ codec, before: videoCodecsOf(sdp), after: videoCodecsOf(out) }, 'answer codecs');
    return out;
  }

  private openInputChannel(channel: DataChannel, kind: InputChannel): void {
    this.channels.push(channel);
    channel.binaryType = 'arraybuffer';
    channel.onmessage = (event) => this.router?.handle(kind, event.data);
    channel.onopen = () => {
      this.log.info({ channel: channel.label }, 'input channel open');
      if (kind === 'input') {
        clearTimeout(this.connectTimer);
        this.router?.startWatchdog();
      }
    };
    channel.onclose = () => {
      // No key may stay held once the client can no longer send its release.
      this.injector?.releaseAll();
      if (!this.isEnded()) this.log.info({ channel: channel.label }, 'input channel closed');
    };
    channel.onerror = () => this.log.warn({ channel: channel.label }, 'input channel error');
  }

  private openControlChannel(channel: DataChannel): void {
    this.channels.push(channel);
    this.control = channel;
    channel.onmessage = (event) => this.handleControl(event.data);
    channel.onopen = () => {
      this.log.info({ channel: channel.label }, 'control channel open');
      if (this.quality) this.sendControl({ type: 'hello', monitors: this.monitors, applied: appliedOf(this.quality) });
    };
    channel.onclose = () => {
      if (!this.isEnded()) this.log.info({ channel: channel.label }, 'control channel closed');
    };
    channel.onerror = () => this.log.warn({ channel: channel.label }, 'control channel error');
  }

  private sendControl(msg: HostControl): void {
    if (this.control?.readyState !== 'open') return;
    try {
      this.control.send(JSON.stringify(msg));
    } catch (err) {
      this.log.warn({ err: describeError(err), type: msg.type }, 'control message not sent');
    }
  }

  private handleControl(data: unknown): void {
    this.controlStats.received++;
    if (typeof data !== 'string' || data.length > MAX_CONTROL_MESSAGE_CHARS) {
      this.controlStats.dropped++;
      return;
    }
    const parsed = parseJson(ClientControl, data);
    if (!parsed.ok) {
      this.controlStats.dropped++;
      if (this.loggedDrops++ < MAX_LOGGED_DROPS) this.log.warn({ reason: parsed.reason }, 'control message dropped');
      return;
    }
    const msg = parsed.value;
    switch (msg.type) {
      case 'ping':
        this.sendControl({ type: 'pong', id: msg.id, sentAt: msg.sentAt });
        break;
      case 'quality':
        this.requestQuality(msg.request);
        break;
      case 'keyframe':
        this.refuseKeyframe();
        break;
      case 'clipboard':
        void this.receiveClipboard(msg.text);
        break;
    }
  }

  /** Applies quality requests one at a time; a burst collapses into its latest request. */
  private requestQuality(request: QualityRequest): void {
    if (this.applyingQuality) {
      this.pendingQuality = { ...this.pendingQuality, ...request };
      return;
    }
    this.applyingQuality = true;
    void this.applyQuality(request).finally(() => {
      this.applyingQuality = false;
      const next = this.pendingQuality;
      this.pendingQuality = undefined;
      if (next && !this.isEnded()) this.requestQuality(next);
    });
  }

  private async applyQuality(request: QualityRequest): Promise<void> {
    const current = this.quality;
    if (!current || this.isEnded()) return;
    if (request.monitor !== undefined) {
      // Monitors come and go (a hot-plugged screen): look again before choosing.
      this.monitors = await this.options.capture.monitors().catch(() => this.monitors);
    }
    const next = applyQualityRequest(current, request, this.monitors, this.options.policy);
    if (request.codec !== undefined && next.codec === request.codec) this.codecWish = request.codec;
    const captureChanged = next.monitor !== current.monitor || next.width !== current.width || next.height !== current.height || next.fps !== current.fps;
    const codecChanged = next.codec !== current.codec;
    this.quality = { ...next, codec: current.codec };
    try {
      if (captureChanged) {
        this.updateRegion();
        await this.options.capture.reconfigure(captureSettingsFor(next, this.monitors));
      }
      if ((codecChanged || next.maxBitrateKbps !== current.maxBitrateKbps) && this.peer && this.connected) {
        // Codec and bitrate live in the negotiated descriptions: ask the client to offer again.
        this.quality.codec = next.codec;
        // negotiate() exists in simple-peer 9 but is missing from @types/simple-peer.
        (this.peer as unknown as { negotiate(): void }).negotiate();
      }
    } catch (err) {
      this.log.error({ err: describeError(err) }, 'could not apply quality request');
      this.sendControl({ type: 'error', code: err instanceof HostError ? err.code : 'ERR_QUALITY', message: 'the requested stream settings could not be applied' });
    }
    this.log.info({ request, applied: this.quality }, 'quality applied');
    if (this.quality) this.sendControl({ type: 'quality.applied', applied: appliedOf(this.quality) });
  }

  /** Tells the injector which part of the desktop the picture shows. */
  private updateRegion(): void {
    if (!this.quality || !this.injector) return;
    const all = regionOf(this.monitors, ALL_MONITORS);
    const region = regionOf(this.monitors, this.quality.monitor);
    this.injector.setRegion(region, all ? { width: all.x + all.width, height: all.y + all.height } : { width: 1, height: 1 });
  }

  /**
   * The explicit `keyframe` message. libwebrtc answers the receiver's RTCP
   * PLI/FIR by itself (a browser sends one whenever it cannot decode), but
   * wrtc 0.10 exposes no way to force one from JavaScript
   * (RTCRtpSender.generateKeyFrame is missing and setParameters always
   * fails), so the request is counted and answered with an error code the
   * client can recognise; it should rely on PLI.
   */
  private refuseKeyframe(): void {
    this.controlStats.keyframeRequests++;
    this.sendControl({ type: 'error', code: 'ERR_KEYFRAME_UNSUPPORTED', message: 'this host cannot force a keyframe; the receiver\'s PLI is answered automatically' });
  }

  private async receiveClipboard(text: string): Promise<void> {
    const refusal = this.clipboard ? clipboardRefusal(this.options.policy, 'client-to-host', text) : 'ERR_CLIPBOARD_UNAVAILABLE';
    if (refusal) {
      this.controlStats.clipboardRefused++;
      this.sendControl({ type: 'error', code: refusal, message: 'clipboard text from the client was not accepted' });
      return;
    }
    try {
      await this.clipboard!.write(text);
      this.controlStats.clipboardIn++;
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not set the host clipboard');
    }
  }

  private sendClipboard(text: string): void {
    if (clipboardRefusal(this.options.policy, 'host-to-client', text)) {
      // Silently kept on the host: the artist copied on the workstation, nothing to tell the client.
      this.controlStats.clipboardRefused++;
      return;
    }
    this.controlStats.clipboardOut++;
    this.sendControl({ type: 'clipboard', text });
  }

  /** Cursor positions arrive in desktop pixels; the client wants them normalised to the picture. */
  private sendCursor(update: CursorUpdate): void {
    if (!this.quality) return;
    const region = regionOf(this.monitors, this.quality.monitor);
    if (!region) return;
    const inside = update.x >= region.x && update.y >= region.y && update.x < region.x + region.width && update.y < region.y + region.height;
    const norm = (v: number, size: number): number => Math.min(65535, Math.max(0, Math.round((v * 65535) / Math.max(1, size - 1))));
    this.sendControl({
      type: 'cursor',
      x: norm(update.x - region.x, region.width),
      y: norm(update.y - region.y, region.height),
      visible: inside && update.visible,
      ...(update.image ? { image: update.image.png, hotX: update.image.hotX, hotY: update.image.hotY } : {}),
    });
  }

  private async teardown(reason: SessionEndReason, cause: unknown): Promise<void> {
    this.state = 'ended';
    clearTimeout(this.connectTimer);
    clearInterval(this.statsTimer);
    const detail = cause === undefined ? {} : { err: describeError(cause) };
    this.log.info({ reason, ...detail, ...this.stats() }, 'session ending');
    this.router?.close();
    this.injector?.releaseAll();
    this.cursor?.stop();
    for (const channel of this.channels) {
      // Input was released just above; late channel events have nothing left to do.
      channel.onmessage = channel.onopen = channel.onclose = channel.onerror = null;
      channel.close();
    }
    this.peer?.destroy();
    const results = await Promise.allSettled([this.options.capture.stop(), this.injector?.close(), this.clipboard?.close()]);
    for (const r of results) if (r.status === 'rejected') this.log.warn({ err: describeError(r.reason) }, 'cleanup step failed');
    this.log.info({ reason }, 'session ended');
    this.options.onEnded(reason);
  }
}
