/** Reconnection delays: exponential, capped, with full jitter so a fleet of hosts does not reconnect in lockstep. */

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 10_000;

/**
 * Delay before reconnection attempt `attempt` (0 for the first retry):
 * uniformly random between half and all of min(cap, base·2^attempt).
 * Keeping the lower half avoids hammering the broker with near-zero delays.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
