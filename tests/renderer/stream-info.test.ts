/**
 * How the client asks for full colour and describes the stream (issue 12):
 * the codec order of the offer, which codecs the settings offer, when a change
 * needs a reconnect, the stats' fmtp line, and the overlay's wording.
 */
import { describe, expect, it } from 'vitest';
import type { StreamDescription } from '../../src/shared/control.js';
import { DEFAULT_SESSION_POLICY } from '../../src/shared/policy.js';
import { canDecodeFullColour, h264ProfileLevelId, orderCodecs } from '../../src/renderer/session/media.js';
import { choosableCodecs, codecNeedsReconnect, expectedCodec, fullColourNeedsReconnect, wantsFullColour } from '../../src/renderer/session/quality.js';
import { computeStats, readRawStats } from '../../src/renderer/session/stats.js';
import { describeCodec, h264Profile, isFullColourFormat, streamRows } from '../../src/renderer/session/stream-info.js';
import { ENCODED } from './helpers.js';

/** Chromium 156's `RTCRtpReceiver.getCapabilities('video').codecs`, as it lists them (headless, software decoders). */
const CHROMIUM_156 = [
  { clockRate: 90000, mimeType: 'video/VP8' },
  { clockRate: 90000, mimeType: 'video/rtx' },
  { clockRate: 90000, mimeType: 'video/VP9', sdpFmtpLine: 'profile-id=0' },
  { clockRate: 90000, mimeType: 'video/VP9', sdpFmtpLine: 'profile-id=2' },
  { clockRate: 90000, mimeType: 'video/VP9', sdpFmtpLine: 'profile-id=1' },
  { clockRate: 90000, mimeType: 'video/VP9', sdpFmtpLine: 'profile-id=3' },
  { clockRate: 90000, mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f' },
  { clockRate: 90000, mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f' },
  { clockRate: 90000, mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' },
  { clockRate: 90000, mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f' },
  { clockRate: 90000, mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f' },
  { clockRate: 90000, mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f' },
  { clockRate: 90000, mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f' },
  { clockRate: 90000, mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=f4001f' },
  { clockRate: 90000, mimeType: 'video/AV1', sdpFmtpLine: 'level-idx=5;profile=0;tier=0' },
  { clockRate: 90000, mimeType: 'video/AV1', sdpFmtpLine: 'level-idx=5;profile=1;tier=0' },
  { clockRate: 90000, mimeType: 'video/red' },
  { clockRate: 90000, mimeType: 'video/ulpfec' },
  { clockRate: 90000, mimeType: 'video/flexfec-03', sdpFmtpLine: 'repair-window=10000000' },
];
const profiles = (caps: typeof CHROMIUM_156 | null) => (caps ?? []).filter((c) => c.mimeType === 'video/H264').map((c) => `${h264ProfileLevelId(c.sdpFmtpLine)}/${/packetization-mode=(\d)/.exec(c.sdpFmtpLine!)![1]}`);


describe('codec order and full colour', () => {
  const policy = DEFAULT_SESSION_POLICY.codecs;

  it('puts H.264 High 4:4:4 first among the H.264 formats when full colour is on', () => {
    const ordered = orderCodecs(CHROMIUM_156, policy, null, true)!;
    expect(ordered[0]!.mimeType).toBe('video/H264');
    expect(profiles(ordered)).toEqual(['f4001f/1', 'f4001f/0', '42001f/1', '42001f/0', '42e01f/1', '42e01f/0', '4d001f/1', '4d001f/0']);
  });

  it('puts it after the 4:2:0 H.264 formats when full colour is off', () => {
    const ordered = orderCodecs(CHROMIUM_156, policy, null, false)!;
    expect(profiles(ordered)).toEqual(['42001f/1', '42001f/0', '42e01f/1', '42e01f/0', '4d001f/1', '4d001f/0', 'f4001f/1', 'f4001f/0']);
    // Default argument: off.
    expect(orderCodecs(CHROMIUM_156, policy, null)).toEqual(ordered);
  });

  it('keeps the codec order (the person’s codec, then the policy) and every other entry as it was', () => {
    const ordered = orderCodecs(CHROMIUM_156, policy, 'VP9', true)!;
    expect([...new Set(ordered.map((c) => c.mimeType))]).toEqual(['video/VP9', 'video/H264', 'video/VP8', 'video/AV1', 'video/rtx', 'video/red', 'video/ulpfec', 'video/flexfec-03']);
    expect(ordered.filter((c) => c.mimeType === 'video/VP9').map((c) => c.sdpFmtpLine)).toEqual(['profile-id=0', 'profile-id=2', 'profile-id=1', 'profile-id=3']);
    expect(ordered).toHaveLength(CHROMIUM_156.length);
  });

  it('knows whether this browser decodes full colour', () => {
    expect(canDecodeFullColour(CHROMIUM_156)).toBe(true);
    expect(canDecodeFullColour(CHROMIUM_156.filter((c) => !c.sdpFmtpLine?.includes('f4001f')))).toBe(false);
    expect(canDecodeFullColour(null)).toBe(false);
    expect(h264ProfileLevelId('profile-level-id=F4001F;packetization-mode=1')).toBe('f4001f');
    expect(h264ProfileLevelId('packetization-mode=1')).toBeNull();
  });

  it('asks for full colour only where the policy allows it', () => {
    expect(wantsFullColour(true, DEFAULT_SESSION_POLICY)).toBe(true);
    expect(wantsFullColour(true, { ...DEFAULT_SESSION_POLICY, chroma444: false })).toBe(false);
    expect(wantsFullColour(false, DEFAULT_SESSION_POLICY)).toBe(false);
  });
});

describe('codec choices follow the host', () => {
  it('offers the policy’s codecs the host can send, in the policy’s order; the policy’s before the host has said', () => {
    expect(choosableCodecs(DEFAULT_SESSION_POLICY, ENCODED)).toEqual(['H264']);
    expect(choosableCodecs(DEFAULT_SESSION_POLICY, { ...ENCODED, codecs: ['AV1', 'H264'] })).toEqual(['H264', 'AV1']);
    expect(choosableCodecs({ ...DEFAULT_SESSION_POLICY, codecs: ['VP9', 'VP8'] }, { ...ENCODED, pipeline: 'wrtc', codecs: ['VP8', 'VP9', 'AV1'] })).toEqual(['VP9', 'VP8']);
    expect(choosableCodecs(DEFAULT_SESSION_POLICY, null)).toEqual(DEFAULT_SESSION_POLICY.codecs);
  });

  it('expects the chosen codec where the host can send it, else the first it can', () => {
    expect(expectedCodec('VP8', DEFAULT_SESSION_POLICY, ENCODED)).toBe('H264');
    expect(expectedCodec(null, DEFAULT_SESSION_POLICY, ENCODED)).toBe('H264');
    expect(expectedCodec('AV1', DEFAULT_SESSION_POLICY, { ...ENCODED, codecs: ['H264', 'AV1'] })).toBe('AV1');
  });

  it('needs a reconnect only where the host cannot change the format in place and would send something else', () => {
    const two = { ...ENCODED, codecs: ['H264', 'AV1'] as StreamDescription['codecs'] };
    expect(codecNeedsReconnect('AV1', DEFAULT_SESSION_POLICY, two)).toBe(true);
    expect(codecNeedsReconnect('H264', DEFAULT_SESSION_POLICY, two)).toBe(false);
    expect(codecNeedsReconnect('VP8', DEFAULT_SESSION_POLICY, two)).toBe(false);
    expect(codecNeedsReconnect('AV1', DEFAULT_SESSION_POLICY, { ...two, codecChangeInPlace: true })).toBe(false);
    expect(codecNeedsReconnect('AV1', DEFAULT_SESSION_POLICY, null)).toBe(false);

    expect(fullColourNeedsReconnect(true, DEFAULT_SESSION_POLICY, ENCODED)).toBe(true);
    expect(fullColourNeedsReconnect(false, DEFAULT_SESSION_POLICY, ENCODED)).toBe(false);
    expect(fullColourNeedsReconnect(false, DEFAULT_SESSION_POLICY, { ...ENCODED, chroma444: true })).toBe(true);
    expect(fullColourNeedsReconnect(true, { ...DEFAULT_SESSION_POLICY, chroma444: false }, ENCODED)).toBe(false);
    expect(fullColourNeedsReconnect(true, DEFAULT_SESSION_POLICY, { ...ENCODED, chroma444Available: false })).toBe(false);
    expect(fullColourNeedsReconnect(true, DEFAULT_SESSION_POLICY, { ...ENCODED, codecChangeInPlace: true })).toBe(false);
  });
});

describe('stats: the decoded format', () => {
  it('reads the codec’s fmtp line from the stats report', () => {
    const report = new Map<string, Record<string, unknown>>([
      ['IT01V', { type: 'inbound-rtp', kind: 'video', timestamp: 1000, framesReceived: 1, framesDecoded: 1, codecId: 'C1' }],
      ['C1', { type: 'codec', mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f' }],
    ]);
    const s = computeStats(null, readRawStats(report)!, 0);
    expect(s.codec).toBe('H264');
    expect(s.codecFmtp).toContain('profile-level-id=f4001f');
    const bare = new Map<string, Record<string, unknown>>([['IT01V', { type: 'inbound-rtp', kind: 'video', timestamp: 1 }]]);
    expect(readRawStats(bare)!.codecFmtp).toBeNull();
  });
});

describe('stats overlay wording', () => {
  it('names the H.264 profile from its profile-level-id', () => {
    expect(describeCodec('H264', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f')).toBe('H.264 Constrained Baseline');
    expect(describeCodec('H264', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f')).toBe('H.264 High 4:4:4');
    expect(describeCodec('H264', 'profile-level-id=42001f')).toBe('H.264 Baseline');
    expect(describeCodec('H264', 'profile-level-id=4d001f')).toBe('H.264 Main');
    expect(describeCodec('H264', 'profile-level-id=640c1f')).toBe('H.264 Constrained High');
    expect(describeCodec('H264', null)).toBe('H.264');
    expect(h264Profile('990000')).toBeNull();
    expect(describeCodec('VP9', 'profile-id=2')).toBe('VP9 profile 2');
    expect(describeCodec('AV1', 'level-idx=5;profile=1;tier=0')).toBe('AV1 High');
    expect(describeCodec('VP8', null)).toBe('VP8');
    expect(describeCodec(null, null)).toBe('—');
  });

  it('says whether the decoded format is 4:4:4', () => {
    expect(isFullColourFormat('H264', 'packetization-mode=1;profile-level-id=f4001f')).toBe(true);
    expect(isFullColourFormat('H264', 'packetization-mode=1;profile-level-id=42e01f')).toBe(false);
    expect(isFullColourFormat('VP9', 'profile-id=1')).toBe(true);
    expect(isFullColourFormat('VP8', null)).toBe(false);
    expect(isFullColourFormat(null, null)).toBeNull();
  });

  it('shows pipeline, encoder, codec and profile, and 4:4:4 from what is decoded (the host’s word before that)', () => {
    const full = { codec: 'H264', codecFmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f' };
    expect(streamRows({ ...ENCODED, chroma444: true }, full)).toEqual([
      ['Pipeline', 'encoded (host encoder, libdatachannel)'],
      ['Encoder', 'libx264'],
      ['Codec', 'H.264 High 4:4:4'],
      ['4:4:4', 'yes'],
    ]);
    expect(streamRows(ENCODED, { codec: 'H264', codecFmtp: 'packetization-mode=1;profile-level-id=42e01f' })).toEqual([
      ['Pipeline', 'encoded (host encoder, libdatachannel)'],
      ['Encoder', 'libx264'],
      ['Codec', 'H.264 Constrained Baseline'],
      ['4:4:4', 'no'],
    ]);
    expect(streamRows({ ...ENCODED, pipeline: 'wrtc', encoder: 'libwebrtc', codec: 'VP8' }, null)).toEqual([
      ['Pipeline', 'wrtc (libwebrtc encodes)'],
      ['Encoder', 'libwebrtc'],
      ['Codec', 'VP8'],
      ['4:4:4', 'no'],
    ]);
    expect(streamRows(null, null)).toEqual([
      ['Pipeline', '—'],
      ['Encoder', '—'],
      ['Codec', '—'],
      ['4:4:4', '—'],
    ]);
  });
});
