/**
 * The video bitrate, following what the receiver reports. Pure: the caller
 * feeds it what was sent and what came back, with times, and asks for the
 * encoder's target.
 *
 * Chromium's REMB alone proved unfit (BENCHMARKS.md, "Shaped link"): on a
 * clean link with 0 % loss, received = sent, it fell 3.6 Mbit/s → 110 kbit/s
 * in six seconds on a busy 2-core host, abs-send-time or not, and then grew a
 * few kbit/s a second because it never exceeds 1.5x what it receives. So the
 * host decides, from its receiver reports (RFC 3550), what GCC's sender side
 * decides from: loss, and queueing delay, here the round trip measured from
 * our sender reports (LSR/DLSR) over its minimum of the last BASE_RTT_WINDOW_MS.
 *
 * - **Before any report** the stream runs at its start rate under the ceiling.
 * - **Congestion** (loss over LOSS_HIGH, or queueing over QUEUE_HIGH_MS): the
 *   target drops to CONGESTED_SHARE of what got through (sent x (1 - loss)),
 *   at most every MIN_DECREASE_INTERVAL_MS; the rate there is remembered.
 * - **Clear** (loss under LOSS_LOW and queueing under QUEUE_LOW_MS), on each
 *   report: the target rises by FAST_INCREASE, or SLOW_INCREASE while what is
 *   sent is near the rate where congestion was last seen (within
 *   RECENT_CONGESTION_MS), unless the
 *   encoder spends under half its target (a still screen: an unused
 *   allowance is no evidence the path can carry it).
 * - **In between** it holds.
 * - **REMB** still counts, as a second opinion: under what we send it cuts
 *   the target, but only while our own reports corroborate it (congestion in
 *   the last CORROBORATION_MS), or while we have no round trip to judge by
 *   (no sender report reached the receiver). It never raises the target.
 * - **When reports stop** nothing is raised: increases happen only as a
 *   report arrives, so silence is not permission.
 */

/** Never below this: under it no desktop is readable. */
export const MIN_BITRATE_KBPS = 300;
/** The sent rate is measured over this window. */
export const SEND_WINDOW_MS = 1_000;
export const LOSS_HIGH = 0.1;
/** Loss this heavy is a full queue: what got through is the path's capacity, and the target drops straight to it. */
export const LOSS_SEVERE = 0.2;
export const LOSS_LOW = 0.02;
/** Loss is judged over at least this many packets (libwebrtc's kLimitNumPackets): RTCP's fraction over a handful is noise. */
export const MIN_LOSS_PACKETS = 20;
/**
 * Queueing above this is congestion. It sits above what a busy host adds by
 * itself: the report waits for the agent's event loop before it is timed
 * (5–30 ms measured on 2 saturated cores), and a keyframe's burst queues
 * behind itself for one report; the smaller of the last two round trips is
 * used, so one late report is not taken for a queue.
 */
export const QUEUE_HIGH_MS = 40;
/** Under this the path is clear. At 15 ms, a host at load 11 held half its reports on event-loop lag alone. */
export const QUEUE_LOW_MS = 25;
/** The round trip's floor is its minimum over this window (a route change moves it). */
export const BASE_RTT_WINDOW_MS = 30_000;
/** On congestion, the target becomes this share of what got through (GCC's beta). */
export const CONGESTED_SHARE = 0.85;
/** Per clear report (about one a second): far from, and near, the rate where congestion was last seen. */
export const FAST_INCREASE = 1.25;
export const SLOW_INCREASE = 1.05;
/** "Near" the last congestion: sending between these shares of its rate, and this recently. */
const NEAR_BELOW = 0.75;
const NEAR_ABOVE = 1.15;
export const RECENT_CONGESTION_MS = 30_000;
/**
 * A REMB under what we send is acted on if our own reports said "congested"
 * this recently: it arrives more often than receiver reports, so it speeds
 * the follow-up cuts. Corroborated by mere jitter (queueing between the
 * clear and congested levels) it took a 5 Mbit/s stream to 866 kbit/s in
 * two seconds on the shaped link.
 */
export const CORROBORATION_MS = 1_000;
/** On a corroborated REMB, the sent rate is brought to this share of it. */
export const REMB_HEADROOM = 0.95;
/** A REMB under this share of what we send is the receiver saying "overuse". */
const OVERUSE_SHARE = 0.97;
const MAX_STEP_DOWN = 0.5;
const MIN_DECREASE_INTERVAL_MS = 300;
/** Increases at most this often, however often reports come (Chromium sends one with each changed REMB too). */
const MIN_INCREASE_INTERVAL_MS = 800;
/** The encoder is "using" its target when it sends at least this share of it. */
const APP_LIMITED_SHARE = 0.5;
const MIN_CHANGE = 0.03;
/** Round trips over this are not believed (a stale LSR, a clock step). */
const MAX_RTT_MS = 10_000;
/** Seconds from 1900 (NTP's epoch) to 1970. */
const NTP_EPOCH_OFFSET_S = 2_208_988_800;

