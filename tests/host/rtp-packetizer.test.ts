/**
 * The host's RTP packetizer: each codec's payloads reassemble, by the
 * receiving rules of their RFCs (written out here, independently of the
 * packetizer), into exactly the frame that went in; every packet fits;
 * the header and its extensions are where a receiver reads them.
 */
import { describe, expect, it } from 'vitest';
import { annexBNalUnits, av1Obus, payloads } from '../../src/host/transport/payloaders.js';
import { ABS_SEND_TIME_URI, absSendTime, RtpPacketizer } from '../../src/host/transport/rtp-packetizer.js';

const MAX = 1_100;

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    // No zero bytes: an emulation-prevented NAL never holds 00 00 0x, and the test's NALs should not either.
    out[i] = (x >>> 16) % 255 + 1;
  }
  return out;
}

function annexB(units: Uint8Array[], longStartCode = true): Uint8Array {
  const parts: number[] = [];
  for (const u of units) parts.push(...(longStartCode ? [0, 0, 0, 1] : [0, 0, 1]), ...u);
  return Uint8Array.from(parts);
}

function nal(type: number, size: number, seed: number): Uint8Array {
  const u = bytes(size, seed);
  u[0] = 0x60 | type;
  return u;
}

/** RFC 6184 receiver: single NAL units as they are, FU-A fragments joined under a rebuilt NAL header. */
function depacketizeH264(packets: Uint8Array[]): Uint8Array[] {
  const units: Uint8Array[] = [];
  let fu: number[] | undefined;
  for (const p of packets) {
    const type = p[0]! & 0x1f;
    if (type === 28) {
      const start = (p[1]! & 0x80) !== 0;
      const end = (p[1]! & 0x40) !== 0;
      if (start) fu = [(p[0]! & 0xe0) | (p[1]! & 0x1f)];
      fu!.push(...p.subarray(2));
      if (end) {
        units.push(Uint8Array.from(fu!));
        fu = undefined;
      }
    } else units.push(p);
  }
  expect(fu).toBeUndefined();
  return units;
}

function depacketizeH265(packets: Uint8Array[]): Uint8Array[] {
  const units: Uint8Array[] = [];
  let fu: number[] | undefined;
  for (const p of packets) {
    const type = (p[0]! >> 1) & 0x3f;
    if (type === 49) {
      const start = (p[2]! & 0x80) !== 0;
      const end = (p[2]! & 0x40) !== 0;
      if (start) fu = [(p[0]! & 0x81) | ((p[2]! & 0x3f) << 1), p[1]!];
      fu!.push(...p.subarray(3));
      if (end) {
        units.push(Uint8Array.from(fu!));
        fu = undefined;
      }
    } else units.push(p);
  }
  return units;
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value >>>= 7;
    if (value) b |= 0x80;
    out.push(b);
  } while (value);
  return out;
}

function obu(type: number, payload: Uint8Array, withSize = true): number[] {
  return [(type << 3) | (withSize ? 0x02 : 0), ...(withSize ? leb(payload.length) : []), ...payload];
}

/** The AV1 RTP receiver (W = 0): each element behind its length; Z/Y join fragments across packets. */
function depacketizeAv1(packets: Uint8Array[]): { obus: Uint8Array[]; newSequence: boolean[] } {
  const obus: Uint8Array[] = [];
  const newSequence: boolean[] = [];
  let partial: number[] | undefined;
  for (const p of packets) {
    const z = (p[0]! & 0x80) !== 0;
    const y = (p[0]! & 0x40) !== 0;
    expect(p[0]! & 0x30).toBe(0);
    newSequence.push((p[0]! & 0x08) !== 0);
    let at = 1;
    const elements: Uint8Array[] = [];
    while (at < p.length) {
      let len = 0;
      let shift = 0;
      for (;;) {
        const b = p[at++]!;
        len |= (b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) break;
      }
      elements.push(p.subarray(at, at + len));
      at += len;
    }
    expect(at).toBe(p.length);
    elements.forEach((e, i) => {
      const first = i === 0;
      const last = i === elements.length - 1;
      if (first && z) partial!.push(...e);
      else partial = [...e];
      if (!(last && y)) {
        obus.push(Uint8Array.from(partial!));
        partial = undefined;
      }
    });
  }
  expect(partial).toBeUndefined();
  return { obus, newSequence };
}

