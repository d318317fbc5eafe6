/** Reading the sender's stats report: pure diffing of cumulative counters. */
import { describe, expect, it } from 'vitest';
import { readEncoderStats } from '../../src/host/encoder-stats.js';

function report(out: Record<string, unknown>): Map<string, Record<string, unknown>> {
  return new Map<string, Record<string, unknown>>([
    ['RTCCodec_1', { type: 'codec', id: 'RTCCodec_1', mimeType: 'video/VP8' }],
    ['RTCOutbound_1', { type: 'outbound-rtp', kind: 'video', codecId: 'RTCCodec_1', frameWidth: 1920, frameHeight: 1080, qualityLimitationReason: 'cpu', keyFramesEncoded: 2, ...out }],
    ['RTCTransport', { type: 'transport', bytesSent: 1 }],
  ]);
}

describe('readEncoderStats', () => {
  it('gives per-frame encode time, pacer delay, rate and bitrate over the interval', () => {
    const first = readEncoderStats(report({ framesEncoded: 30, totalEncodeTime: 0.6, packetsSent: 300, totalPacketSendDelay: 0.3, bytesSent: 375_000 }), undefined, 1_000)!;
    expect(first.stats).toMatchObject({ codec: 'VP8', width: 1920, height: 1080, fps: 0, kbps: 0, encodeMs: 20, packetSendDelayMs: 1, qualityLimitationReason: 'cpu', keyFramesEncoded: 2 });
    const second = readEncoderStats(report({ framesEncoded: 90, totalEncodeTime: 2.4, packetsSent: 900, totalPacketSendDelay: 0.9, bytesSent: 1_125_000 }), first.counters, 3_000)!;
    expect(second.stats).toMatchObject({ fps: 30, encodeMs: 30, packetSendDelayMs: 1, kbps: 3_000 });
  });

  it('is undefined without a video sender, and leaves out what it cannot compute', () => {
    expect(readEncoderStats(new Map([['x', { type: 'transport' }]]), undefined, 0)).toBeUndefined();
    const bare = readEncoderStats(new Map([['o', { type: 'outbound-rtp', kind: 'video' }]]), undefined, 0)!;
    expect(bare.stats).toMatchObject({ codec: undefined, fps: 0, encodeMs: undefined, packetSendDelayMs: undefined });
  });
});