export type BitrateReason = 'start' | 'clear' | 'hold' | 'loss' | 'delay' | 'remb' | 'ceiling';

export interface BitrateState {
  /** What the encoder is told now, kbps. */
  targetKbps: number;
  /** What was sent over the last SEND_WINDOW_MS, kbps (undefined before a full window). */
  sentKbps: number | undefined;
  /** The latest REMB, kbps, or undefined before the first. */
  rembKbps: number | undefined;
  /** REMBs under what we sent that our own reports did not corroborate, so were not acted on. */
  rembOverruled: number;
  /** Loss over the latest judged window of packets, 0..1. */
  lossFraction: number;
  /** The latest round trip from a receiver report, ms, and how far (the smaller of the last two) is above its floor. */
  rttMs: number | undefined;
  queueingMs: number | undefined;
  /** Why the target is what it is. */
  reason: BitrateReason;
}

/** The middle 32 bits of the NTP time of `wallMs` (ms since 1970), as LSR carries them. */
export function ntpMiddle32(wallMs: number): number {
  const seconds = wallMs / 1000 + NTP_EPOCH_OFFSET_S;
  return Math.floor(seconds * 65_536) % 2 ** 32;
}

interface LossCounter {
  highestSequence: number;
  cumulativeLost: number;
}

export interface ReportInput {
  ssrc: number;
  highestSequence: number;
  cumulativeLost: number;
  /** LSR and DLSR (RFC 3550 §6.4.1); LSR 0 means no sender report reached the receiver yet. */
  lastSr?: number;
  delaySinceLastSr?: number;
}

export class BitrateController {
  private ceiling: number;
  private target: number;
  private remb: number | undefined;
  private rembOverruled = 0;
  private loss = 0;
  private lastDecreaseAt = -Infinity;
  private lastIncreaseAt = -Infinity;
  private congestedAt = -Infinity;
  private congestion: { at: number; kbps: number } | undefined;
  private reported = false;
  private reason: BitrateReason = 'start';
  private readonly sent: { at: number; bytes: number }[] = [];
  private firstSentAt: number | undefined;
  private readonly lossBase = new Map<number, LossCounter>();
  private readonly rtts: { at: number; ms: number }[] = [];

  /**
   * `startKbps` is used until the first report; `ceilingKbps` is the
   * client's (or the policy's) cap; `wallClock` is the clock of our sender
   * reports' NTP time (libdatachannel's: the system clock).
   */
  constructor(
    startKbps: number,
    ceilingKbps: number,
    private readonly wallClock: () => number = Date.now,
  ) {
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
    const next = !this.reported && startKbps !== undefined ? startKbps : Math.min(this.target, this.ceiling);
    return this.apply(next, this.reported ? 'ceiling' : 'start', now);
  }

  /** A REMB arrived; returns the new target when it changed enough to pass on. */
  onRemb(bitrateBps: number, now: number): number | undefined {
    if (!Number.isFinite(bitrateBps) || bitrateBps <= 0) return undefined;
    this.remb = bitrateBps / 1000;
    const sent = this.sentKbps(now);
    // Without a measured send rate (the first second) the estimate can only cap the target.
    if (sent === undefined || sent <= 0) return this.remb * REMB_HEADROOM < this.target && this.rtts.length === 0 ? this.apply(this.remb * REMB_HEADROOM, 'remb', now) : undefined;
    if (this.remb >= sent * OVERUSE_SHARE) return undefined;
    const corroborated = this.rtts.length === 0 || now - this.congestedAt <= CORROBORATION_MS;
    if (!corroborated) {
      this.rembOverruled++;
      return undefined;
    }
    if (now - this.lastDecreaseAt < MIN_DECREASE_INTERVAL_MS) return undefined;
    return this.apply(this.target * Math.max(MAX_STEP_DOWN, (REMB_HEADROOM * this.remb) / sent), 'remb', now);
  }

