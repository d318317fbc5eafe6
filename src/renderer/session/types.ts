/** The connection machine's context, events and reason codes. */
import type { ErrorCode } from '../../shared/constants.js';
import type { Monitor, QualityRequest, StreamDescription } from '../../shared/control.js';
import type { VideoCodec } from '../../shared/policy.js';
import type { SessionGrant, Workstation } from '../../shared/protocol.js';
import type { BrokerApi, SignedInUser } from '../api/broker.js';
import type { ClientSessionPolicy } from '../shell/client-policy.js';
import type { AutoFps } from './backlog.js';
import type { CursorShape, InputSink, PeerEvent } from './peer.js';
import type { StatsSnapshot } from './stats.js';

/**
 * Client-side failure codes beside the broker's. `ERR_NO_RELAY`: this client
 * must relay all media (forceRelay) but the grant offers no TURN server.
 */
export type ClientErrorCode = 'ERR_TIMEOUT' | 'ERR_HOST_LOST' | 'ERR_NO_RELAY';

export interface Failure {
  code: ErrorCode | ClientErrorCode;
  message: string;
}

/** Why a session ended without failing. */
export type EndCode = 'cancelled' | 'disconnected' | 'host-ended';

export interface Ended {
  code: EndCode;
  message: string;
}

/** Where clipboard text goes on this machine; null where the page may not touch the clipboard. */
export interface ClipboardPort {
  writeText(text: string): Promise<void>;
}

/** Opens a session in its own window (the desktop app); the web client connects in place. */
export interface SessionWindows {
  open(workstationId: string): Promise<void>;
}

export interface MachineInput {
  broker: BrokerApi;
  clipboard?: ClipboardPort | null;
  /** Quality settings remembered from earlier sessions (or the studio's profile). */
  quality?: QualityRequest;
  /** The person's saved "Full colour (4:4:4)" preference. */
  fullColour?: boolean;
  /** Try the remembered sign-in first (`broker.resume`), instead of showing the form straight away. */
  resume?: boolean;
  /** This page is the session window for this workstation: connect at once, never show the list. */
  sessionWindow?: string | null;
  /** Set in the desktop app's main window: "Connect" opens a session window. */
  windows?: SessionWindows | null;
  /** This client's settings that narrow every session (forceRelay, clipboard, file transfer). */
  clientPolicy?: ClientSessionPolicy;
}

/** A deep link or connection file waiting for the sign-in to finish. */
export interface PendingOpen {
  workstationId: string;
  brokerUrl: string;
}

/** A setting the client reconnects to apply, because the host cannot change it on the running connection. */
export type ReconnectReason = 'fullColour' | 'codec';

export interface SessionContext {
  broker: BrokerApi;
  clipboard: ClipboardPort | null;
  sessionWindow: string | null;
  windows: SessionWindows | null;
  clientPolicy: ClientSessionPolicy;
  /** The broker signed in to, when this page knows it (a resumed sign-in does not say). */
  brokerUrl: string | null;
  pendingOpen: PendingOpen | null;
  /** Try the remembered sign-in when the machine starts. */
  resumeOnStart: boolean;
  user: SignedInUser | null;
  workstations: Workstation[];
  workstationsUpdatedAt: number | null;
  workstationId: string | null;
  grant: SessionGrant | null;
  stream: MediaStream | null;
  input: InputSink | null;
  stats: StatsSnapshot | null;
  cursor: CursorShape | null;
  /** What the person asked for (clamped to policy on the way out); saved as their preference, so only they change it. */
  quality: QualityRequest;
  /** What the host says it applies. */
  applied: QualityRequest | null;
  /**
   * Full colour (4:4:4) wanted: the person's preference, saved like `quality`. Asked for only where the
   * policy allows it (the codec order of the offer, media.ts `orderCodecs`).
   */
  fullColour: boolean;
  /**
   * How the host sends the picture (`hello.stream`): pipeline, encoder, codecs it can send, 4:4:4, and
   * whether an ICE restart or an in-place codec change works. Kept across reconnects to the same
   * workstation (the next `hello` replaces it); null before the first `hello` and from hosts that do not say.
   */
  hostStream: StreamDescription | null;
  /** This reconnect was started by the client to apply a setting (shown in the banner); null otherwise. */
  reconnectFor: ReconnectReason | null;
  /** Consecutive stats intervals with frames queueing in front of the decoder (see backlog.ts). */
  backlogIntervals: number;
  /**
   * The frame rate this session lowered by itself (a ceiling on `quality.fps` for this session only),
   * for the settings panel to say so; cleared when the person chooses a frame rate.
   */
  autoFps: AutoFps | null;
  monitors: Monitor[];
  /** Last clipboard text exchanged, so an echo is not sent back. */
  clipboardText: string | null;
  failure: Failure | null;
  ended: Ended | null;
  /** When the connection was lost (ms since epoch); null while healthy. */
  lostAt: number | null;
  /** Failed reconnect attempts since `lostAt`. */
  attempt: number;
  /** When the next reconnect attempt starts, for the countdown. */
  retryAt: number | null;
}

export type SessionEvent =
  | { type: 'auth.login'; username: string; password: string; brokerUrl?: string }
  | { type: 'auth.totp'; code: string }
  | { type: 'auth.cancel' }
  | { type: 'auth.logout' }
  | { type: 'workstations.refresh' }
  | { type: 'workstations.loaded'; workstations: Workstation[] }
  | { type: 'workstations.failed'; failure: Failure }
  | { type: 'session.connect'; workstationId: string }
  | { type: 'session.disconnect' }
  | { type: 'session.back' }
  | { type: 'quality.set'; request: QualityRequest }
  /** The person's saved (or studio-managed) settings, loaded after start-up; applies to the next stream. */
  | { type: 'quality.defaults'; request: QualityRequest }
  | { type: 'codec.set'; codec: VideoCodec | null }
  /** "Full colour (4:4:4)" switched on or off in the stream settings. */
  | { type: 'fullColour.set'; enabled: boolean }
  | { type: 'clipboard.local'; text: string }
  | { type: 'keyframe.request' }
  /** A deep link or connection file (main checked it against the policy): connect once signed in. */
  | { type: 'open.request'; workstationId: string | null; brokerUrl: string }
  /** Opening a session window failed (main said why). */
  | { type: 'session.windowFailed'; failure: Failure }
  /** The client's settings changed (or a profile was selected): applies to the running and next grants. */
  | { type: 'client.policy'; policy: ClientSessionPolicy }
  /** Raised by the machine itself: no sign of life from the peer for LIVENESS.stallAfterMs while streaming. */
  | { type: 'picture.stalled' }
  | PeerEvent;
