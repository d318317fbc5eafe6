/**
 * Splits one encoded frame into RTP payloads, per codec: H.264 (RFC 6184,
 * packetization-mode 1: single NAL units and FU-A), H.265 (RFC 7798: single
 * NAL units and FUs) and AV1 (the AV1 RTP payload format: OBU elements
 * behind an aggregation header). Pure: bytes in, payloads out; the RTP
 * header around them is rtp-packetizer.ts's.
 *
 * Our own rather than libdatachannel's packetizers because those write no
 * abs-send-time, which Chromium's bandwidth estimator needs (BENCHMARKS.md,
 * "Shaped link"), and because its AV1 packetizer, given a whole temporal
 * unit, sent nothing Chromium could show.
 */
import type { VideoCodec } from '../../shared/policy.js';

export type PayloadCodec = VideoCodec | 'H265';

/** One RTP payload; `frameEnd` marks the last of the frame (the RTP marker bit). */
export interface Payload {
  bytes: Uint8Array;
  frameEnd: boolean;
}

/** Splits an Annex-B access unit (start codes 00 00 01 or 00 00 00 01) into its NAL units. */
export function annexBNalUnits(au: Uint8Array): Uint8Array[] {
  const units: Uint8Array[] = [];
  let start = -1;
  let i = 0;
  while (i + 2 < au.length) {
    if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1) {
      if (start >= 0) units.push(trimZeros(au.subarray(start, i)));
      i += 3;
      start = i;
    } else i++;
  }
  if (start >= 0 && start < au.length) units.push(au.subarray(start));
  return units.filter((u) => u.length > 0);
}

/** A 4-byte start code leaves its leading zero on the previous unit. */
function trimZeros(unit: Uint8Array): Uint8Array {
  let end = unit.length;
  while (end > 0 && unit[end - 1] === 0) end--;
  return unit.subarray(0, end);
}

/** H.264: a NAL unit that fits goes alone; a larger one in FU-A fragments. */
function h264(units: Uint8Array[], max: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const nal of units) {
    if (nal.length <= max) {
      out.push(nal);
      continue;
    }
    const indicator = (nal[0]! & 0xe0) | 28;
    const type = nal[0]! & 0x1f;
    fragments(nal.subarray(1), max - 2, (chunk, first, last) => {
      const p = new Uint8Array(2 + chunk.length);
      p[0] = indicator;
      p[1] = (first ? 0x80 : 0) | (last ? 0x40 : 0) | type;
      p.set(chunk, 2);
      out.push(p);
    });
  }
  return out;
}

/** H.265: as H.264, with a two-byte NAL header and FU type 49. */
function h265(units: Uint8Array[], max: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const nal of units) {
    if (nal.length <= max) {
      out.push(nal);
      continue;
    }
    if (nal.length < 3) continue;
    const type = (nal[0]! >> 1) & 0x3f;
    const header0 = (nal[0]! & 0x81) | (49 << 1);
    fragments(nal.subarray(2), max - 3, (chunk, first, last) => {
      const p = new Uint8Array(3 + chunk.length);
      p[0] = header0;
      p[1] = nal[1]!;
      p[2] = (first ? 0x80 : 0) | (last ? 0x40 : 0) | type;
      p.set(chunk, 3);
      out.push(p);
    });
  }
  return out;
}

function fragments(body: Uint8Array, size: number, emit: (chunk: Uint8Array, first: boolean, last: boolean) => void): void {
  for (let at = 0; at < body.length; at += size) emit(body.subarray(at, at + size), at === 0, at + size >= body.length);
}

/** AV1 OBU types (AV1 spec 6.2.2). */
const OBU_SEQUENCE_HEADER = 1;
const OBU_TEMPORAL_DELIMITER = 2;
const OBU_TILE_LIST = 8;
const OBU_PADDING = 15;

/**
 * The OBUs of a temporal unit in the low-overhead format (each with its
 * size field, as libavcodec's encoders write it), each rewritten without
 * the size field, as the payload format asks. Temporal delimiters, tile
 * lists and padding are dropped (the payload format says so). Throws on a
 * truncated OBU: the encoder's output is ours, so that is a bug to see.
 */
