/**
 * Parses the RTCP the receiver sends back about our video (RFC 3550
 * receiver reports, RFC 4585 NACK and PLI, RFC 5104 FIR, and REMB from
 * draft-alvestrand-rmcat-remb). libdatachannel hands every incoming RTCP
 * packet of a track to `Track.onMessage` after decrypting it; its NACK
 * responder has already resent what a NACK asked for, and the rest is ours
 * to act on: keyframes for PLI/FIR, the bitrate for REMB and loss.
 *
 * This is network input: every length is checked against the buffer, and a
 * malformed packet ends the parse with a reason instead of throwing.
 * Chromium sends reduced-size RTCP (RFC 5506, `a=rtcp-rsize`), so a feedback
 * message may arrive alone rather than behind a report.
 */

/** RTCP packet types (RFC 3550, RFC 4585). */
const PT_SR = 200;
const PT_RR = 201;
const PT_RTPFB = 205;
const PT_PSFB = 206;
/** Feedback message types. */
const FMT_NACK = 1;
const FMT_PLI = 1;
const FMT_FIR = 4;
const FMT_AFB = 15;
const REPORT_BLOCK_BYTES = 24;

/** One receiver report block about one of our streams. */
export interface ReportBlock {
  ssrc: number;
  /** Fraction of packets lost since the previous report, 0..1. */
  fractionLost: number;
  /** Packets lost since the stream began (may be negative with duplicates). */
  cumulativeLost: number;
  highestSequence: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** The middle 32 bits of the NTP time of our last sender report the receiver had (0: none yet). */
  lastSr: number;
  /** Time since the receiver got that sender report, in 1/65536 s. */
  delaySinceLastSr: number;
}

export type RtcpFeedback =
  | { kind: 'report'; blocks: ReportBlock[] }
  | { kind: 'pli'; mediaSsrc: number }
  | { kind: 'fir'; requests: { ssrc: number; sequence: number }[] }
  | { kind: 'nack'; mediaSsrc: number; lostPackets: number }
  | { kind: 'remb'; bitrateBps: number; ssrcs: number[] };

export interface RtcpParse {
  feedback: RtcpFeedback[];
  /** Why parsing stopped early; the feedback before that point is kept. */
  error?: string;
}

/** Parses a (possibly compound) RTCP packet. Never throws. */
export function parseRtcp(packet: Uint8Array): RtcpParse {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const feedback: RtcpFeedback[] = [];
  let offset = 0;
  while (offset < packet.byteLength) {
    if (packet.byteLength - offset < 4) return { feedback, error: `truncated header at byte ${offset}` };
    const first = view.getUint8(offset);
    if (first >> 6 !== 2) return { feedback, error: `RTCP version ${first >> 6} at byte ${offset}` };
    const count = first & 0x1f;
    const type = view.getUint8(offset + 1);
    const length = (view.getUint16(offset + 2) + 1) * 4;
    if (offset + length > packet.byteLength) return { feedback, error: `packet of ${length} bytes overruns the buffer at byte ${offset}` };
    // Padding (the P bit) is only allowed on the last packet; its length is in the last byte.
    const padding = first & 0x20 ? view.getUint8(offset + length - 1) : 0;
    if (padding > length - 4) return { feedback, error: `padding of ${padding} bytes in a ${length}-byte packet` };
    const body = new DataView(packet.buffer, packet.byteOffset + offset + 4, length - 4 - padding);
    const parsed = parseOne(type, count, body);
    if (typeof parsed === 'string') return { feedback, error: parsed };
    if (parsed) feedback.push(parsed);
    offset += length;
  }
  return { feedback };
}

/** One packet's body (after the 4-byte header): feedback, nothing (types we ignore), or an error. */
function parseOne(type: number, count: number, body: DataView): RtcpFeedback | undefined | string {
  switch (type) {
    case PT_SR:
      // Sender info (24 bytes after the sender's SSRC) precedes the blocks.
      return reportBlocks(body, 4 + 20, count);
    case PT_RR:
      return reportBlocks(body, 4, count);
    case PT_RTPFB:
      return count === FMT_NACK ? nack(body) : undefined;
    case PT_PSFB:
      if (body.byteLength < 8) return `feedback message of ${body.byteLength} bytes`;
      if (count === FMT_PLI) return { kind: 'pli', mediaSsrc: body.getUint32(4) };
      if (count === FMT_FIR) return fir(body);
      if (count === FMT_AFB) return remb(body);
      return undefined;
    default:
      // SDES, BYE, APP, XR: nothing we act on.
      return undefined;
  }
}

function reportBlocks(body: DataView, start: number, count: number): RtcpFeedback | string {
  if (body.byteLength < start + count * REPORT_BLOCK_BYTES) return `report with ${count} blocks in ${body.byteLength} bytes`;
  const blocks: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const at = start + i * REPORT_BLOCK_BYTES;
    const lostWord = body.getUint32(at + 4);
    // Cumulative loss is a signed 24-bit number.
    const cumulative = lostWord & 0xffffff;
    blocks.push({
      ssrc: body.getUint32(at),
      fractionLost: (lostWord >>> 24) / 256,
      cumulativeLost: cumulative & 0x800000 ? cumulative - 0x1000000 : cumulative,
      highestSequence: body.getUint32(at + 8),
      jitter: body.getUint32(at + 12),
      lastSr: body.getUint32(at + 16),
      delaySinceLastSr: body.getUint32(at + 20),
    });
  }
  return { kind: 'report', blocks };
}

/** Generic NACK: each FCI entry names one lost packet and a bitmask of the 16 after it. */
function nack(body: DataView): RtcpFeedback | string {
  if (body.byteLength < 8 || (body.byteLength - 8) % 4 !== 0) return `NACK of ${body.byteLength} bytes`;
  let lostPackets = 0;
  for (let at = 8; at < body.byteLength; at += 4) {
    let mask = body.getUint16(at + 2);
    lostPackets += 1;
    while (mask) {
      lostPackets += mask & 1;
      mask >>>= 1;
    }
  }
  return { kind: 'nack', mediaSsrc: body.getUint32(4), lostPackets };
}

/** FIR: the media SSRC field is unused; each 8-byte FCI entry names an SSRC and a sequence number. */
function fir(body: DataView): RtcpFeedback | string {
  if ((body.byteLength - 8) % 8 !== 0) return `FIR of ${body.byteLength} bytes`;
  const requests: { ssrc: number; sequence: number }[] = [];
  for (let at = 8; at < body.byteLength; at += 8) requests.push({ ssrc: body.getUint32(at), sequence: body.getUint8(at + 4) });
  return { kind: 'fir', requests };
}

/** Application-layer feedback; only REMB ("REMB", SSRC count, 6-bit exponent, 18-bit mantissa, SSRCs) is known. */
function remb(body: DataView): RtcpFeedback | undefined | string {
  if (body.byteLength < 16) return undefined;
  const magic = String.fromCharCode(body.getUint8(8), body.getUint8(9), body.getUint8(10), body.getUint8(11));
  if (magic !== 'REMB') return undefined;
  const word = body.getUint32(12);
  const ssrcCount = word >>> 24;
  if (body.byteLength < 16 + ssrcCount * 4) return `REMB naming ${ssrcCount} SSRCs in ${body.byteLength} bytes`;
  const exponent = (word >>> 18) & 0x3f;
  const mantissa = word & 0x3ffff;
  const ssrcs: number[] = [];
  for (let i = 0; i < ssrcCount; i++) ssrcs.push(body.getUint32(16 + i * 4));
  return { kind: 'remb', bitrateBps: mantissa * 2 ** exponent, ssrcs };
}
