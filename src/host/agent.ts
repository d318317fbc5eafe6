/**
 * The host agent: keeps the broker link up and runs at most one session at a
 * time. A `session.start` while a session runs ends the old one first
 * ("replaced"): the broker only issues it after a client redeemed a grant, so
 * the newer request is the one a person is waiting on, and an old session the
 * broker has forgotten (its client crashed) must not lock the workstation.
 */
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import type { CaptureSource } from './capture/capture-source.js';
import { FallbackCapture } from './capture/fallback-capture.js';
import { X11GrabCapture } from './capture/x11grab-capture.js';
import { XcbCapture } from './capture/xcb-capture.js';
import { BrokerLink, hostSocketUrl, type BrokerEvent, type LinkState } from './broker-link.js';
import type { Clipboard } from './clipboard/clipboard.js';
import { X11Clipboard } from './clipboard/x11-clipboard.js';
import type { CursorSource } from './cursor/cursor-source.js';
import { X11CursorSource } from './cursor/x11-cursor.js';
import { CaptureKind, InjectorKind } from './config.js';
import { describeError, HostError } from './errors.js';
import type { Injector } from './input/injector.js';
import { openRobotInjector } from './input/robot-injector.js';
import { XTestInjector } from './input/xtest-injector.js';
import { MAX_CAPTURE_FPS } from './quality.js';
import { openPipeline, selectPipeline, type SelectedPipeline } from './pipeline/select.js';
import { HostSession, STATS_LOG_INTERVAL_MS, type SessionEndReason } from './session.js';
import { MAX_PLAYOUT_DELAY_MS } from './transport/rtp-packetizer.js';

export const DEFAULT_FPS = 30;
export const MAX_FPS = MAX_CAPTURE_FPS;

/** Options of a host agent, validated at every entry point (CLI and in-process). */
export const HostAgentOptions = z.strictObject({
  /** X display to capture and inject into, e.g. ":99". */
  display: z.string().regex(/^[A-Za-z0-9._/-]*:\d+(\.\d+)?$/, 'an X display such as :99 or host:0.0'),
  /** Broker base URL (http, https, ws or wss). */
  brokerUrl: z.url({ protocol: /^(https?|wss?)$/, error: 'an http(s) or ws(s) URL' }),
  workstationId: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only'),
  secret: z.string().min(16, 'at least 16 characters').max(512),
  fps: z.number().int().min(1).max(MAX_FPS).default(DEFAULT_FPS),
  /**
   * Leave the cursor out of the video and rely on `cursor` control messages
   * for the client to draw it locally. Off by default: a client that does not
   * draw the cursor would show none.
   */
  localCursor: z.boolean().default(false),
  /** Input injector; `auto` is XTEST on X11, robotjs on Windows and macOS. */
  injector: InjectorKind.default('auto'),
  /** Screen capture; `auto` is in-process MIT-SHM capture where it starts, else ffmpeg. */
  capture: CaptureKind.default('auto'),
  /** `auto` probes hardware encoders first, then libx264; a name forces that libavcodec encoder. */
  encoder: z.string().min(1).max(32).default('auto'),
  /** Local IPv4 address WebRTC gathers ICE candidates on; all interfaces when unset. */
  iceBindAddress: z.ipv4().optional(),
  /**
   * Longest playout delay, ms, that every video frame tells the client's
   * browser it may add (the playout-delay RTP header extension, min 0): 0
   * renders frames as they arrive, the lowest latency on a clean network; a
   * jittery link may want some smoothing. null leaves the receiver's own
   * adaptive jitter buffer (typically 50-400 ms here).
   */
  playoutDelayMaxMs: z.number().int().min(0).max(MAX_PLAYOUT_DELAY_MS).nullable().default(0),
  /** How often a running session logs its stats (input, capture, encoder), ms. */
  statsIntervalMs: z.number().int().min(1_000).max(3_600_000).default(STATS_LOG_INTERVAL_MS),
});
export type HostAgentOptions = z.input<typeof HostAgentOptions>;

