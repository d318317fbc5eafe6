/**
 * The video bitrate, following what the receiver reports. Pure: the caller
 * feeds it what was sent and what came back, with times, and asks for the
 * encoder's target.
 *
 * It steers what is actually *sent*, not the encoder's target: a
 * low-latency encoder spends less than its target (x264 with a one-frame
 * VBV: 80-88 % on noise, measured) and a slow capture sends fewer frames,
 * while Chromium's REMB is bounded by what it *receives* (at most 1.5x the
 * received rate while the path is clear; 0.85x of it on overuse: libwebrtc's
 * AimdRateControl). Aiming the target at 0.9 x REMB, as a first version did,
 * ratcheted down on a clear link whenever the host sent under 74 % of its
 * target (measured on the shaped-link test). So:
 *
 * - **Before any REMB** (Chromium sends the first ~5 s after media starts)
 *   the stream runs at its start rate under the ceiling.
 * - **On REMB**, the target is scaled by how far the estimate is from what
 *   we send. Below it (overuse: Chromium says 0.85x what it receives) the
 *   target drops at once so the sent rate lands at REMB_HEADROOM x REMB (at
 *   most x MAX_STEP_DOWN a step). At or above it, the target rises so the
 *   sent rate aims REMB_PROBE above the estimate (at most x MAX_STEP_UP,
 *   every MIN_INCREASE_INTERVAL_MS): the estimator grows only when it sees
 *   more than it expected. While the encoder spends under half its target
 *   (a still screen) the target is not raised: an unused allowance is no
 *   evidence the path can carry it.
 * - **Loss** from receiver reports is measured over at least
 *   MIN_LOSS_PACKETS packets (RTCP's fraction-lost over a handful of packets
 *   is noise: 1 % random drop showed as 7-62 %); above LOSS_HIGH the target
 *   drops by half the loss fraction (the loss-based half of GCC), at most
 *   every MIN_DECREASE_INTERVAL_MS; above LOSS_SEVERE it drops to what got
 *   through; between LOSS_LOW and LOSS_HIGH it is held.
 * - **When REMB stops** nothing is raised: increases happen only as a REMB
 *   arrives, so silence is not permission.
 */

/** On overuse (REMB under what we send), the sent rate is brought to this share of the estimate. */
export const REMB_HEADROOM = 0.95;
/**
 * On a clear path (REMB at or above what we send) we aim this much above the
 * estimate. Chromium's estimator only grows fast while what it receives
 * exceeds its idea of the link's capacity; held under the estimate it grows
 * by a few kbit/s a second (measured: 2.58 -> 2.90 Mbit/s in 21 s on the
 * shaped-link test), so a sender that never goes past REMB never finds out
 * the cap was lifted.
 */
export const REMB_PROBE = 1.0;
export const LOSS_HIGH = 0.1;
/**
 * Loss this heavy is a full queue, not a noisy link: what got through is the
 * path's capacity, so the target drops straight to it (x0.95) instead of by
 * GCC's half-the-loss step, which took three receiver reports (~3 s) to come
 * down from 12 to 5 Mbit/s on the shaped-link test.
 */
export const LOSS_SEVERE = 0.2;
export const LOSS_LOW = 0.02;
/** Loss is judged over at least this many packets (libwebrtc's kLimitNumPackets). */
export const MIN_LOSS_PACKETS = 20;
/** Never below this: under it no desktop is readable. */
export const MIN_BITRATE_KBPS = 300;
/** The sent rate is measured over this window. */
export const SEND_WINDOW_MS = 1_000;
/** A REMB under this share of what we send is the receiver saying "overuse". */
const OVERUSE_SHARE = 0.97;
const MAX_STEP_UP = 1.5;
const MAX_STEP_DOWN = 0.5;
const MIN_INCREASE_INTERVAL_MS = 250;
const MIN_DECREASE_INTERVAL_MS = 300;
/** The encoder is "using" its target when it sends at least this share of it. */
const APP_LIMITED_SHARE = 0.5;
const MIN_CHANGE = 0.03;

export interface BitrateState {
  /** What the encoder is told now, kbps. */
  targetKbps: number;
  /** What was sent over the last SEND_WINDOW_MS, kbps (undefined before a full window). */
  sentKbps: number | undefined;
  /** The latest REMB, kbps, or undefined before the first. */
  rembKbps: number | undefined;
  /** Loss over the latest judged window of packets, 0..1. */
  lossFraction: number;
  /** Why the target is what it is. */
  reason: 'start' | 'remb' | 'loss' | 'ceiling';
}

interface LossCounter {
  highestSequence: number;
  cumulativeLost: number;
}

export class BitrateController {
  private ceiling: number;
  private target: number;
  private remb: number | undefined;
  private loss = 0;
  private lossHoldUntil = -Infinity;
  private lastIncreaseAt = -Infinity;
  private lastDecreaseAt = -Infinity;
  private reason: BitrateState['reason'] = 'start';
  private readonly sent: { at: number; bytes: number }[] = [];
  private firstSentAt: number | undefined;
  private readonly lossBase = new Map<number, LossCounter>();

