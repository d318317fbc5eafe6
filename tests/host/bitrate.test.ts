import { describe, expect, it } from 'vitest';
import { BitrateController, MIN_BITRATE_KBPS, REMB_HEADROOM, REMB_STALE_MS } from '../../src/host/transport/bitrate.js';

describe('BitrateController', () => {
  it('runs at the start rate until the first REMB, then follows it below the ceiling', () => {
    const c = new BitrateController(4_000, 20_000);
    expect(c.state()).toMatchObject({ targetKbps: 4_000, reason: 'start' });
    expect(c.onLoss(0, 1_000)).toBeUndefined();
    expect(c.onRemb(2_000_000, 5_000)).toBe(2_000 * REMB_HEADROOM);
    expect(c.onRemb(8_000_000, 5_500)).toBe(8_000 * REMB_HEADROOM);
    expect(c.onRemb(100_000_000, 6_000)).toBe(20_000);
    expect(c.state().reason).toBe('ceiling');
  });

  it('backs off on heavy loss at once and holds under moderate loss', () => {
    const c = new BitrateController(10_000, 20_000);
    c.onRemb(12_000_000, 0);
    const before = c.state().targetKbps;
    expect(c.onLoss(0.2, 100)).toBe(Math.round(before * 0.9));
    c.onLoss(0.05, 1_000);
    expect(c.onRemb(30_000_000, 1_500)).toBeUndefined();
    expect(c.state().targetKbps).toBe(Math.round(before * 0.9));
  });

  it('does not rise on a stale estimate, but still lowers', () => {
    const c = new BitrateController(5_000, 50_000);
    c.onRemb(5_000_000, 0);
    expect(c.onLoss(0, REMB_STALE_MS + 1_000)).toBeUndefined();
    expect(c.state().targetKbps).toBe(4_500);
  });

  it('rate-limits increases, never decreases, and ignores tiny changes', () => {
    const c = new BitrateController(5_000, 50_000);
    expect(c.onRemb(10_000_000, 0)).toBe(9_000);
    expect(c.onRemb(20_000_000, 100)).toBeUndefined();
    expect(c.onRemb(20_000_000, 400)).toBe(18_000);
    expect(c.onRemb(19_800_000, 450)).toBeUndefined();
    expect(c.onRemb(2_000_000, 460)).toBe(1_800);
  });

  it('keeps to its floor and ceiling, and ignores nonsense', () => {
    const c = new BitrateController(50, 1_000);
    expect(c.state().targetKbps).toBe(MIN_BITRATE_KBPS);
    expect(c.onRemb(Number.NaN, 0)).toBeUndefined();
    expect(c.onRemb(-5, 0)).toBeUndefined();
    expect(c.onLoss(2, 0)).toBeUndefined();
    expect(c.onRemb(1_000, 10)).toBeUndefined();
    expect(c.state().targetKbps).toBe(MIN_BITRATE_KBPS);
    // After a REMB the estimate rules: a higher ceiling does not lift the target by itself.
    expect(c.setCeiling(600, 800, 20)).toBeUndefined();
  });

  it('takes a new start rate under a new ceiling while no REMB has come', () => {
    const c = new BitrateController(4_000, 20_000);
    expect(c.setCeiling(2_000, 3_000, 0)).toBe(2_000);
    expect(c.setCeiling(20_000, 6_000, 10)).toBe(6_000);
  });
});
