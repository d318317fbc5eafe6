/**
 * One WebRTC session with one client: the peer (simple-peer, non-initiator,
 * on libwebrtc), the video track from the capture source, and the two
 * negotiated input channels routed to the injector. A session is used once:
 * `start()`, any number of `signal()`s, then `end()`.
 */
import SimplePeer from 'simple-peer';
import type { Logger } from 'pino';
import { DATA_CHANNELS, MAX_PENDING_SIGNALS } from '../shared/constants.js';
import { SignalData, type IceServer } from '../shared/protocol.js';
import type { CaptureSource, CaptureStats } from './capture/capture-source.js';
import { describeError, HostError } from './errors.js';
import type { Injector } from './input/injector.js';
import { InputRouter, type InputChannel, type InputStats } from './input/input-router.js';
import { mediaStreamOf, peerConnectionOf, simplePeerWrtc, type DataChannel } from './webrtc.js';

/** A session whose input channel has not opened by then is given up. */
export const CONNECT_TIMEOUT_MS = 30_000;
/** While a session runs its counters are logged this often. */
const STATS_LOG_INTERVAL_MS = 30_000;
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
  capture: CaptureSource;
  /** Opens the injector for this session; the session closes it when it ends. */
  openInjector: () => Promise<Injector>;
  logger: Logger;
  /** Sends one of our signals to the client through the broker. */
  sendSignal: (data: SignalData) => void;
  /** Called once when the session has ended and released everything. */
  onEnded: (reason: SessionEndReason) => void;
}

export interface SessionStats {
  input: InputStats | undefined;
  capture: CaptureStats;
}

type State = 'new' | 'starting' | 'running' | 'ended';

export class HostSession {
  readonly id: string;
  private state: State = 'new';
  private peer: SimplePeer.Instance | undefined;
  private injector: Injector | undefined;
  private router: InputRouter | undefined;
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
      this.injector = injector;
      this.router = new InputRouter(injector, (reason, detail) => {
        if (this.loggedDrops++ < MAX_LOGGED_DROPS) this.log.warn({ reason, detail }, 'input message dropped');
      });
      const track = await this.options.capture.start((err) => void this.end('capture-failed', err));
      if (this.isEnded()) return;
      this.createPeer(track);
    } catch (err) {
      this.log.error({ err: describeError(err) }, 'session failed to start');
      await this.end('start-failed');
      throw err;
    }
    this.state = 'running';
    this.connectTimer = setTimeout(() => void this.end('connect-timeout'), CONNECT_TIMEOUT_MS);
    this.statsTimer = setInterval(() => this.log.info(this.stats(), 'session stats'), STATS_LOG_INTERVAL_MS);
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
    return { input: this.router?.stats(), capture: this.options.capture.stats() };
  }

  private isEnded(): boolean {
    return this.state === 'ended';
  }

  private createPeer(track: Parameters<typeof mediaStreamOf>[0]): void {
    const peer = new SimplePeer({
      initiator: false,
      trickle: true,
      wrtc: simplePeerWrtc,
      config: { iceServers: this.options.iceServers },
      // The client offers a recvonly video transceiver; this track answers it.
      streams: [mediaStreamOf(track)],
    });
    this.peer = peer;
    peer.on('signal', (data: unknown) => {
      const parsed = SignalData.safeParse(data);
      if (parsed.success) this.options.sendSignal(parsed.data);
      else this.log.warn({ type: (data as { type?: unknown } | null)?.type }, 'not relaying a signal the protocol does not allow');
    });
    peer.on('connect', () => this.log.info('peer connected'));
    // simple-peer's own channel is unused (input has its own channels); keep it flowing so nothing buffers.
    peer.on('data', () => {});
    peer.on('close', () => void this.end('peer-closed'));
    peer.on('error', (err: Error & { code?: string }) => void this.end('peer-error', new HostError('ERR_PEER_FAILED', `${err.code ?? 'peer error'}: ${err.message}`)));

    const pc = peerConnectionOf(peer);
    this.openChannel(pc.createDataChannel(DATA_CHANNELS.input.label, { negotiated: true, id: DATA_CHANNELS.input.id, ordered: true }), 'input');
    this.openChannel(
      pc.createDataChannel(DATA_CHANNELS.pointer.label, {
        negotiated: true,
        id: DATA_CHANNELS.pointer.id,
        ordered: false,
        maxRetransmits: 0,
      }),
      'pointer',
    );
  }

  private openChannel(channel: DataChannel, kind: InputChannel): void {
    this.channels.push(channel);
    channel.binaryType = 'arraybuffer';
    channel.onmessage = (event) => this.router?.handle(kind, event.data);
    channel.onopen = () => {
      this.log.info({ channel: channel.label }, 'input channel open');
      if (kind === 'input') clearTimeout(this.connectTimer);
    };
    channel.onclose = () => {
      // No key may stay held once the client can no longer send its release.
      this.injector?.releaseAll();
      if (!this.isEnded()) this.log.info({ channel: channel.label }, 'input channel closed');
    };
    channel.onerror = () => this.log.warn({ channel: channel.label }, 'input channel error');
  }

  private async teardown(reason: SessionEndReason, cause: unknown): Promise<void> {
    this.state = 'ended';
    clearTimeout(this.connectTimer);
    clearInterval(this.statsTimer);
    const detail = cause === undefined ? {} : { err: describeError(cause) };
    this.log.info({ reason, ...detail, ...this.stats() }, 'session ending');
    this.injector?.releaseAll();
    for (const channel of this.channels) {
      // Input was released just above; late channel events have nothing left to do.
      channel.onmessage = channel.onopen = channel.onclose = channel.onerror = null;
      channel.close();
    }
    this.peer?.destroy();
    const results = await Promise.allSettled([this.options.capture.stop(), this.injector?.close()]);
    for (const r of results) if (r.status === 'rejected') this.log.warn({ err: describeError(r.reason) }, 'cleanup step failed');
    this.log.info({ reason }, 'session ended');
    this.options.onEnded(reason);
  }
}