export function av1Obus(tu: Uint8Array): { obus: Uint8Array[]; sequenceHeader: boolean } {
  const obus: Uint8Array[] = [];
  let sequenceHeader = false;
  let at = 0;
  while (at < tu.length) {
    const header = tu[at]!;
    const type = (header >> 3) & 0x0f;
    const extension = (header & 0x04) !== 0;
    const hasSize = (header & 0x02) !== 0;
    const headerBytes = extension ? 2 : 1;
    let payloadAt = at + headerBytes;
    let size: number;
    if (hasSize) {
      const leb = readLeb128(tu, payloadAt);
      size = leb.value;
      payloadAt += leb.bytes;
    } else size = tu.length - payloadAt;
    if (payloadAt + size > tu.length) throw new Error(`AV1 OBU of ${size} bytes at byte ${at} overruns the ${tu.length}-byte temporal unit`);
    if (type !== OBU_TEMPORAL_DELIMITER && type !== OBU_TILE_LIST && type !== OBU_PADDING) {
      if (type === OBU_SEQUENCE_HEADER) sequenceHeader = true;
      const obu = new Uint8Array(headerBytes + size);
      obu[0] = header & ~0x02;
      if (extension) obu[1] = tu[at + 1]!;
      obu.set(tu.subarray(payloadAt, payloadAt + size), headerBytes);
      obus.push(obu);
    }
    at = payloadAt + size;
  }
  return { obus, sequenceHeader };
}

function readLeb128(bytes: Uint8Array, at: number): { value: number; bytes: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    if (at + i >= bytes.length) throw new Error(`truncated leb128 at byte ${at}`);
    const byte = bytes[at + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, bytes: i + 1 };
  }
  throw new Error(`leb128 longer than 8 bytes at byte ${at}`);
}

function leb128(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/**
 * AV1: OBU elements, each behind its leb128 length (W = 0), filled into
 * packets; an element that does not fit continues in the next packet (Y on
 * this one, Z on that). N marks the first packet of a new coded video
 * sequence (a temporal unit with a sequence header: a keyframe).
 */
function av1(tu: Uint8Array, max: number): Uint8Array[] {
  const { obus, sequenceHeader } = av1Obus(tu);
  const out: Uint8Array[] = [];
  let obu = 0;
  let offset = 0;
  let continues = false;
  while (obu < obus.length) {
    const parts: Uint8Array[] = [];
    let used = 1;
    const startsInside = continues;
    while (obu < obus.length && max - used > 2) {
      const element = obus[obu]!;
      const rest = element.length - offset;
      let n = Math.min(rest, max - used - 1);
      if (n > 127) n = Math.min(rest, max - used - 2);
      const length = Uint8Array.from(leb128(n));
      parts.push(length, element.subarray(offset, offset + n));
      used += length.length + n;
      offset += n;
      if (offset === element.length) {
        obu++;
        offset = 0;
        continues = false;
      } else {
        continues = true;
        break;
      }
    }
    const p = new Uint8Array(used);
    p[0] = (startsInside ? 0x80 : 0) | (continues ? 0x40 : 0) | (sequenceHeader && out.length === 0 ? 0x08 : 0);
    let at = 1;
    for (const part of parts) {
      p.set(part, at);
      at += part.length;
    }
    out.push(p);
  }
  return out;
}

/** The frame's RTP payloads, none longer than `maxPayloadBytes`. VP8 and VP9 are not sent by this transport. */
export function payloads(codec: PayloadCodec, frame: Uint8Array, maxPayloadBytes: number): Payload[] {
  let bodies: Uint8Array[];
  switch (codec) {
    case 'H264':
      bodies = h264(annexBNalUnits(frame), maxPayloadBytes);
      break;
    case 'H265':
      bodies = h265(annexBNalUnits(frame), maxPayloadBytes);
      break;
    case 'AV1':
      bodies = av1(frame, maxPayloadBytes);
      break;
    case 'VP8':
    case 'VP9':
      throw new Error(`${codec} is not packetized by this transport`);
  }
  return bodies.map((bytes, i) => ({ bytes, frameEnd: i === bodies.length - 1 }));
}
