/**
 * Reads the client's offer for what the encoded-frame transport must answer:
 * the video section's mid and formats (codec, payload type, fmtp), the ICE
 * credentials (to tell a renegotiation from an ICE restart), and picks the
 * payload type that matches what our encoder produces.
 *
 * Chromium 156 offers H.264 as 42001f, 42e01f, 4d001f and f4001f (measured;
 * an answer of 640c1f alone is rejected). libx264 at `ultrafast` writes a
 * Constrained Baseline stream for 4:2:0 (no CABAC, no 8x8 transform), so
 * 42e01f describes it exactly; High 4:4:4 Predictive is f4001f.
 */
import type { VideoCodec } from '../../shared/policy.js';

/** Largest offer we read; the protocol already caps SDP at this size. */
const MAX_SECTIONS = 16;

export interface OfferedFormat {
  payloadType: number;
  /** Upper-case codec name from a=rtpmap (H264, VP8, AV1, H265, RTX, RED…). */
  codec: string;
  clockRate: number;
  /** a=fmtp parameters, keys lower-cased. */
  params: Record<string, string>;
}

export interface OfferedVideo {
  mid: string;
  formats: OfferedFormat[];
  /** RTP header extensions offered (a=extmap), by id. */
  extensions: { id: number; uri: string }[];
  /** The client only receives: recvonly (or sendrecv, which we answer sendonly). */
  direction: string;
}

export interface OfferSummary {
  video: OfferedVideo | undefined;
  hasDataChannel: boolean;
  /** ICE username fragment (session level or the first section's); changes on an ICE restart. */
  iceUfrag: string | undefined;
}

/** What the encoder will produce, to find the matching payload type. */
export interface EncodedFormat {
  codec: VideoCodec | 'H265';
  /** 4:4:4 chroma (H.264 High 4:4:4 Predictive, or HEVC/AV1 4:4:4 where offered). */
  chroma444: boolean;
}

/** The payload type to send and the fmtp line to answer with. */
export interface ChosenFormat {
  payloadType: number;
  codec: EncodedFormat['codec'];
  fmtp: string | undefined;
  /** The H.264 profile-level-id answered, when H.264. */
  profileLevelId?: string;
}

/** Parses the parts of an offer the encoded transport answers. Unknown lines are ignored. */
export function summariseOffer(sdp: string): OfferSummary {
  const lines = sdp.split(/\r?\n/);
  let sections = 0;
  let section: 'session' | 'video' | 'application' | 'other' = 'session';
  let video: OfferedVideo | undefined;
  let hasDataChannel = false;
  let iceUfrag: string | undefined;
  const rtpmaps = new Map<number, { codec: string; clockRate: number }>();
  const fmtps = new Map<number, Record<string, string>>();
  let order: number[] = [];
  const finishVideo = (): void => {
    if (!video || video.formats.length) return;
    // In the m-line's order: the client's preference (setCodecPreferences).
    for (const payloadType of order) {
      const map = rtpmaps.get(payloadType);
      if (map) video.formats.push({ payloadType, ...map, params: fmtps.get(payloadType) ?? {} });
    }
  };
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (section === 'video') finishVideo();
      if (++sections > MAX_SECTIONS) break;
      const kind = line.slice(2).split(' ')[0];
      section = kind === 'video' && !video ? 'video' : kind === 'application' ? 'application' : 'other';
      if (section === 'video') {
        order = line.split(' ').slice(3).map(Number).filter((pt) => Number.isInteger(pt) && pt >= 0 && pt <= 127);
        video = { mid: '', formats: [], extensions: [], direction: 'sendrecv' };
        rtpmaps.clear();
        fmtps.clear();
      }
      if (section === 'application') hasDataChannel = true;
      continue;
    }
    if (line.startsWith('a=ice-ufrag:') && iceUfrag === undefined) iceUfrag = line.slice('a=ice-ufrag:'.length).trim();
    if (section !== 'video' || !video) continue;
    if (line.startsWith('a=mid:')) video.mid = line.slice('a=mid:'.length).trim();
    else if (/^a=(sendrecv|recvonly|sendonly|inactive)$/.test(line)) video.direction = line.slice(2);
    else if (/^a=extmap:\d{1,2}(\/\w+)? \S+$/.test(line)) {
      const [key, uri] = line.slice('a=extmap:'.length).split(' ');
      const id = Number(key!.split('/')[0]);
      if (id >= 1 && id <= 14 && video.extensions.length < MAX_SECTIONS * 2) video.extensions.push({ id, uri: uri! });
    } else {
      const rtpmap = /^a=rtpmap:(\d{1,3}) ([A-Za-z0-9_.-]+)\/(\d+)/.exec(line);
      if (rtpmap) {
        rtpmaps.set(Number(rtpmap[1]), { codec: rtpmap[2]!.toUpperCase(), clockRate: Number(rtpmap[3]) });
        continue;
      }
      const fmtp = /^a=fmtp:(\d{1,3}) (.*)$/.exec(line);
      if (fmtp) fmtps.set(Number(fmtp[1]), parseParams(fmtp[2]!));
    }
  }
  if (section === 'video') finishVideo();
  return { video, hasDataChannel, iceUfrag };
}

