/** The connection machine's context, events and reason codes. */
import type { ErrorCode } from '../../shared/constants.js';
import type { Monitor, QualityRequest } from '../../shared/control.js';
import type { VideoCodec } from '../../shared/policy.js';
import type { SessionGrant, Workstation } from '../../shared/protocol.js';
import type { BrokerApi, SignedInUser } from '../api/broker.js';
import type { CursorShape, InputSink, PeerEvent } from './peer.js';
import type { StatsSnapshot } from './stats.js';

/** Client-side failure codes beside the broker's. */
export type ClientErrorCode = 'ERR_TIMEOUT' | 'ERR_HOST_LOST';

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

export interface MachineInput {
  broker: BrokerApi;
  clipboard?: ClipboardPort | null;
  /** Quality settings remembered from earlier sessions (or the studio's profile). */
  quality?: QualityRequest;
}

export interface SessionContext {
  broker: BrokerApi;
  clipboard: ClipboardPort | null;
  user: SignedInUser | null;
  workstations: Workstation[];
  workstationsUpdatedAt: number | null;
  workstationId: string | null;
  grant: SessionGrant | null;
  stream: MediaStream | null;
  input: InputSink | null;
  stats: StatsSnapshot | null;
  cursor: CursorShape | null;
  /** What the person asked for (clamped to policy on the way out). */
  quality: QualityRequest;
  /** What the host says it applies. */
  applied: QualityRequest | null;
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
  | { type: 'clipboard.local'; text: string }
  | { type: 'keyframe.request' }
  | PeerEvent;