  /**
   * A receiver report block about our stream: its round trip, and its loss
   * once at least MIN_LOSS_PACKETS packets have been expected since the last
   * judgement. Returns the new target when it changed enough to pass on.
   */
  onReport(block: ReportInput, now: number): number | undefined {
    this.reported = true;
    this.addRtt(block, now);
    // Loss counts only when judged on this report, so one lossy window is not acted on twice.
    const loss = this.judgeLoss(block) ? this.loss : undefined;
    const queue = this.queueing(now);
    if (loss === undefined && queue === undefined) return undefined;
    const sent = this.sentKbps(now);
    const lossy = loss !== undefined && loss > LOSS_HIGH;
    const congested = lossy || (queue !== undefined && queue.recent > QUEUE_HIGH_MS);
    // Clear needs both kinds of evidence, and the latest round trip clear too (one late report holds, it does not cut).
    const clear = loss !== undefined && loss < LOSS_LOW && (queue === undefined || queue.latest < QUEUE_LOW_MS);
    if (congested) {
      this.congestedAt = now;
      if (now - this.lastDecreaseAt < MIN_DECREASE_INTERVAL_MS) return undefined;
      const lost = loss ?? 0;
      const through = (sent ?? this.target) * (1 - lost);
      this.congestion = { at: now, kbps: through };
      const share = lost > LOSS_SEVERE ? REMB_HEADROOM : CONGESTED_SHARE;
      const next = Math.min(this.target * (1 - 0.5 * lost), through * share);
      return this.apply(Math.max(next, this.target * MAX_STEP_DOWN), lossy ? 'loss' : 'delay', now);
    }
    if (!clear) {
      this.reason = 'hold';
      return undefined;
    }
    // A still screen leaves its allowance unused: that is no evidence the path can carry more.
    if (sent === undefined || sent < this.target * APP_LIMITED_SHARE || now - this.lastIncreaseAt < MIN_INCREASE_INTERVAL_MS) return undefined;
    // Near: sending within [0.75, 1.15] x the rate where congestion was last seen, and recently.
    const near =
      this.congestion !== undefined &&
      now - this.congestion.at < RECENT_CONGESTION_MS &&
      sent >= this.congestion.kbps * NEAR_BELOW &&
      sent <= this.congestion.kbps * NEAR_ABOVE;
    return this.apply(this.target * (near ? SLOW_INCREASE : FAST_INCREASE), 'clear', now);
  }

  state(now = performance.now()): BitrateState {
    return {
      targetKbps: this.target,
      sentKbps: this.sentKbps(now),
      rembKbps: this.remb,
      rembOverruled: this.rembOverruled,
      lossFraction: this.loss,
      rttMs: this.rtts.at(-1)?.ms,
      queueingMs: this.queueing(now)?.recent,
      reason: this.reason,
    };
  }

  private addRtt(block: ReportInput, now: number): void {
    if (!block.lastSr || block.delaySinceLastSr === undefined) return;
    const units = (ntpMiddle32(this.wallClock()) - block.lastSr - block.delaySinceLastSr + 2 ** 32) % 2 ** 32;
    const ms = (units / 65_536) * 1000;
    if (ms > MAX_RTT_MS) return;
    this.rtts.push({ at: now, ms });
    while (this.rtts.length > 2 && this.rtts[0]!.at < now - BASE_RTT_WINDOW_MS) this.rtts.shift();
  }

  /**
   * How far the round trip is above the window's floor: `recent` from the
   * smaller of the last two (what congestion is judged on), `latest` from
   * the last alone. Undefined before a round trip.
   */
  private queueing(now: number): { recent: number; latest: number } | undefined {
    if (this.rtts.length === 0) return undefined;
    let floor = Infinity;
    for (const r of this.rtts) if (r.at >= now - BASE_RTT_WINDOW_MS) floor = Math.min(floor, r.ms);
    const last = this.rtts.at(-1)!.ms;
    if (floor === Infinity) floor = last;
    const recent = Math.min(...this.rtts.slice(-2).map((r) => r.ms));
    return { recent: Math.max(0, recent - floor), latest: Math.max(0, last - floor) };
  }

  /** Updates the loss fraction when enough packets have been expected; whether it did. */
  private judgeLoss(block: ReportInput): boolean {
    const base = this.lossBase.get(block.ssrc);
    const reset = () => this.lossBase.set(block.ssrc, { highestSequence: block.highestSequence, cumulativeLost: block.cumulativeLost });
    if (!base) {
      reset();
      return false;
    }
    const expected = block.highestSequence - base.highestSequence;
    if (expected < 0 || expected > 1 << 20) {
      // A restarted stream or a wrapped counter: start counting again.
      reset();
      return false;
    }
    if (expected < MIN_LOSS_PACKETS) return false;
    const lost = block.cumulativeLost - base.cumulativeLost;
    reset();
    this.loss = clamp(lost / expected, 0, 1);
    return true;
  }

  private sentKbps(now: number): number | undefined {
    if (this.firstSentAt === undefined || now - this.firstSentAt < SEND_WINDOW_MS) return undefined;
    let bytes = 0;
    for (const s of this.sent) if (s.at > now - SEND_WINDOW_MS) bytes += s.bytes;
    return (bytes * 8) / SEND_WINDOW_MS;
  }

  private apply(next: number, reason: BitrateReason, now: number): number | undefined {
    next = Math.round(clamp(next, MIN_BITRATE_KBPS, this.ceiling));
    if (next >= this.ceiling) reason = 'ceiling';
    const change = Math.abs(next - this.target) / this.target;
    this.reason = reason;
    if (next === this.target || (change < MIN_CHANGE && next !== this.ceiling && next !== MIN_BITRATE_KBPS)) return undefined;
    if (next < this.target) this.lastDecreaseAt = now;
    else this.lastIncreaseAt = now;
    this.target = next;
    return next;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
