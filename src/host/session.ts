/**
 * One session with one client: the media pipeline (capture, encoder and
 * peer connection: pipeline/*.ts), the two negotiated input channels routed
 * to the injector, and the control channel (quality, clipboard, keyframe,
 * ping; hello, cursor). A session is used once: `start()`, any number of
 * `signal()`s, then `end()`.
 */
import type { Logger } from 'pino';
import { DATA_CHANNELS, MAX_PENDING_SIGNALS } from '../shared/constants.js';
import { ClientControl, MAX_CONTROL_MESSAGE_CHARS, type HostControl, type Monitor, type QualityRequest, type StreamDescription } from '../shared/control.js';
import type { SessionPolicy } from '../shared/policy.js';
import { parseJson, type IceServer, type SignalData } from '../shared/protocol.js';
import type { CaptureSource, CaptureStats } from './capture/capture-source.js';
import { clipboardRefusal, type Clipboard } from './clipboard/clipboard.js';
import type { CursorSource, CursorUpdate } from './cursor/cursor-source.js';
import { describeError, HostError } from './errors.js';
import type { Injector } from './input/injector.js';
import { InputRouter, type InputChannel, type InputStats } from './input/input-router.js';
import { RegionInjector } from './input/region-injector.js';
import type { MediaPipeline, PipelineEvents } from './pipeline/pipeline.js';
import { appliedOf, applyQualityRequest, captureSettingsFor, initialQuality, regionOf, withChroma, type StreamQuality } from './quality.js';
import type { DataChannel } from './transport/channel.js';
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
  | 'encoder-failed'
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
  /** Builds the media pipeline for this session; `quality` is the stream it starts with. */
  openPipeline: (events: PipelineEvents, quality: StreamQuality) => MediaPipeline;
  /** Why the agent runs this pipeline and encoder (its probe), told to the client in `hello`. */
  pipelineWhy?: string;
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
  private pipeline: MediaPipeline | undefined;
  private injector: RegionInjector | undefined;
  private router: InputRouter | undefined;
  private clipboard: Clipboard | undefined;
  private cursor: CursorSource | undefined;
  private control: DataChannel | undefined;
  private monitors: Monitor[] = [];
  private quality: StreamQuality | undefined;
  /** A quality request waiting while the previous one restarts capture; only the latest is kept. */
  private pendingQuality: QualityRequest | undefined;
  private applyingQuality = false;
  private connected = false;
  private readonly controlStats: ControlStats = { received: 0, dropped: 0, clipboardIn: 0, clipboardOut: 0, clipboardRefused: 0, keyframeRequests: 0 };
  private readonly channels: DataChannel[] = [];
  private readonly pendingSignals: SignalData[] = [];
  private connectTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
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
      const pipeline = this.options.openPipeline(this.pipelineEvents(), this.quality);
      this.pipeline = pipeline;
      await pipeline.start(captureSettingsFor(this.quality, this.monitors), this.monitors);
      if (this.isEnded()) return;
      this.openChannels(pipeline);
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
    if (this.state !== 'running' || !this.pipeline) {
      // The broker holds the client's signals until we accept, so this is
      // rare; keep a bounded few rather than lose an offer.
      if (this.pendingSignals.length < MAX_PENDING_SIGNALS) this.pendingSignals.push(data);
      else this.log.warn('signal dropped: too many before the peer was ready');
      return;
    }
    this.pipeline.signal(data);
    const video = this.pipeline.negotiated();
    if (data.type === 'offer' && this.quality && video && video.codec !== 'H265') this.quality.codec = video.codec;
    if (data.type === 'offer' && this.quality && video) {
      // A 4:4:4 connection gets a larger default bitrate (quality.ts, CHROMA444_BITRATE_FACTOR), from its first keyframe.
      const next = withChroma(this.quality, video.chroma444, this.options.policy);
      if (next.maxBitrateKbps !== this.quality.maxBitrateKbps) this.pipeline.setMaxBitrate(next.maxBitrateKbps);
      this.quality = next;
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

  /** The pipeline's encoder and transport counters (see pipeline/*.ts). Undefined before the pipeline runs. */
  async mediaStats(): Promise<Record<string, unknown> | undefined> {
    if (!this.pipeline || this.isEnded()) return undefined;
    return this.pipeline.stats();
  }

  private async logStats(): Promise<void> {
    const media = await this.mediaStats();
    if (!this.isEnded()) this.log.info({ ...this.stats(), media }, 'session stats');
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

  private pipelineEvents(): PipelineEvents {
    return {
      onSignal: (data) => this.options.sendSignal(data),
      onConnect: () => {
        this.connected = true;
        this.log.info({ codec: this.quality?.codec, maxBitrateKbps: this.quality?.maxBitrateKbps, video: this.pipeline?.negotiated() }, 'peer connected');
      },
      onClose: () => void this.end('peer-closed'),
      onError: (err) => void this.end('peer-error', err),
      onMediaFailure: (err) => void this.end(err.code === 'ERR_ENCODER_FAILED' || err.code === 'ERR_CODEC_UNAVAILABLE' ? 'encoder-failed' : 'capture-failed', err),
    };
  }

  private openChannels(pipeline: MediaPipeline): void {
    this.openInputChannel(pipeline.createDataChannel(DATA_CHANNELS.input.label, { negotiated: true, id: DATA_CHANNELS.input.id, ordered: true }), 'input');
    this.openInputChannel(
      pipeline.createDataChannel(DATA_CHANNELS.pointer.label, {
        negotiated: true,
        id: DATA_CHANNELS.pointer.id,
        ordered: false,
        maxRetransmits: 0,
      }),
      'pointer',
    );
    this.openControlChannel(pipeline.createDataChannel(DATA_CHANNELS.control.label, { negotiated: true, id: DATA_CHANNELS.control.id, ordered: true }));
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
      if (this.quality) this.sendControl({ type: 'hello', monitors: this.monitors, applied: appliedOf(this.quality), ...this.streamDescription() });
    };
    channel.onclose = () => {
      if (!this.isEnded()) this.log.info({ channel: channel.label }, 'control channel closed');
    };
    channel.onerror = () => this.log.warn({ channel: channel.label }, 'control channel error');
  }

  private streamDescription(): { stream?: StreamDescription } {
    const pipeline = this.pipeline;
    if (!pipeline) return {};
    const video = pipeline.negotiated();
    return {
      stream: {
        pipeline: pipeline.kind,
        encoder: video?.encoder ?? 'none',
        ...(video ? { codec: video.codec } : {}),
        codecs: pipeline.sendableCodecs(),
        chroma444: video?.chroma444 ?? false,
        chroma444Available: pipeline.chroma444Available(),
        codecChangeInPlace: pipeline.codecChangeInPlace,
        iceRestart: pipeline.iceRestart,
        why: (this.options.pipelineWhy ?? '').slice(0, 512),
      },
    };
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
        this.keyframe();
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
    const next = applyQualityRequest(current, request, this.monitors, this.options.policy, this.pipeline?.sendableCodecs());
    const captureChanged = next.monitor !== current.monitor || next.width !== current.width || next.height !== current.height || next.fps !== current.fps;
    this.quality = { ...next, codec: current.codec };
    const pipeline = this.pipeline;
    try {
      if (captureChanged && pipeline) {
        this.updateRegion();
        await pipeline.reconfigureCapture(captureSettingsFor(next, this.monitors));
      }
      if (pipeline && this.connected) {
        if (next.maxBitrateKbps !== current.maxBitrateKbps) pipeline.setMaxBitrate(next.maxBitrateKbps);
        if (request.codec !== undefined && next.codec === request.codec && next.codec !== current.codec) {
          if (pipeline.setCodecWish(next.codec)) this.quality.codec = next.codec;
          else this.sendControl({ type: 'error', code: 'ERR_CODEC_RECONNECT', message: `${next.codec} takes effect at the next connection to this host` });
        }
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
   * The explicit `keyframe` message: the pipeline forces one (rate-limited).
   * Before the pipeline exists, or where it cannot, the request is answered
   * with an error code the client can recognise, and the receiver's PLI remains.
   */
  private keyframe(): void {
    this.controlStats.keyframeRequests++;
    if (this.pipeline?.requestKeyframe('client')) return;
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
    const results = await Promise.allSettled([this.pipeline ? this.pipeline.close() : this.options.capture.stop(), this.injector?.close(), this.clipboard?.close()]);
    for (const r of results) if (r.status === 'rejected') this.log.warn({ err: describeError(r.reason) }, 'cleanup step failed');
    this.log.info({ reason }, 'session ended');
    this.options.onEnded(reason);
  }
}
