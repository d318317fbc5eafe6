/**
 * Limits, timeouts and the reconnect schedule of the connection machine, as
 * pure functions so the unit tests can check them without a machine.
 */

/** Limits on each waiting state, in milliseconds. */
export const TIMEOUTS = {
  /** Password sign-in request. */
  signIn: 15_000,
  /** Checking a one-time code. */
  totpVerify: 15_000,
  /** How long the code form waits for the person; the broker's MFA token is short-lived anyway. */
  totpEntry: 5 * 60_000,
  /** Asking the broker for a session grant. */
  grant: 10_000,
  /** Signalling socket open and authenticated, offer answered. */
  signalling: 10_000,
  /** From the answer to ICE + DTLS connected and the first media. */
  ice: 15_000,
  /** An ICE restart on the same peer gets this long before a fresh grant and peer are tried. */
  iceRestart: 4_000,
} as const;

/**
 * Noticing that the picture stopped. The peer probes every `probeMs`: it pings
 * the host on the control channel (the host answers each `ping` with a
 * `pong`) and looks whether video frames arrived; either is a sign of life
 * (`peer.alive`). Both are needed: a still desktop sends few frames but keeps
 * answering, a busy control channel may delay pongs while frames flow. With
 * neither for `stallAfterMs` the session shows "picture stalled", so a hung
 * host or a cut network shows within stallAfterMs + probeMs = 1.5 s, where
 * ICE takes 5-7 s to call the path disconnected (issue 11).
 */
export const LIVENESS = {
  probeMs: 250,
  stallAfterMs: 1_250,
} as const;

/** The reconnect schedule after a lost connection. */
export const RECONNECT = {
  /** First wait before a fresh grant, doubled on every failed attempt... */
  initialDelayMs: 1_000,
  /** ...up to this. */
  maxDelayMs: 8_000,
  /** Give up once the connection has been lost this long. */
  giveUpAfterMs: 60_000,
} as const;

/** How often the workstation list refreshes while it is on screen. */
export const WORKSTATION_POLL_MS = 5_000;

/** The wait before reconnect attempt `attempt` (0-based): exponential, capped, never past the give-up deadline. */
export function backoffDelay(attempt: number, now: number, lostAt: number): number {
  const exp = Math.min(RECONNECT.maxDelayMs, RECONNECT.initialDelayMs * 2 ** Math.max(0, attempt));
  const remaining = lostAt + RECONNECT.giveUpAfterMs - now;
  return Math.max(0, Math.min(exp, remaining));
}

/** Whether a lost connection has been lost long enough to give up. */
export function reconnectExpired(now: number, lostAt: number | null): boolean {
  return lostAt !== null && now - lostAt >= RECONNECT.giveUpAfterMs;
}

/**
 * Broker errors worth retrying while reconnecting: the host agent may be
 * restarting (offline), and our own old session may not have been cleared
 * yet (in use). Anything else (signed out, no longer assigned) is final.
 */
const RETRYABLE = new Set<string>([
  'ERR_WORKSTATION_OFFLINE',
  'ERR_WORKSTATION_IN_USE',
  'ERR_BROKER_UNREACHABLE',
  'ERR_GRANT_EXPIRED',
  'ERR_GRANT_USED',
  'ERR_TIMEOUT',
  'ERR_PROTOCOL',
  'ERR_INTERNAL',
  'ERR_HOST_LOST',
  'ERR_RATE_LIMITED',
]);

export function isRetryable(code: string): boolean {
  return RETRYABLE.has(code);
}

/** Session-end reasons from the broker that mean "someone else decided", where reconnecting would fight them. */
export function isDeliberateEnd(reason: string): boolean {
  return /replaced|taken over|ended by|admin|broker-ended|revoked/i.test(reason);
}
