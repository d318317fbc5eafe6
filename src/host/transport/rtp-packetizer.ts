/**
 * RTP packets of our video stream (RFC 3550), with the header extensions
 * the receiver acts on, in the one-byte form (RFC 8285):
 *
 * - **abs-send-time** (http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time):
 *   when the packet left, 6.18 fixed-point seconds. Without it Chromium's
 *   bandwidth estimator reads the delay from the RTP timestamp, which is the
 *   capture time: every millisecond the encoder's time per frame varies by
 *   (8–40 ms on a busy 2-core host) looked like network queueing, and REMB
 *   collapsed towards the floor (BENCHMARKS.md, "Shaped link").
 * - **playout-delay** (min = max = 0 by default): Chromium renders each frame
 *   on arrival instead of holding a jitter buffer.
 *
 * Packets go out through libdatachannel's track unchanged: its RTCP sender
 * reporter counts them and its NACK responder keeps them for retransmission.
 */
import { payloads, type PayloadCodec } from './payloaders.js';

export const ABS_SEND_TIME_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';
export const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';

/** Highest max playout delay the agent accepts; Chromium's low-latency renderer applies up to 500 ms. */
export const MAX_PLAYOUT_DELAY_MS = 500;

const RTP_HEADER_BYTES = 12;
/** The one-byte extension profile (RFC 8285 §4.2). */
const ONE_BYTE_PROFILE = 0xbede;

export interface RtpPacketizerOptions {
  ssrc: number;
  payloadType: number;
  codec: PayloadCodec;
  /** Payload bytes per packet (the RTP header and extensions come on top). */
  maxPayloadBytes: number;
  /** Negotiated extension ids; an extension not negotiated is not written. */
  absSendTimeId?: number;
  playoutDelay?: { id: number; minMs: number; maxMs: number };
  /** First sequence number (random, RFC 3550 §5.1). */
  firstSequence: number;
}

/** The 24-bit abs-send-time of `ms` on any monotonic clock: seconds in 6.18 fixed point, wrapping every 64 s. */
export function absSendTime(ms: number): number {
  return Math.floor((ms / 1000) * (1 << 18)) & 0xffffff;
}

export class RtpPacketizer {
  private sequence: number;
  private readonly extensionBytes: number;

  constructor(private readonly options: RtpPacketizerOptions) {
    this.sequence = options.firstSequence & 0xffff;
    const elements = (options.absSendTimeId !== undefined ? 4 : 0) + (options.playoutDelay ? 4 : 0);
    this.extensionBytes = elements > 0 ? 4 + elements : 0;
  }

  /** The packets of one frame, stamped as sent at `sendTimeMs` (performance.now() clock). */
  packetize(frame: Uint8Array, rtpTimestamp: number, sendTimeMs: number): Buffer[] {
    const { ssrc, payloadType, absSendTimeId, playoutDelay } = this.options;
    const sendTime = absSendTime(sendTimeMs);
    return payloads(this.options.codec, frame, this.options.maxPayloadBytes).map(({ bytes, frameEnd }) => {
      const packet = Buffer.allocUnsafe(RTP_HEADER_BYTES + this.extensionBytes + bytes.length);
      packet[0] = 0x80 | (this.extensionBytes > 0 ? 0x10 : 0);
      packet[1] = (frameEnd ? 0x80 : 0) | payloadType;
      packet.writeUInt16BE(this.sequence, 2);
      packet.writeUInt32BE(rtpTimestamp >>> 0, 4);
      packet.writeUInt32BE(ssrc >>> 0, 8);
      this.sequence = (this.sequence + 1) & 0xffff;
      let at = RTP_HEADER_BYTES;
      if (this.extensionBytes > 0) {
        packet.writeUInt16BE(ONE_BYTE_PROFILE, at);
        packet.writeUInt16BE((this.extensionBytes - 4) / 4, at + 2);
        at += 4;
        if (absSendTimeId !== undefined) {
          packet[at] = (absSendTimeId << 4) | 2;
          packet.writeUIntBE(sendTime, at + 1, 3);
          at += 4;
        }
        if (playoutDelay) {
          // 12 bits each of minimum and maximum, in 10 ms units.
          const min = Math.min(0xfff, Math.round(playoutDelay.minMs / 10));
          const max = Math.min(0xfff, Math.round(playoutDelay.maxMs / 10));
          packet[at] = (playoutDelay.id << 4) | 2;
          packet.writeUIntBE((min << 12) | max, at + 1, 3);
          at += 4;
        }
      }
      packet.set(bytes, at);
      return packet;
    });
  }
}