/** The injector `kind` means on `platform`: robotjs on Windows and macOS, XTEST elsewhere (X11). */
export function resolveInjectorKind(kind: InjectorKind, platform: NodeJS.Platform = process.platform): 'xtest' | 'robot' {
  if (kind !== 'auto') return kind;
  return platform === 'win32' || platform === 'darwin' ? 'robot' : 'xtest';
}

/** The X11 capture `options.capture` asks for: in-process first (`auto`), falling back to ffmpeg. */
export function defaultCapture(options: z.output<typeof HostAgentOptions>, logger: Logger): CaptureSource {
  const ffmpeg = (): CaptureSource => new X11GrabCapture({ display: options.display, drawMouse: !options.localCursor, logger });
  if (options.capture === 'ffmpeg') return ffmpeg();
  const xcb = new XcbCapture({ display: options.display, drawCursor: !options.localCursor, logger });
  return options.capture === 'xcb' ? xcb : new FallbackCapture(xcb, ffmpeg, logger);
}

/** Replaceable parts, for tests, the demo launcher and other platforms. */
export interface HostAgentDeps {
  /** Defaults to pino JSON on stdout. */
  logger?: Logger;
  createCapture?: (options: z.output<typeof HostAgentOptions>, logger: Logger) => CaptureSource;
  openInjector?: (options: z.output<typeof HostAgentOptions>, logger: Logger) => Promise<Injector>;
  /** Defaults to XFIXES on the display. */
  openCursor?: (options: z.output<typeof HostAgentOptions>, logger: Logger) => Promise<CursorSource>;
  /** Defaults to the X CLIPBOARD selection on the display. */
  openClipboard?: (options: z.output<typeof HostAgentOptions>, logger: Logger) => Promise<Clipboard>;
  /** Decides the pipeline and encoder once; defaults to probing this machine (pipeline/select.ts). */
  selectPipeline?: typeof selectPipeline;
}

export interface HostAgent {
  /** Ends any session (releasing input, stopping capture) and closes the broker link. */
  stop(): Promise<void>;
  linkState(): LinkState;
  /** The running session's id, if any. */
  sessionId(): string | undefined;
  /** The pipeline and encoder sessions use, and why. */
  pipeline(): SelectedPipeline;
}

/**
 * Starts a host agent; it connects (and keeps reconnecting) to the broker in
 * the background. Rejects with HostError ERR_BAD_OPTIONS on invalid options.
 */
