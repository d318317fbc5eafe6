/**
 * The video bitrate, following what the receiver reports. Pure: the
 * caller feeds it reports with their arrival time and asks for the target.
 *
 * - **Before any REMB** the stream runs at its start rate (the session's
 *   default by size and frame rate, under the ceiling): Chromium sends its
 *   first REMB about 5 s after media starts (measured), and starting low
 *   would make every session begin blurred.
 * - **REMB** (Chromium's receive-side delay-based estimate) sets the
 *   target to REMB_HEADROOM of the estimate. Chromium's estimator caps its
 *   estimate at ~1.5x what it receives while the path is clear and drops
 *   it to ~0.85x on overuse, so following it both ramps up and backs off.
 * - **Loss** from receiver reports (RFC 3550 fraction lost) backs off as
 *   the loss-based half of GCC does: above LOSS_HIGH the target drops by
 *   half the loss fraction; below LOSS_LOW nothing is held back.
 * - **When REMB stops** (REMB_STALE_MS without one) the target stays where
 *   it was and no longer rises: silence is not permission.
 *
 * Changes smaller than MIN_CHANGE, or sooner than MIN_INTERVAL_MS after the
 * previous one, are not passed on, except decreases (congestion is acted
 * on at once).
 */

/** Share of the receiver's estimate we aim at, leaving room for audio, RTCP and retransmissions. */
export const REMB_HEADROOM = 0.9;
export const LOSS_HIGH = 0.1;
export const LOSS_LOW = 0.02;
/** A REMB older than this no longer allows increases. */
export const REMB_STALE_MS = 3_000;
/** Never below this: under it no desktop is readable. */
export const MIN_BITRATE_KBPS = 300;
const MIN_CHANGE = 0.05;
const MIN_INTERVAL_MS = 250;

export interface BitrateState {
  /** What the encoder is told now, kbps. */
  targetKbps: number;
  /** The latest REMB, kbps, or undefined before the first. */
  rembKbps: number | undefined;
  /** Latest fraction lost reported, 0..1. */
  lossFraction: number;
  /** Why the target is what it is: 'start', 'remb', 'loss', 'ceiling'. */
  reason: 'start' | 'remb' | 'loss' | 'ceiling';
}

export class BitrateController {
  private ceiling: number;
  private target: number;
  private remb: number | undefined;
  private rembAt = -Infinity;
  private loss = 0;
  private lastChangeAt = -Infinity;
  private reason: BitrateState['reason'] = 'start';

  /** `startKbps` is used until the first REMB; `ceilingKbps` is the policy's (or the client's) cap. */
  constructor(startKbps: number, ceilingKbps: number) {
    this.ceiling = Math.max(MIN_BITRATE_KBPS, ceilingKbps);
    this.target = clamp(startKbps, MIN_BITRATE_KBPS, this.ceiling);
  }

  /** A new ceiling (the client asked for a different maximum): the target follows at once if it was above it. */
  setCeiling(kbps: number, startKbps: number | undefined, now: number): number | undefined {
    this.ceiling = Math.max(MIN_BITRATE_KBPS, kbps);
    const next = this.remb === undefined && startKbps !== undefined ? clamp(startKbps, MIN_BITRATE_KBPS, this.ceiling) : Math.min(this.target, this.ceiling);
    return this.apply(next, this.remb === undefined ? 'start' : 'ceiling', now, true);
  }

  /** A REMB arrived; returns the new target when it changed enough to pass on. */
  onRemb(bitrateBps: number, now: number): number | undefined {
    if (!Number.isFinite(bitrateBps) || bitrateBps <= 0) return undefined;
    this.remb = bitrateBps / 1000;
    this.rembAt = now;
    return this.update(now);
  }

  /** A receiver report's fraction lost for our stream. */
  onLoss(fractionLost: number, now: number): number | undefined {
    if (!Number.isFinite(fractionLost) || fractionLost < 0 || fractionLost > 1) return undefined;
    this.loss = fractionLost;
    return this.update(now);
  }

  state(): BitrateState {
    return { targetKbps: this.target, rembKbps: this.remb, lossFraction: this.loss, reason: this.reason };
  }

  private update(now: number): number | undefined {
    let next = this.target;
    let reason = this.reason;
    const fresh = now - this.rembAt <= REMB_STALE_MS;
    if (this.remb !== undefined) {
      const byRemb = this.remb * REMB_HEADROOM;
      // A stale estimate may still lower the target, never raise it.
      if (fresh || byRemb < next) {
        next = byRemb;
        reason = 'remb';
      }
    }
    if (this.loss > LOSS_HIGH) {
      next = Math.min(next, this.target * (1 - 0.5 * this.loss));
      reason = 'loss';
    } else if (this.loss > LOSS_LOW && next > this.target) {
      // Moderate loss: hold, do not grow.
      next = this.target;
    }
    if (next >= this.ceiling) reason = 'ceiling';
    return this.apply(next, reason, now, false);
  }

  private apply(next: number, reason: BitrateState['reason'], now: number, force: boolean): number | undefined {
    next = Math.round(clamp(next, MIN_BITRATE_KBPS, this.ceiling));
    const change = Math.abs(next - this.target) / this.target;
    const decrease = next < this.target;
    if (!force && (change < MIN_CHANGE || (!decrease && now - this.lastChangeAt < MIN_INTERVAL_MS))) return undefined;
    if (next === this.target) {
      this.reason = reason;
      return undefined;
    }
    this.target = next;
    this.reason = reason;
    this.lastChangeAt = now;
    return next;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
