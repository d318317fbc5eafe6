/**
 * What the stats overlay says about how the picture is made: the host's
 * pipeline and encoder (`hello.stream`), the codec and profile being decoded
 * (from the inbound-rtp codec's `sdpFmtpLine`), whether it is full colour,
 * and the host's probe summary. Pure, so the wording is unit-tested.
 */
import type { StreamDescription } from '../../shared/control.js';
import { h264ProfileLevelId } from './media.js';
import type { StatsSnapshot } from './stats.js';

/** H.264 profile_idc → name (ITU-T H.264 Annex A); constraint flags refine Baseline and High. */
const H264_PROFILES: Record<number, string> = {
  0x42: 'Baseline',
  0x4d: 'Main',
  0x58: 'Extended',
  0x64: 'High',
  0x6e: 'High 10',
  0x7a: 'High 4:2:2',
  0xf4: 'High 4:4:4',
};

const PIPELINES: Record<StreamDescription['pipeline'], string> = {
  encoded: 'encoded (host encoder, libdatachannel)',
  // Hosts from before issue 12.
  wrtc: 'wrtc (libwebrtc encodes)',
};

function fmtpParam(fmtp: string | null, key: string): string | null {
  for (const part of (fmtp ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim().toLowerCase() === key) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The H.264 profile of a profile-level-id: "Constrained Baseline", "High 4:4:4"…, or null. */
export function h264Profile(profileLevelId: string): string | null {
  const idc = parseInt(profileLevelId.slice(0, 2), 16);
  const constraints = parseInt(profileLevelId.slice(2, 4), 16);
  const name = H264_PROFILES[idc];
  if (!name) return null;
  // constraint_set1 on Baseline is Constrained Baseline (42e01f); set4+set5 on High is Constrained High.
  if (idc === 0x42 && (constraints & 0x40) !== 0) return 'Constrained Baseline';
  if (idc === 0x64 && (constraints & 0x0c) === 0x0c) return 'Constrained High';
  return name;
}

/** "H.264 Constrained Baseline", "H.264 High 4:4:4", "VP9 profile 0", "AV1 Main", "VP8"; "—" before any video. */
export function describeCodec(codec: string | null, fmtp: string | null): string {
  if (!codec) return '—';
  const name = codec.toUpperCase();
  if (name === 'H264') {
    const id = h264ProfileLevelId(fmtp);
    const profile = id ? h264Profile(id) : null;
    return profile ? `H.264 ${profile}` : 'H.264';
  }
  if (name === 'VP9') return `VP9 profile ${fmtpParam(fmtp, 'profile-id') ?? '0'}`;
  if (name === 'AV1') return `AV1 ${['Main', 'High', 'Professional'][Number(fmtpParam(fmtp, 'profile') ?? '0')] ?? 'profile ?'}`;
  return name;
}

/**
 * Whether the decoded format carries 4:4:4 chroma: H.264 High 4:4:4, VP9
 * profiles 1 and 3, AV1 High. Null when nothing is decoded yet.
 */
export function isFullColourFormat(codec: string | null, fmtp: string | null): boolean | null {
  if (!codec) return null;
  const name = codec.toUpperCase();
  if (name === 'H264') return h264ProfileLevelId(fmtp)?.startsWith('f4') === true;
  if (name === 'VP9') return ['1', '3'].includes(fmtpParam(fmtp, 'profile-id') ?? '0');
  if (name === 'AV1') return fmtpParam(fmtp, 'profile') === '1';
  return false;
}

/** The overlay's "stream" rows: pipeline, encoder, codec and profile, 4:4:4. */
export function streamRows(host: StreamDescription | null, stats: Pick<StatsSnapshot, 'codec' | 'codecFmtp'> | null): [string, string][] {
  const codec = stats?.codec ?? null;
  const fmtp = stats?.codecFmtp ?? null;
  // What is decoded is the truth; before the first stats the host's word.
  const full = isFullColourFormat(codec, fmtp) ?? host?.chroma444 ?? null;
  return [
    ['Pipeline', host ? PIPELINES[host.pipeline] : '—'],
    ['Encoder', host?.encoder ?? '—'],
    ['Codec', codec ? describeCodec(codec, fmtp) : (host?.codec ?? '—')],
    ['4:4:4', full === null ? '—' : full ? 'yes' : 'no'],
  ];
}
