import { describe, expect, it } from 'vitest';
import { BitrateController, MIN_BITRATE_KBPS, MIN_LOSS_PACKETS, REMB_HEADROOM, SEND_WINDOW_MS } from '../../src/host/transport/bitrate.js';

/** Feeds `kbps` worth of frames at 30 fps over [from, to), as the encoder stage does after each send. */
function send(c: BitrateController, kbps: number, from: number, to: number): void {
  const bytes = (kbps * 1000) / 8 / 30;
  for (let t = from; t < to; t += 1000 / 30) c.onSent(bytes, t);
}

describe('BitrateController', () => {
  it('runs at the start rate until the first REMB', () => {
    const c = new BitrateController(4_000, 20_000);
    send(c, 3_500, 0, 2_000);
    expect(c.state(2_000)).toMatchObject({ targetKbps: 4_000, reason: 'start', rembKbps: undefined });
    // One frame more or less at the window's edge: within 4 %.
    expect(Math.abs(c.state(2_000).sentKbps! - 3_500) / 3_500).toBeLessThan(0.04);
  });

  it('climbs on a clear link although the encoder spends under its target (the old ratchet)', () => {
    // The encoder sends 60 % of its target; Chromium's REMB is 1.5x what it receives.
    const c = new BitrateController(2_000, 20_000);
    let now = 0;
    for (let i = 0; i < 20; i++) {
      const target = c.state(now).targetKbps;
      send(c, target * 0.6, now, now + 500);
      now += 500;
      c.onRemb(target * 0.6 * 1.5 * 1000, now);
    }
    expect(c.state(now).targetKbps).toBeGreaterThan(8_000);
  });

  it('backs off at once when REMB falls under what is sent (overuse), so the sent rate lands under the estimate', () => {
    const c = new BitrateController(8_000, 20_000);
    send(c, 6_000, 0, 2_000);
    const sent = c.state(2_000).sentKbps!;
    // Overuse: Chromium says 0.85x of the ~6 Mbit/s it receives.
    const next = c.onRemb(5_100_000, 2_000);
    // The target scales so that the sent rate becomes 0.9 x REMB: sent x next / 8000 = 0.9 x 5100.
    expect(next).toBe(Math.round((8_000 * REMB_HEADROOM * 5_100) / sent));
    expect(next!).toBeLessThan(6_500);
  });

  it('does not raise the target while the encoder leaves it unused (a still screen)', () => {
    const c = new BitrateController(8_000, 20_000);
    send(c, 500, 0, 2_000);
    expect(c.onRemb(3_000_000, 2_000)).toBeUndefined();
    expect(c.state(2_000).targetKbps).toBe(8_000);
  });

  it('judges loss over enough packets only, cuts on heavy loss and holds on moderate loss', () => {
    const c = new BitrateController(10_000, 20_000);
    send(c, 9_000, 0, SEND_WINDOW_MS + 100);
    expect(c.onReport({ ssrc: 7, highestSequence: 1_000, cumulativeLost: 0 }, 1_100)).toBeUndefined();
    // 3 of 5 packets lost is no evidence: too few packets.
    expect(c.onReport({ ssrc: 7, highestSequence: 1_005, cumulativeLost: 3 }, 1_200)).toBeUndefined();
    // 15 of 100 lost since the base: cut by half the loss.
    expect(c.onReport({ ssrc: 7, highestSequence: 1_100, cumulativeLost: 15 }, 1_300)).toBe(9_250);
    expect(c.state(1_300)).toMatchObject({ reason: 'loss', lossFraction: 0.15 });
    // 5 % over the next window: held, the next REMB may not raise it for a second.
    expect(c.onReport({ ssrc: 7, highestSequence: 1_100 + MIN_LOSS_PACKETS * 5, cumulativeLost: 20 }, 2_000)).toBeUndefined();
    send(c, 8_000, SEND_WINDOW_MS + 100, 2_500);
    expect(c.onRemb(30_000_000, 2_500)).toBeUndefined();
  });

  it('keeps to its floor and ceiling, and ignores nonsense', () => {
    const c = new BitrateController(50, 1_000);
    expect(c.state(0).targetKbps).toBe(MIN_BITRATE_KBPS);
    expect(c.onRemb(Number.NaN, 0)).toBeUndefined();
    expect(c.onRemb(-5, 0)).toBeUndefined();
    expect(c.onReport({ ssrc: 1, highestSequence: 10, cumulativeLost: 0 }, 0)).toBeUndefined();
    // A counter going backwards restarts the count instead of reporting nonsense.
    expect(c.onReport({ ssrc: 1, highestSequence: 2, cumulativeLost: 0 }, 10)).toBeUndefined();
    // Up by at most 1.5x a step, every 250 ms, to the ceiling.
    send(c, 900, 0, 2_000);
    expect(c.onRemb(100_000_000, 2_000)).toBe(450);
    expect(c.onRemb(100_000_000, 2_100)).toBeUndefined();
    expect(c.onRemb(100_000_000, 2_300)).toBe(675);
    expect(c.onRemb(100_000_000, 2_600)).toBe(1_000);
    expect(c.state(2_600).reason).toBe('ceiling');
  });

  it('takes a new start rate under a new ceiling while no REMB has come', () => {
    const c = new BitrateController(4_000, 20_000);
    expect(c.setCeiling(2_000, 3_000, 0)).toBe(2_000);
    expect(c.setCeiling(20_000, 6_000, 10)).toBe(6_000);
  });

  it('drops straight to what got through when the loss says the queue is full', () => {
    const c = new BitrateController(12_000, 20_000);
    send(c, 11_000, 0, 1_100);
    c.onReport({ ssrc: 3, highestSequence: 100, cumulativeLost: 0 }, 1_100);
    const sent = c.state(1_100).sentKbps!;
    // 60 % lost: half-the-loss would say 12000 x 0.7 = 8400; the path carried 40 % of what was sent.
    expect(c.onReport({ ssrc: 3, highestSequence: 1_100, cumulativeLost: 600 }, 1_100)).toBe(Math.round(sent * 0.4 * REMB_HEADROOM));
  });
});