function parseParams(text: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) params[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim();
  }
  return params;
}

/** H.264 profile_idc of a profile-level-id (first byte), or undefined. */
function h264ProfileIdc(params: Record<string, string>): number | undefined {
  const id = params['profile-level-id'];
  return id && /^[0-9a-fA-F]{6}$/.test(id) ? parseInt(id.slice(0, 2), 16) : undefined;
}

/** Constrained Baseline: profile_idc 66 with constraint_set1 (0x40 in the second byte), as in 42e01f. */
function isConstrainedBaseline(params: Record<string, string>): boolean {
  const id = params['profile-level-id'];
  return !!id && h264ProfileIdc(params) === 0x42 && (parseInt(id.slice(2, 4), 16) & 0x40) !== 0;
}

/**
 * The offered format that carries what we encode, or undefined when the
 * client did not offer it. H.264 needs packetization-mode=1 (FU-A), which
 * libdatachannel's packetizer writes.
 */
export function chooseFormat(video: OfferedVideo, wanted: EncodedFormat): ChosenFormat | undefined {
  const ofCodec = video.formats.filter((f) => f.codec === wanted.codec && f.clockRate === 90000);
  if (wanted.codec === 'H264') {
    const usable = ofCodec.filter((f) => f.params['packetization-mode'] === '1');
    const match = wanted.chroma444
      ? usable.find((f) => h264ProfileIdc(f.params) === 0xf4)
      : (usable.find((f) => isConstrainedBaseline(f.params)) ?? usable.find((f) => h264ProfileIdc(f.params) === 0x4d));
    if (!match) return undefined;
    const profileLevelId = match.params['profile-level-id']!.toLowerCase();
    return {
      payloadType: match.payloadType,
      codec: 'H264',
      // level-asymmetry-allowed lets us send a higher level than 3.1 (1080p60, 4K) to a decoder that can take it.
      fmtp: `profile-level-id=${profileLevelId};packetization-mode=1;level-asymmetry-allowed=1`,
      profileLevelId,
    };
  }
  if (wanted.codec === 'AV1') {
    // AV1 profile 0 is 4:2:0, profile 1 is 4:4:4 (RFC-draft "profile" fmtp; absent means 0).
    const match = ofCodec.find((f) => (f.params.profile ?? '0') === (wanted.chroma444 ? '1' : '0'));
    return match ? { payloadType: match.payloadType, codec: 'AV1', fmtp: wanted.chroma444 ? 'profile=1' : undefined } : undefined;
  }
  if (wanted.codec === 'H265') {
    // Main (profile-id 1) for 4:2:0; Range Extensions (4) carries 4:4:4.
    const match = ofCodec.find((f) => (f.params['profile-id'] ?? '1') === (wanted.chroma444 ? '4' : '1'));
    return match ? { payloadType: match.payloadType, codec: 'H265', fmtp: wanted.chroma444 ? 'profile-id=4' : undefined } : undefined;
  }
  const match = ofCodec[0];
  return match ? { payloadType: match.payloadType, codec: wanted.codec, fmtp: undefined } : undefined;
}

/** Whether the offer can take 4:4:4 of `codec` at all (the client's decoder advertised it). */
export function offersChroma444(video: OfferedVideo, codec: EncodedFormat['codec']): boolean {
  return chooseFormat(video, { codec, chroma444: true }) !== undefined;
}

/**
 * Whether the client put 4:4:4 first among its formats of `codec`: the
 * client asks for full colour by ordering its codec preferences, so the
 * choice is made in the offer itself, before any media flows.
 */
export function prefersChroma444(video: OfferedVideo, codec: EncodedFormat['codec']): boolean {
  const full = chooseFormat(video, { codec, chroma444: true });
  if (!full) return false;
  const first = video.formats.find((f) => f.codec === codec && f.clockRate === 90000 && (codec !== 'H264' || f.params['packetization-mode'] === '1'));
  return first?.payloadType === full.payloadType;
}
