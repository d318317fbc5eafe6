/** Limits and timings that more than one program must agree on. */

/** Largest HTTP JSON body the broker reads, in bytes. */
export const MAX_HTTP_BODY_BYTES = 16 * 1024;
/** Largest WebSocket message the broker accepts, in bytes (an SDP with many candidates fits easily). */
export const MAX_WS_MESSAGE_BYTES = 64 * 1024;
/** Largest SDP string relayed. */
export const MAX_SDP_CHARS = 48 * 1024;
/** A WebSocket that has not authenticated within this time is closed. */
export const WS_AUTH_TIMEOUT_MS = 5_000;
/** Signalling messages held for a peer that has not joined yet, per session and direction. */
export const MAX_PENDING_SIGNALS = 64;

/** Labels of the data channels; both ends create them as negotiated channels with these ids. */
export const DATA_CHANNELS = {
  /** Buttons, keys, wheel, control: reliable and ordered. */
  input: { label: 'input.v1', id: 100 },
  /** Pointer motion: unordered and unreliable, the latest position wins. */
  pointer: { label: 'pointer.v1', id: 101 },
  /** JSON control messages (quality, clipboard, cursor, ping): reliable and ordered. See control.ts. */
  control: { label: 'control.v1', id: 102 },
} as const;

/** Stable error codes shared by broker, host and client. */
export const ERROR_CODES = [
  'ERR_BAD_REQUEST',
  'ERR_TOO_LARGE',
  'ERR_UNAUTHORIZED',
  'ERR_BAD_CREDENTIALS',
  'ERR_MFA_REQUIRED',
  'ERR_BAD_TOTP',
  'ERR_LOCKED_OUT',
  'ERR_RATE_LIMITED',
  'ERR_ENROLMENT_CODE',
  'ERR_FORBIDDEN',
  'ERR_NOT_FOUND',
  'ERR_WORKSTATION_OFFLINE',
  'ERR_WORKSTATION_IN_USE',
  'ERR_GRANT_EXPIRED',
  'ERR_GRANT_USED',
  'ERR_SESSION_ENDED',
  'ERR_PROTOCOL',
  'ERR_INTERNAL',
  'ERR_BROKER_UNREACHABLE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