describe('payloaders', () => {
  it('splits Annex-B with 3- and 4-byte start codes into its NAL units', () => {
    const units = [nal(7, 12, 1), nal(8, 4, 2), nal(5, 300, 3)];
    expect(annexBNalUnits(annexB(units))).toEqual(units);
    expect(annexBNalUnits(annexB(units, false))).toEqual(units);
    expect(annexBNalUnits(new Uint8Array(0))).toEqual([]);
  });

  it('H.264 as x264 writes it: mixed start codes and trailing_zero_8bits dropped, a slice ending in cabac_zero_words kept whole', () => {
    // Its 4:4:4 IDRs: SPS and PPS behind 00 00 00 01, SEI and one slice per thread behind 00 00 01.
    // A NAL unit never ends in 0x00 (H.264 7.4.2.10: after cabac_zero_words a final 0x03 is appended),
    // so zero bytes before a start code are the byte stream's, not the unit's.
    const slice = Uint8Array.from([...nal(5, 40, 6), 0x80, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03]);
    const units = [nal(7, 12, 1), nal(8, 4, 2), nal(6, 30, 3), nal(5, 200, 4), slice, nal(5, 60, 5)];
    const au = Uint8Array.from([0, 0, 0, 1, ...units[0]!, 0, 0, 0, 1, ...units[1]!, 0, 0, 1, ...units[2]!, 0, 0, 1, ...units[3]!, 0, 0, 0, 0, 1, ...slice, 0, 0, 1, ...units[5]!]);
    expect(annexBNalUnits(au)).toEqual(units);
    expect(depacketizeH264(payloads('H264', au, 100).map((p) => p.bytes))).toEqual(units);
  });

  it('H.264: an IDR access unit reassembles exactly, parameter sets alone, the slice in FU-A fragments that fit', () => {
    const units = [nal(7, 14, 1), nal(8, 4, 2), nal(5, 5_000, 3), nal(5, MAX, 4), nal(5, MAX + 1, 5)];
    const out = payloads('H264', annexB(units), MAX);
    for (const p of out) expect(p.bytes.length).toBeLessThanOrEqual(MAX);
    expect(out.filter((p) => p.frameEnd)).toHaveLength(1);
    expect(out.at(-1)!.frameEnd).toBe(true);
    // SPS and PPS each travel alone, first: one lost parameter set costs one packet, which NACK repairs.
    expect(out[0]!.bytes).toEqual(units[0]);
    expect(out[1]!.bytes).toEqual(units[1]);
    expect(depacketizeH264(out.map((p) => p.bytes))).toEqual(units);
    // 5,000 bytes of slice (minus its header) in 1,098-byte fragments: 5; a unit of exactly MAX is not fragmented.
    expect(out.filter((p) => (p.bytes[0]! & 0x1f) === 28)).toHaveLength(5 + 2);
  });

  it('H.265: two-byte NAL headers survive fragmentation', () => {
    const vps = Uint8Array.from([0x40, 0x01, ...bytes(20, 1)]);
    const idr = Uint8Array.from([0x26, 0x01, ...bytes(4_000, 2)]);
    const out = payloads('H265', annexB([vps, idr]), MAX);
    for (const p of out) expect(p.bytes.length).toBeLessThanOrEqual(MAX);
    expect(depacketizeH265(out.map((p) => p.bytes))).toEqual([vps, idr]);
  });

  it('AV1: drops the temporal delimiter, strips size fields, and reassembles OBUs split across packets; N on a keyframe', () => {
    const seq = bytes(11, 1);
    const frame = bytes(3_500, 2);
    const small = bytes(40, 3);
    const tu = Uint8Array.from([...obu(2, new Uint8Array(0)), ...obu(1, seq), ...obu(6, frame), ...obu(6, small)]);
    const out = payloads('AV1', tu, MAX);
    for (const p of out) expect(p.bytes.length).toBeLessThanOrEqual(MAX);
    const { obus, newSequence } = depacketizeAv1(out.map((p) => p.bytes));
    // Each OBU as it was, minus its size field (header byte without 0x02).
    expect(obus).toEqual([Uint8Array.from(obu(1, seq, false)), Uint8Array.from(obu(6, frame, false)), Uint8Array.from(obu(6, small, false))]);
    expect(newSequence).toEqual(out.map((_, i) => i === 0));
    // A frame without a sequence header is not a new coded video sequence.
    const delta = payloads('AV1', Uint8Array.from(obu(6, bytes(500, 4))), MAX);
    expect(delta.map((p) => p.bytes[0]! & 0x08)).toEqual([0]);
  });

  it('AV1: a truncated OBU is refused with where it ran out', () => {
    const tu = Uint8Array.from(obu(6, bytes(100, 1))).subarray(0, 50);
    expect(() => av1Obus(tu)).toThrow(/overruns the 50-byte temporal unit/);
  });

  it('refuses VP8, which this transport does not send', () => {
    expect(() => payloads('VP8', new Uint8Array(10), MAX)).toThrow(/not packetized/);
  });
});

