import { describe, expect, it } from 'vitest';
import {
  BitrateController,
  CONGESTED_SHARE,
  FAST_INCREASE,
  MIN_BITRATE_KBPS,
  MIN_LOSS_PACKETS,
  ntpMiddle32,
  QUEUE_HIGH_MS,
  REMB_HEADROOM,
  SEND_WINDOW_MS,
  SLOW_INCREASE,
} from '../../src/host/transport/bitrate.js';

/** Feeds `kbps` worth of frames at 30 fps over [from, to), as the encoder stage does after each send. */
function send(c: BitrateController, kbps: number, from: number, to: number): void {
  const bytes = (kbps * 1000) / 8 / 30;
  for (let t = from; t < to; t += 1000 / 30) c.onSent(bytes, t);
}

/**
 * A controller on a fake wall clock, and receiver reports about SSRC 7 as
 * Chromium writes them: the round trip is carried by LSR (our last SR's NTP
 * time) and DLSR (how long the receiver held it).
 */
function rig(startKbps: number, ceilingKbps: number) {
  let wall = 1_796_000_000_000;
  let sequence = 1_000;
  let lost = 0;
  const c = new BitrateController(startKbps, ceilingKbps, () => wall);
  return {
    c,
    /** A report at `now` (performance clock, advanced with the wall clock) of `packets` more packets, `lostNow` of them lost, and a round trip. */
    report: (now: number, { packets = 100, lostNow = 0, rttMs }: { packets?: number; lostNow?: number; rttMs?: number } = {}): number | undefined => {
      wall = 1_796_000_000_000 + now;
      sequence += packets;
      lost += lostNow;
      const held = 0.2;
      const sr = rttMs === undefined ? {} : { lastSr: ntpMiddle32(wall - rttMs - held * 1000), delaySinceLastSr: held * 65_536 };
      return c.onReport({ ssrc: 7, highestSequence: sequence, cumulativeLost: lost, ...sr }, now);
    },
  };
}