  /** `startKbps` is used until the first REMB; `ceilingKbps` is the client's (or the policy's) cap. */
  constructor(startKbps: number, ceilingKbps: number) {
    this.ceiling = Math.max(MIN_BITRATE_KBPS, ceilingKbps);
    this.target = clamp(startKbps, MIN_BITRATE_KBPS, this.ceiling);
  }

  /** `bytes` of one frame went to the transport at `now`. */
  onSent(bytes: number, now: number): void {
    this.firstSentAt ??= now;
    this.sent.push({ at: now, bytes });
    while (this.sent.length > 0 && this.sent[0]!.at <= now - SEND_WINDOW_MS) this.sent.shift();
  }

  /** A new ceiling (the client asked for a different maximum): the target follows at once if it was above it. */
  setCeiling(kbps: number, startKbps: number | undefined, now: number): number | undefined {
    this.ceiling = Math.max(MIN_BITRATE_KBPS, kbps);
    const next = this.remb === undefined && startKbps !== undefined ? startKbps : Math.min(this.target, this.ceiling);
    return this.apply(next, this.remb === undefined ? 'start' : 'ceiling', now);
  }

  /** A REMB arrived; returns the new target when it changed enough to pass on. */
  onRemb(bitrateBps: number, now: number): number | undefined {
    if (!Number.isFinite(bitrateBps) || bitrateBps <= 0) return undefined;
    this.remb = bitrateBps / 1000;
    const sent = this.sentKbps(now);
    // Without a measured send rate (the first second) the estimate can only cap the target.
    if (sent === undefined || sent <= 0) return this.remb * REMB_HEADROOM < this.target ? this.apply(this.remb * REMB_HEADROOM, 'remb', now) : undefined;
    if (this.remb < sent * OVERUSE_SHARE) {
      if (now - this.lastDecreaseAt < MIN_DECREASE_INTERVAL_MS) return undefined;
      return this.apply(this.target * Math.max(MAX_STEP_DOWN, (REMB_HEADROOM * this.remb) / sent), 'remb', now);
    }
    const appLimited = sent < this.target * APP_LIMITED_SHARE;
    if (appLimited || now < this.lossHoldUntil || now - this.lastIncreaseAt < MIN_INCREASE_INTERVAL_MS) return undefined;
    const step = (REMB_PROBE * this.remb) / sent;
    return step > 1 ? this.apply(this.target * Math.min(MAX_STEP_UP, step), 'remb', now) : undefined;
  }

  /**
   * A receiver report block about our stream. Loss is judged once at least
   * MIN_LOSS_PACKETS packets have been expected since the last judgement.
   */
  onReport(block: { ssrc: number; highestSequence: number; cumulativeLost: number }, now: number): number | undefined {
    const base = this.lossBase.get(block.ssrc);
    if (!base) {
      this.lossBase.set(block.ssrc, { highestSequence: block.highestSequence, cumulativeLost: block.cumulativeLost });
      return undefined;
    }
    const expected = block.highestSequence - base.highestSequence;
    if (expected < 0 || expected > 1 << 20) {
      // A restarted stream or a wrapped counter: start counting again.
      this.lossBase.set(block.ssrc, { highestSequence: block.highestSequence, cumulativeLost: block.cumulativeLost });
      return undefined;
    }
    if (expected < MIN_LOSS_PACKETS) return undefined;
    const lost = block.cumulativeLost - base.cumulativeLost;
    this.lossBase.set(block.ssrc, { highestSequence: block.highestSequence, cumulativeLost: block.cumulativeLost });
    this.loss = clamp(lost / expected, 0, 1);
    if (this.loss > LOSS_HIGH) {
      if (now - this.lastDecreaseAt < MIN_DECREASE_INTERVAL_MS) return undefined;
      let next = this.target * (1 - 0.5 * this.loss);
      const sent = this.sentKbps(now);
      if (this.loss > LOSS_SEVERE && sent !== undefined) next = Math.min(next, sent * (1 - this.loss) * REMB_HEADROOM);
      return this.apply(next, 'loss', now);
    }
    // Moderate loss: hold (no increase) for a second.
    if (this.loss > LOSS_LOW) this.lossHoldUntil = now + 1_000;
    return undefined;
  }

  state(now = performance.now()): BitrateState {
    return { targetKbps: this.target, sentKbps: this.sentKbps(now), rembKbps: this.remb, lossFraction: this.loss, reason: this.reason };
  }

  private sentKbps(now: number): number | undefined {
    if (this.firstSentAt === undefined || now - this.firstSentAt < SEND_WINDOW_MS) return undefined;
    let bytes = 0;
    for (const s of this.sent) if (s.at > now - SEND_WINDOW_MS) bytes += s.bytes;
    return (bytes * 8) / SEND_WINDOW_MS;
  }

  private apply(next: number, reason: BitrateState['reason'], now: number): number | undefined {
    next = Math.round(clamp(next, MIN_BITRATE_KBPS, this.ceiling));
    if (next >= this.ceiling) reason = 'ceiling';
    const change = Math.abs(next - this.target) / this.target;
    this.reason = reason;
    if (next === this.target || (change < MIN_CHANGE && next !== this.ceiling && next !== MIN_BITRATE_KBPS)) return undefined;
    if (next > this.target) this.lastIncreaseAt = now;
    else this.lastDecreaseAt = now;
    this.target = next;
    return next;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