describe('RtpPacketizer', () => {
  const au = annexB([nal(7, 14, 1), nal(8, 4, 2), nal(5, 3_000, 3)]);

  it('writes RTP version 2, the payload type, one marker per frame, consecutive sequence numbers that wrap, and our SSRC', () => {
    const packetizer = new RtpPacketizer({ ssrc: 0xdeadbeef, payloadType: 102, codec: 'H264', maxPayloadBytes: MAX, firstSequence: 65_534 });
    const first = packetizer.packetize(au, 0xfffffff0, 0);
    const second = packetizer.packetize(au, 3000, 33);
    const all = [...first, ...second];
    expect(all.map((p) => p.readUInt16BE(2))).toEqual(all.map((_, i) => (65_534 + i) & 0xffff));
    for (const p of all) {
      expect(p[0]).toBe(0x80);
      expect(p[1]! & 0x7f).toBe(102);
      expect(p.readUInt32BE(8)).toBe(0xdeadbeef);
    }
    // SPS, PPS and the 3,000-byte slice in three FU-A fragments; the marker on the last.
    expect(first.map((p) => p[1]! >> 7)).toEqual([0, 0, 0, 0, 1]);
    expect(first.every((p) => p.readUInt32BE(4) === 0xfffffff0)).toBe(true);
    expect(second.every((p) => p.readUInt32BE(4) === 3000)).toBe(true);
    // Without extensions the payload starts right after the 12-byte header.
    expect(new Uint8Array(first[0]!.subarray(12))).toEqual(nal(7, 14, 1));
  });

  it('writes abs-send-time and playout-delay as one-byte extensions on every packet, the payload after them', () => {
    const packetizer = new RtpPacketizer({
      ssrc: 1,
      payloadType: 96,
      codec: 'H264',
      maxPayloadBytes: MAX,
      firstSequence: 0,
      absSendTimeId: 3,
      playoutDelay: { id: 12, minMs: 0, maxMs: 100 },
    });
    const packets = packetizer.packetize(au, 0, 1_500.25);
    for (const p of packets) {
      expect(p[0]).toBe(0x90);
      expect(p.readUInt16BE(12)).toBe(0xbede);
      expect(p.readUInt16BE(14)).toBe(2);
      // id 3, length 3: 1.50025 s in 6.18 fixed point.
      expect(p[16]).toBe(0x32);
      expect(p.readUIntBE(17, 3)).toBe(Math.floor(1.50025 * 2 ** 18));
      // id 12, length 3: minimum 0, maximum 10 (x 10 ms).
      expect(p[20]).toBe(0xc2);
      expect(p.readUIntBE(21, 3)).toBe(10);
    }
    expect(new Uint8Array(packets[0]!.subarray(24))).toEqual(nal(7, 14, 1));
  });

  it('abs-send-time wraps every 64 s', () => {
    expect(absSendTime(0)).toBe(0);
    expect(absSendTime(64_000)).toBe(0);
    expect(absSendTime(63_999.999)).toBe(0xffffff);
    expect(ABS_SEND_TIME_URI).toBe('http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time');
  });
});
