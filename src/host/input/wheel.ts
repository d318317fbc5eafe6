/**
 * Turns wheel deltas in 1/120 of a notch into whole clicks, carrying the
 * remainder, so high-resolution wheels and touchpads scroll at the right speed.
 */

/** One notch of a classic wheel, in wire units (Windows' WHEEL_DELTA). */
export const WHEEL_UNITS_PER_CLICK = 120;
/** Clicks injected for one message at most; a forged huge delta must not flood the host. */
export const MAX_CLICKS_PER_EVENT = 16;

export class WheelAccumulator {
  private remainder = 0;

  /** Adds a delta and returns the signed number of whole clicks to inject now. */
  add(delta: number): number {
    if (!Number.isFinite(delta)) return 0;
    // A change of direction drops what was left over from the other way.
    if (Math.sign(delta) !== 0 && Math.sign(delta) !== Math.sign(this.remainder)) this.remainder = 0;
    this.remainder += delta;
    // "+ 0" turns the -0 of truncating a small negative into 0.
    const clicks = Math.trunc(this.remainder / WHEEL_UNITS_PER_CLICK) + 0;
    this.remainder -= clicks * WHEEL_UNITS_PER_CLICK;
    return Math.max(-MAX_CLICKS_PER_EVENT, Math.min(MAX_CLICKS_PER_EVENT, clicks));
  }

  reset(): void {
    this.remainder = 0;
  }
}