export async function startHostAgent(input: HostAgentOptions & HostAgentDeps): Promise<HostAgent> {
  const {
    logger: givenLogger,
    createCapture: givenCapture,
    openInjector: givenInjector,
    openCursor: givenCursor,
    openClipboard: givenClipboard,
    selectPipeline: givenSelect,
    ...rest
  } = input;
  const parsed = HostAgentOptions.safeParse(rest);
  if (!parsed.success) throw new HostError('ERR_BAD_OPTIONS', z.prettifyError(parsed.error));
  const options = parsed.data;
  const logger = givenLogger ?? pino({ name: 'backlot-host' });
  const createCapture = givenCapture ?? defaultCapture;
  const injectorKind = resolveInjectorKind(options.injector);
  const openInjector =
    givenInjector ?? ((o, log) => (injectorKind === 'robot' ? openRobotInjector(log, { display: o.display }) : XTestInjector.open(o.display, log)));
  const openCursor = givenCursor ?? ((o, log) => X11CursorSource.open(o.display, log));
  const openClipboard = givenClipboard ?? ((o, log) => X11Clipboard.open(o.display, log));
  // Probed at the primary monitor's size: a session's own size is opened again when it starts.
  const primary = await createCapture(options, logger.child({ component: 'capture' }))
    .monitors()
    .then((monitors) => monitors.find((m) => m.primary) ?? monitors[0])
    .catch(() => undefined);
  const selected = await (givenSelect ?? selectPipeline)({
    encoder: options.encoder,
    ...(primary ? { width: primary.width & ~1, height: primary.height & ~1 } : {}),
    fps: options.fps,
    logger: logger.child({ component: 'encoder' }),
  });
  logger.info({ pipeline: selected.kind, encoders: selected.encoders }, selected.why);

  let current: HostSession | undefined;
  let stopping = false;
  // Session changes run one after another so a start never races an end.
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (task: () => Promise<void>): void => {
    queue = queue.then(task).catch((err: unknown) => logger.error({ err: describeError(err) }, 'session task failed'));
  };

  const link = new BrokerLink({
    url: hostSocketUrl(options.brokerUrl),
    workstationId: options.workstationId,
    secret: options.secret,
    logger: logger.child({ component: 'broker-link' }),
    onMessage: (msg) => handle(msg),
    // The media path is peer to peer, so a running session outlives a broker
    // link blip; it ends through its peer if the client goes away.
    onState: (state) => logger.debug({ state }, 'broker link state'),
  });

  function handle(msg: BrokerEvent): void {
    switch (msg.type) {
      case 'session.start':
        enqueue(() => startSession(msg));
        break;
      case 'signal':
        if (current?.id === msg.sessionId) current.signal(msg.data);
        else logger.debug({ sessionId: msg.sessionId }, 'signal for a session that is not running');
        break;
      case 'session.end':
        if (current?.id === msg.sessionId) void current.end('broker-ended');
        break;
      case 'error':
        // Already logged by the link; the broker closes and we reconnect with backoff.
        break;
    }
  }

  async function startSession(msg: Extract<BrokerEvent, { type: 'session.start' }>): Promise<void> {
    if (stopping) return;
    if (current) await current.end('replaced');
    const capture = createCapture(options, logger.child({ component: 'capture' }));
    const session = new HostSession({
      sessionId: msg.sessionId,
      user: msg.user,
      iceServers: msg.iceServers,
      policy: msg.policy,
      fps: options.fps,
      capture,
      pipelineWhy: selected.why,
      openPipeline: (events, quality) =>
        openPipeline(
          selected,
          {
            capture,
            policy: msg.policy,
            iceServers: msg.iceServers,
            quality,
            playoutDelayMaxMs: options.playoutDelayMaxMs,
            ...(options.iceBindAddress ? { bindAddress: options.iceBindAddress } : {}),
            logger: logger.child({ sessionId: msg.sessionId, component: 'pipeline' }),
          },
          events,
        ),
      openInjector: () => openInjector(options, logger.child({ component: 'injector' })),
      openCursor: () => openCursor(options, logger.child({ component: 'cursor' })),
      openClipboard: () => openClipboard(options, logger.child({ component: 'clipboard' })),
      logger,
      sendSignal: (data) => link.send({ type: 'signal', sessionId: msg.sessionId, data }),
      onEnded: (reason) => sessionEnded(session, reason),
      statsIntervalMs: options.statsIntervalMs,
    });
    current = session;
    try {
      await session.start();
    } catch {
      return; // logged and reported to the broker by the session's own end
    }
    if (!session.ended) link.send({ type: 'session.accept', sessionId: session.id });
  }

  function sessionEnded(session: HostSession, reason: SessionEndReason): void {
    if (current === session) current = undefined;
    if (reason !== 'broker-ended') link.send({ type: 'session.end', sessionId: session.id, reason });
  }

  link.start();
  logger.info({ display: options.display, broker: options.brokerUrl, workstationId: options.workstationId, fps: options.fps, injector: givenInjector ? 'custom' : injectorKind, capture: givenCapture ? 'custom' : options.capture }, 'host agent started');

  return {
    async stop() {
      if (stopping) return;
      stopping = true;
      logger.info('host agent stopping');
      await queue;
      await current?.end('agent-stopping');
      await link.stop();
      logger.info('host agent stopped');
    },
    linkState: () => link.currentState,
    sessionId: () => current?.id,
    pipeline: () => selected,
  };
}
