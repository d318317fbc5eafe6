import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRtcp } from '../../src/host/transport/rtcp.js';

/** Builds one RTCP packet: header (V=2, count/FMT, PT, length) and a body padded to 32-bit words. */
function packet(type: number, count: number, body: number[]): number[] {
  const padded = [...body];
  while (padded.length % 4) padded.push(0);
  const words = padded.length / 4;
  return [0x80 | count, type, (words >> 8) & 0xff, words & 0xff, ...padded];
}
const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const u16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];

describe('parseRtcp', () => {
  it('reads a receiver report block: fraction lost, signed cumulative loss, jitter, and when our last SR arrived', () => {
    const block = [...u32(0xabcd), 64, 0xff, 0xff, 0xfe, ...u32(70_000), ...u32(321), ...u32(0x8765_4321), ...u32(0x0001_8000)];
    const parsed = parseRtcp(Uint8Array.from(packet(201, 1, [...u32(1), ...block])));
    expect(parsed.error).toBeUndefined();
    expect(parsed.feedback).toEqual([{ kind: 'report', blocks: [{ ssrc: 0xabcd, fractionLost: 0.25, cumulativeLost: -2, highestSequence: 70_000, jitter: 321, lastSr: 0x8765_4321, delaySinceLastSr: 0x0001_8000 }] }]);
  });

  it('reads PLI, FIR and NACK, and counts the lost packets a NACK bitmask names', () => {
    const pli = packet(206, 1, [...u32(1), ...u32(0x1234)]);
    const fir = packet(206, 4, [...u32(1), ...u32(0), ...u32(0x1234), 7, 0, 0, 0]);
    // PID 100 lost, and the mask says 101 and 103 too.
    const nack = packet(205, 1, [...u32(1), ...u32(0x1234), ...u16(100), ...u16(0b101)]);
    const parsed = parseRtcp(Uint8Array.from([...pli, ...fir, ...nack]));
    expect(parsed.error).toBeUndefined();
    expect(parsed.feedback).toEqual([
      { kind: 'pli', mediaSsrc: 0x1234 },
      { kind: 'fir', requests: [{ ssrc: 0x1234, sequence: 7 }] },
      { kind: 'nack', mediaSsrc: 0x1234, lostPackets: 3 },
    ]);
  });

  it('decodes the REMB exponent and mantissa', () => {
    // 9,103,552 bps as Chromium sent it in the lab: mantissa 142,243 * 2^6.
    const exp = 6;
    const mantissa = 142_243;
    const remb = packet(206, 15, [...u32(1), ...u32(0), ...'REMB'.split('').map((c) => c.charCodeAt(0)), 1, (exp << 2) | (mantissa >> 16), (mantissa >> 8) & 0xff, mantissa & 0xff, ...u32(0x1234)]);
    expect(parseRtcp(Uint8Array.from(remb)).feedback).toEqual([{ kind: 'remb', bitrateBps: mantissa * 2 ** exp, ssrcs: [0x1234] }]);
  });

  it('keeps what parsed before a malformed packet and says why it stopped', () => {
    const pli = packet(206, 1, [...u32(1), ...u32(9)]);
    const overrun = [0x80, 201, 0, 50, 1, 2, 3, 4];
    const parsed = parseRtcp(Uint8Array.from([...pli, ...overrun]));
    expect(parsed.feedback).toEqual([{ kind: 'pli', mediaSsrc: 9 }]);
    expect(parsed.error).toMatch(/overruns/);
    expect(parseRtcp(Uint8Array.from([0x40, 201, 0, 0])).error).toMatch(/version 1/);
    expect(parseRtcp(Uint8Array.from(packet(201, 3, u32(1)))).error).toMatch(/3 blocks/);
  });

  it('ignores SDES, BYE and unknown feedback without error', () => {
    const sdes = packet(202, 1, [...u32(1), 1, 3, 97, 98, 99, 0]);
    const unknownAfb = packet(206, 15, [...u32(1), ...u32(0), ...u32(0x41424344), ...u32(0)]);
    expect(parseRtcp(Uint8Array.from([...sdes, ...unknownAfb]))).toEqual({ feedback: [] });
  });

  it('never throws on arbitrary bytes, and always reports packets it read', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        const parsed = parseRtcp(bytes);
        expect(Array.isArray(parsed.feedback)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});
