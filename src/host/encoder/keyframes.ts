/**
 * When to force a keyframe. Requests come from the receiver (PLI, FIR),
 * from the client's `keyframe` control message, and from the host itself
 * (stream start, a quality change, a reconnect). A request is never
 * dropped, only deferred: at most one keyframe goes out per
 * MIN_KEYFRAME_INTERVAL_MS, since Chromium repeats its PLI every ~200 ms
 * until an IDR arrives (measured) and each IDR costs several frames' worth
 * of bits on a link that is probably already struggling.
 */

/** At most this many forced keyframes per second. */
export const MAX_KEYFRAMES_PER_SECOND = 3;
export const MIN_KEYFRAME_INTERVAL_MS = 1000 / MAX_KEYFRAMES_PER_SECOND;

export type KeyframeReason = 'start' | 'pli' | 'fir' | 'client' | 'quality' | 'reconnect';

export interface KeyframeStats {
  requested: Record<KeyframeReason, number>;
  /** Keyframes forced (requests arriving within the interval collapse into one). */
  forced: number;
}

export class KeyframeScheduler {
  private pending: KeyframeReason | undefined;
  private lastForcedAt = -Infinity;
  private readonly counts: KeyframeStats = { requested: { start: 0, pli: 0, fir: 0, client: 0, quality: 0, reconnect: 0 }, forced: 0 };

  /** Asks for a keyframe as soon as the rate limit allows. */
  request(reason: KeyframeReason): void {
    this.counts.requested[reason]++;
    this.pending ??= reason;
  }

  /** Called for each frame about to be encoded: whether to force it to be a keyframe, and why. */
  take(now: number): KeyframeReason | undefined {
    if (this.pending === undefined || now - this.lastForcedAt < MIN_KEYFRAME_INTERVAL_MS) return undefined;
    const reason = this.pending;
    this.pending = undefined;
    this.lastForcedAt = now;
    this.counts.forced++;
    return reason;
  }

  /** The encoder made a keyframe on its own (GOP end): it satisfies a pending request. */
  sawKeyframe(now: number): void {
    this.pending = undefined;
    this.lastForcedAt = now;
  }

  stats(): KeyframeStats {
    return { requested: { ...this.counts.requested }, forced: this.counts.forced };
  }
}
