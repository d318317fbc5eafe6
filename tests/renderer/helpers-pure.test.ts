/** The machine's pure helpers: backoff, stats, codec order, pen and wheel encoding, quality and clipboard rules. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_POLICY } from '../../src/shared/policy.js';
import { PenFlag } from '../../src/shared/input.js';
import { penFlags, penMessage, WheelAccumulator } from '../../src/renderer/session/input-capture.js';
import { orderCodecs } from '../../src/renderer/session/media.js';
import { backoffDelay, isDeliberateEnd, isRetryable, reconnectExpired, RECONNECT } from '../../src/renderer/session/policy.js';
import { clampQuality, clipboardAllowed, clipboardFits } from '../../src/renderer/session/quality.js';
import { computeStats, readRawStats } from '../../src/renderer/session/stats.js';
import { isBacklogged, lowerFps } from '../../src/renderer/session/backlog.js';

describe('backoff', () => {
  it('doubles from the initial delay up to the cap, and never waits past the give-up deadline', () => {
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, 0, 0))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    expect(backoffDelay(3, RECONNECT.giveUpAfterMs - 500, 0)).toBe(500);
    expect(backoffDelay(3, RECONNECT.giveUpAfterMs + 500, 0)).toBe(0);
    expect(reconnectExpired(RECONNECT.giveUpAfterMs - 1, 0)).toBe(false);
    expect(reconnectExpired(RECONNECT.giveUpAfterMs, 0)).toBe(true);
    expect(reconnectExpired(1e12, null)).toBe(false);
  });
  it('retries only what can get better by waiting', () => {
    expect(isRetryable('ERR_WORKSTATION_OFFLINE')).toBe(true);
    expect(isRetryable('ERR_FORBIDDEN')).toBe(false);
    expect(isRetryable('ERR_UNAUTHORIZED')).toBe(false);
    expect(isDeliberateEnd('replaced by a new connection')).toBe(true);
    expect(isDeliberateEnd('host ended the session: agent-stopping')).toBe(false);
  });
});

describe('stats', () => {
  const report = (t: number, frames: number, bytes: number, lost: number, received: number) =>
    new Map<string, Record<string, unknown>>([
      ['IT01V', { type: 'inbound-rtp', kind: 'video', timestamp: t, framesReceived: frames, framesDecoded: frames - 1, framesDropped: 1, bytesReceived: bytes, packetsReceived: received, packetsLost: lost, jitterBufferDelay: 0.3, jitterBufferEmittedCount: 30, totalDecodeTime: frames * 0.002, frameWidth: 1280, frameHeight: 720, codecId: 'C1', freezeCount: 0, totalFreezesDuration: 0 }],
      ['C1', { type: 'codec', mimeType: 'video/VP9' }],
      ['T1', { type: 'transport', selectedCandidatePairId: 'CP1' }],
      ['CP1', { type: 'candidate-pair', currentRoundTripTime: 0.0042 }],
    ]);
  it('computes rates over the interval and averages from the counters', () => {
    const a = readRawStats(report(1000, 30, 100_000, 0, 100))!;
    const b = readRawStats(report(2000, 90, 350_000, 2, 198))!;
    const s = computeStats(a, b, 42);
    expect(s).toMatchObject({ at: 42, rttMs: 4.2, fpsReceived: 60, fpsDecoded: 60, width: 1280, height: 720, codec: 'VP9', bitrateKbps: 2000, packetsLost: 2, jitterBufferMs: 10, decodeMs: 2, framesDropped: 1 });
    expect(s.packetLossPct).toBe(2);
  });
  it('gives zero rates on the first sample and null when there is no video yet', () => {
    expect(computeStats(null, readRawStats(report(1000, 30, 1, 0, 1))!, 0).fpsReceived).toBe(0);
    expect(readRawStats(new Map())).toBeNull();
  });
});

describe('codec order', () => {
  const caps = ['video/VP8', 'video/rtx', 'video/VP9', 'video/H264', 'video/AV1', 'video/red', 'video/ulpfec'].map((mimeType) => ({ mimeType, clockRate: 90000 }));
  it('puts the person’s choice first, then the policy order, leaves out what the policy forbids, keeps rtx/red/fec', () => {
    expect(orderCodecs(caps, ['VP9', 'VP8', 'AV1'], 'AV1')!.map((c) => c.mimeType)).toEqual(['video/AV1', 'video/VP9', 'video/VP8', 'video/rtx', 'video/red', 'video/ulpfec']);
    expect(orderCodecs(caps, ['VP9', 'VP8'], 'H264')!.map((c) => c.mimeType).slice(0, 2)).toEqual(['video/VP9', 'video/VP8']);
  });
  it('leaves the browser default when nothing would remain', () => {
    expect(orderCodecs(caps.slice(0, 2), ['AV1'], null)).toBeNull();
  });
});

describe('pen', () => {
  const pen = { pressure: 0.5, tiltX: 30, tiltY: -15, twist: 370, button: -1, buttons: 1 };
  it('encodes pressure, tilt, twist and contact', () => {
    expect(penMessage(pen, 'pointermove', { x: 1, y: 2 })).toEqual({ op: 'pen', x: 1, y: 2, pressure: 32768, tiltX: 30, tiltY: -15, twist: 10, flags: PenFlag.InRange | PenFlag.Contact });
  });
  it('hovers with zero pressure, and knows the eraser and barrel buttons', () => {
    expect(penMessage({ ...pen, buttons: 0 }, 'pointermove', { x: 0, y: 0 }).pressure).toBe(0);
    expect(penFlags({ ...pen, buttons: 32 }, 'pointermove')).toBe(PenFlag.InRange | PenFlag.Contact | PenFlag.Eraser);
    expect(penFlags({ ...pen, button: 5, buttons: 0 }, 'pointerup')).toBe(PenFlag.InRange | PenFlag.Eraser);
    expect(penFlags({ ...pen, buttons: 3 }, 'pointermove')).toBe(PenFlag.InRange | PenFlag.Contact | PenFlag.Barrel);
    expect(penFlags({ ...pen, buttons: 1 }, 'pointerup') & PenFlag.Contact).toBe(0);
  });
});

describe('wheel', () => {
  it('keeps fine deltas instead of rounding them away', () => {
    const w = new WheelAccumulator();
    const out = [w.add(0, 0.4, 0), w.add(0, 0.4, 0), w.add(0, 0.4, 0)];
    expect(out[0]).toBeNull();
    expect(out.filter(Boolean)).toEqual([{ dx: 0, dy: 1 }]);
    expect(w.add(0, 100, 0)).toEqual({ dx: 0, dy: 120 });
    expect(new WheelAccumulator().add(0, -3, 1)).toEqual({ dx: 0, dy: -120 });
  });
});

describe('quality and clipboard policy', () => {
  const policy = { ...DEFAULT_SESSION_POLICY, maxWidth: 1920, maxHeight: 1080, maxFps: 30, codecs: ['VP8' as const], clipboard: 'host-to-client' as const, clipboardMaxBytes: 4 };
  it('clamps requests to the policy', () => {
    expect(clampQuality({ width: 3840, height: 2160, fps: 60, codec: 'AV1', maxBitrateKbps: 1000 }, policy)).toEqual({ width: 1920, height: 1080, fps: 30, maxBitrateKbps: 1000 });
  });
  it('applies direction and size limits in UTF-8 bytes', () => {
    expect(clipboardAllowed(policy, 'host-to-client')).toBe(true);
    expect(clipboardAllowed(policy, 'client-to-host')).toBe(false);
    expect(clipboardFits('abcd', policy)).toBe(true);
    expect(clipboardFits('abcé', policy)).toBe(false);
    expect(clipboardFits('', policy)).toBe(false);
  });
});

describe('decode backlog', () => {
  it('measures the queue over the last interval, not since the start', () => {
    const raw = readRawStats(new Map([['V', { type: 'inbound-rtp', kind: 'video', timestamp: 1000, jitterBufferDelay: 0.3, jitterBufferEmittedCount: 30 }]]))!;
    const later = { ...raw, timestamp: 2000, jitterBufferDelay: 0.3 + 60 * 0.2, jitterBufferEmittedCount: 90 };
    const s = computeStats(raw, later, 0);
    expect(s.queueMs).toBe(200);
    expect(s.jitterBufferMs).toBe(136.7);
    expect(isBacklogged(s)).toBe(true);
    expect(isBacklogged({ ...s, queueMs: 15 })).toBe(false);
    expect(computeStats(null, raw, 0).queueMs).toBeNull();
  });

  it('steps the frame rate down through the offered choices to a floor of 24', () => {
    expect([lowerFps(120), lowerFps(60), lowerFps(30), lowerFps(24), lowerFps(20)]).toEqual([60, 30, 24, null, null]);
    expect(lowerFps(45)).toBe(30);
  });
});