describe('BitrateController', () => {
  it('runs at the start rate until the first report', () => {
    const c = new BitrateController(4_000, 20_000);
    send(c, 3_500, 0, 2_000);
    expect(c.state(2_000)).toMatchObject({ targetKbps: 4_000, reason: 'start', rembKbps: undefined, rttMs: undefined });
    // One frame more or less at the window's edge: within 4 %.
    expect(Math.abs(c.state(2_000).sentKbps! - 3_500) / 3_500).toBeLessThan(0.04);
  });

  it('reads the round trip from LSR and DLSR, across the 32-bit wrap of NTP time', () => {
    expect(ntpMiddle32(0)).toBe(Math.floor(2_208_988_800 * 65_536) % 2 ** 32);
    // 2^16 seconds after that, the middle 32 bits have wrapped exactly once.
    expect(ntpMiddle32(65_536_000)).toBe(ntpMiddle32(0));
    const { c, report } = rig(2_000, 20_000);
    send(c, 1_800, 0, 1_100);
    report(1_100, { rttMs: 42 });
    expect(c.state(1_100).rttMs).toBeCloseTo(42, 0);
  });

  it('climbs back from the floor to over 8 Mbit/s within 20 s of clear reports, whatever a low REMB says', () => {
    const { c, report } = rig(300, 20_000);
    let now = 0;
    for (let i = 0; i < 20; i++) {
      // The encoder spends 80 % of its target; Chromium's REMB is stuck near the floor (measured on the shaped link).
      send(c, c.state(now).targetKbps * 0.8, now, now + 1_000);
      now += 1_000;
      c.onRemb(110_000, now);
      report(now, { rttMs: 2 });
    }
    expect(c.state(now).targetKbps).toBeGreaterThan(8_000);
    expect(c.state(now).rembOverruled).toBeGreaterThan(10);
    expect(c.state(now).reason).toMatch(/clear|ceiling/);
  });

  it('rises by FAST_INCREASE per clear report, at most every 800 ms however often reports come', () => {
    const { c, report } = rig(2_000, 20_000);
    send(c, 1_900, 0, 3_000);
    // The first report is a baseline: no loss can be judged from it yet.
    expect(report(1_000, { rttMs: 5 })).toBeUndefined();
    expect(report(1_100, { rttMs: 5 })).toBe(2_000 * FAST_INCREASE);
    expect(report(1_500, { rttMs: 5 })).toBeUndefined();
    expect(report(2_000, { rttMs: 5 })).toBe(Math.round(2_000 * FAST_INCREASE * FAST_INCREASE));
  });

  it('backs off to a share of what got through when the round trip says a queue is building, but not on one late report', () => {
    const { c, report } = rig(8_000, 20_000);
    send(c, 7_000, 0, 5_000);
    report(1_000, { rttMs: 5 });
    report(2_000, { rttMs: 5 });
    // One late report (a keyframe's burst, or the agent's loop busy): the smaller of the last two is 5 ms.
    expect(report(3_000, { rttMs: 5 + QUEUE_HIGH_MS + 30 })).toBeUndefined();
    expect(c.state(3_000).reason).toBe('hold');
    // Two: a queue.
    const sent = c.state(4_000).sentKbps!;
    expect(report(4_000, { rttMs: 5 + QUEUE_HIGH_MS + 20 })).toBe(Math.round(sent * CONGESTED_SHARE));
    expect(c.state(4_000)).toMatchObject({ reason: 'delay' });
    expect(c.state(4_000).queueingMs).toBeCloseTo(QUEUE_HIGH_MS + 20, 0);
  });

  it('climbs slowly near the rate where congestion was last seen, fast again once it is long past', () => {
    const { c, report } = rig(6_000, 20_000);
    send(c, 5_900, 0, 2_000);
    report(1_000, { rttMs: 5 });
    report(2_000, { rttMs: 80 });
    const cut = report(2_010, { rttMs: 80 })!;
    expect(cut).toBeLessThan(6_000);
    send(c, cut, 2_000, 4_000);
    // The queue drains: clear again, near the congestion rate: x SLOW_INCREASE.
    expect(report(3_000, { rttMs: 5 })).toBe(Math.round(cut * SLOW_INCREASE));
    // 30 s on, the congestion is history: x FAST_INCREASE.
    const now = 42_000;
    const target = c.state(now).targetKbps;
    send(c, target, now - 2_000, now);
    expect(report(now, { rttMs: 5 })).toBe(Math.round(target * FAST_INCREASE));
  });

  it('acts on a REMB under what is sent while its own reports say congested, and overrules it otherwise', () => {
    const { c, report } = rig(8_000, 20_000);
    send(c, 6_000, 0, 6_000);
    report(1_000, { rttMs: 5 });
    report(1_500, { rttMs: 5 });
    // Clear reports: a REMB of 0.85 x what arrives is overruled.
    const target = c.state(2_000).targetKbps;
    expect(c.onRemb(5_100_000, 2_000)).toBeUndefined();
    expect(c.state(2_000)).toMatchObject({ targetKbps: target, rembOverruled: 1 });
    // Queueing of 30 ms (jitter, between the clear and congested levels): held, and the REMB still overruled.
    report(2_500, { rttMs: 35 });
    report(2_600, { rttMs: 35 });
    expect(c.state(2_600)).toMatchObject({ reason: 'hold', targetKbps: target });
    expect(c.onRemb(5_100_000, 2_700)).toBeUndefined();
    expect(c.state(2_700).rembOverruled).toBe(2);
    // A queue (two reports of it): our own report cuts, and a REMB within the next second cuts further.
    report(2_900, { rttMs: 5 + QUEUE_HIGH_MS + 20 });
    const cut = report(3_000, { rttMs: 5 + QUEUE_HIGH_MS + 20 })!;
    expect(c.state(3_000).reason).toBe('delay');
    const sent = c.state(3_400).sentKbps!;
    expect(c.onRemb(4_000_000, 3_400)).toBe(Math.round((cut * REMB_HEADROOM * 4_000) / sent));
    expect(c.state(3_400).reason).toBe('remb');
    // Two seconds on, without congestion reported since, REMB is overruled again.
    expect(c.onRemb(1_000_000, 5_000)).toBeUndefined();
  });

  it('believes REMB when it has no round trip to judge by (no sender report reached the receiver)', () => {
    const c = new BitrateController(8_000, 20_000);
    send(c, 6_000, 0, 2_000);
    c.onReport({ ssrc: 7, highestSequence: 100, cumulativeLost: 0, lastSr: 0, delaySinceLastSr: 0 }, 1_500);
    expect(c.onRemb(5_100_000, 2_000)).toBeLessThan(8_000);
  });

  it('does not raise the target while the encoder leaves it unused (a still screen)', () => {
    const { c, report } = rig(8_000, 20_000);
    send(c, 500, 0, 3_000);
    report(1_000, { rttMs: 5 });
    expect(report(2_000, { rttMs: 5 })).toBeUndefined();
    expect(report(3_000, { rttMs: 5 })).toBeUndefined();
    expect(c.state(3_000).targetKbps).toBe(8_000);
  });

  it('judges loss over enough packets only, cuts on heavy loss and holds on moderate loss', () => {
    const { c, report } = rig(10_000, 20_000);
    send(c, 9_000, 0, SEND_WINDOW_MS + 2_000);
    expect(report(1_100)).toBeUndefined();
    // 3 of 5 packets lost is no evidence: too few packets.
    expect(report(1_200, { packets: 5, lostNow: 3 })).toBeUndefined();
    // 15 of 100 lost since the base: at most half the loss, and under what got through.
    const sent = c.state(1_300).sentKbps!;
    expect(report(1_300, { packets: 95, lostNow: 12 })).toBe(Math.round(Math.min(10_000 * (1 - 0.075), sent * 0.85 * CONGESTED_SHARE)));
    expect(c.state(1_300)).toMatchObject({ reason: 'loss', lossFraction: 0.15 });
    // 5 % over the next window: held.
    const held = c.state(2_000).targetKbps;
    expect(report(2_000, { packets: MIN_LOSS_PACKETS * 5, lostNow: 5 })).toBeUndefined();
    expect(c.state(2_000)).toMatchObject({ reason: 'hold', targetKbps: held });
  });

  it('drops straight to what got through when the loss says the queue is full', () => {
    const { c, report } = rig(12_000, 20_000);
    send(c, 11_000, 0, 1_100);
    report(1_100);
    const sent = c.state(1_100).sentKbps!;
    // 60 % lost: the path carried 40 % of what was sent.
    expect(report(1_100, { packets: 1_000, lostNow: 600 })).toBe(Math.round(Math.max(sent * 0.4 * REMB_HEADROOM, 12_000 * 0.5)));
  });

  it('keeps to its floor and ceiling, and ignores nonsense', () => {
    const c = new BitrateController(50, 1_000);
    expect(c.state(0).targetKbps).toBe(MIN_BITRATE_KBPS);
    expect(c.onRemb(Number.NaN, 0)).toBeUndefined();
    expect(c.onRemb(-5, 0)).toBeUndefined();
    expect(c.onReport({ ssrc: 1, highestSequence: 10, cumulativeLost: 0 }, 0)).toBeUndefined();
    // A counter going backwards restarts the count instead of reporting nonsense.
    expect(c.onReport({ ssrc: 1, highestSequence: 2, cumulativeLost: 0 }, 10)).toBeUndefined();
    // A round trip of hours (a stale LSR) is not believed.
    c.onReport({ ssrc: 1, highestSequence: 200, cumulativeLost: 0, lastSr: ntpMiddle32(Date.now() - 3_600_000), delaySinceLastSr: 0 }, 20);
    expect(c.state(20).rttMs).toBeUndefined();
    const { c: r, report } = rig(800, 1_000);
    send(r, 800, 0, 3_000);
    report(1_000, { rttMs: 5 });
    expect(report(2_000, { rttMs: 5 })).toBe(1_000);
    expect(r.state(2_000).reason).toBe('ceiling');
  });

  it('takes a new start rate under a new ceiling while no report has come', () => {
    const c = new BitrateController(4_000, 20_000);
    expect(c.setCeiling(2_000, 3_000, 0)).toBe(2_000);
    expect(c.setCeiling(20_000, 6_000, 10)).toBe(6_000);
  });
});
