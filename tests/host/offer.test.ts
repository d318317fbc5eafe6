import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseFormat, offersChroma444, prefersChroma444, summariseOffer } from '../../src/host/transport/offer.js';

/** A real offer: Chromium 156, recvonly video transceiver plus a data channel, as the client makes it. */
const CHROMIUM_OFFER = readFileSync(new URL('./fixtures/chromium-156-offer.sdp', import.meta.url), 'utf8');

/** Moves the payload types `first` to the front of the video m-line, as setCodecPreferences would. */
function preferring(sdp: string, first: number[]): string {
  return sdp.replace(/^m=video (\S+) (\S+) (.*)$/m, (_all, port: string, proto: string, pts: string) => {
    const rest = pts.split(' ').filter((pt) => !first.includes(Number(pt)));
    return `m=video ${port} ${proto} ${[...first, ...rest].join(' ')}`;
  });
}

describe('summariseOffer on a Chromium 156 offer', () => {
  const offer = summariseOffer(CHROMIUM_OFFER);

  it('finds the video section, its formats in m-line order, the data channel and the ICE ufrag', () => {
    expect(offer.video?.mid).toBe('0');
    expect(offer.video?.direction).toBe('recvonly');
    expect(offer.hasDataChannel).toBe(true);
    expect(offer.iceUfrag).toBe('DlP8');
    expect(offer.video?.formats[0]).toMatchObject({ payloadType: 96, codec: 'VP8', clockRate: 90000 });
    expect(offer.video?.extensions).toContainEqual({ id: 5, uri: 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay' });
  });

  it('picks Constrained Baseline with packetization-mode 1 for 4:2:0 H.264, and High 4:4:4 for full colour', () => {
    expect(chooseFormat(offer.video!, { codec: 'H264', chroma444: false })).toEqual({
      payloadType: 108,
      codec: 'H264',
      fmtp: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
      profileLevelId: '42e01f',
    });
    expect(chooseFormat(offer.video!, { codec: 'H264', chroma444: true })).toMatchObject({ payloadType: 41, profileLevelId: 'f4001f' });
    expect(offersChroma444(offer.video!, 'H264')).toBe(true);
  });

  it('reads the client\'s wish for full colour from its codec order', () => {
    expect(prefersChroma444(offer.video!, 'H264')).toBe(false);
    const wants444 = summariseOffer(preferring(CHROMIUM_OFFER, [41, 108]));
    expect(prefersChroma444(wants444.video!, 'H264')).toBe(true);
  });

  it('answers nothing for a codec or profile the client did not offer', () => {
    const no444 = CHROMIUM_OFFER.split('\r\n').filter((l) => !/^a=(rtpmap|fmtp|rtcp-fb):(41|42|43|44) /.test(l)).join('\r\n');
    const video = summariseOffer(no444).video!;
    expect(chooseFormat(video, { codec: 'H264', chroma444: true })).toBeUndefined();
    expect(chooseFormat(video, { codec: 'H265', chroma444: false })).toBeUndefined();
    expect(chooseFormat(video, { codec: 'AV1', chroma444: false })).toMatchObject({ codec: 'AV1' });
  });

  it('survives offers without video or with junk lines', () => {
    expect(summariseOffer('v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n')).toEqual({ video: undefined, hasDataChannel: true, iceUfrag: undefined });
    const junk = summariseOffer('m=video 9 X 96 abc 300\r\na=rtpmap:96 H264\r\na=fmtp:96 ;;==\r\na=extmap:99 x\r\n');
    expect(junk.video?.formats).toEqual([]);
    expect(junk.video?.extensions).toEqual([]);
  });
});

describe('summariseOffer on hostile input', () => {
  it('never throws, whatever the lines say, and chooseFormat never picks a format the offer lacks', () => {
    const line = fc.oneof(
      fc.constantFrom('m=video 9 UDP/TLS/RTP/SAVPF 96 97', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:0', 'a=recvonly'),
      fc.tuple(fc.integer({ min: -5, max: 300 }), fc.constantFrom('H264', 'VP8', 'AV1', 'rtx', '')).map(([pt, c]) => `a=rtpmap:${pt} ${c}/90000`),
      fc.tuple(fc.integer({ min: 0, max: 130 }), fc.string()).map(([pt, p]) => `a=fmtp:${pt} ${p}`),
      fc.string().map((t) => `a=${t}`),
      fc.string(),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), (lines) => {
        const offer = summariseOffer(lines.join('\r\n'));
        if (!offer.video) return;
        for (const chroma444 of [false, true]) {
          const chosen = chooseFormat(offer.video, { codec: 'H264', chroma444 });
          if (chosen) expect(offer.video.formats.map((f) => f.payloadType)).toContain(chosen.payloadType);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

