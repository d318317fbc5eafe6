/** Stream quality rules, codec SDP surgery and monitor coordinate mapping: pure logic. */
import { describe, expect, it } from 'vitest';
import type { Monitor } from '../../src/shared/control.js';
import { COORD_MAX } from '../../src/shared/input.js';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from '../../src/shared/policy.js';
import { RegionInjector } from '../../src/host/input/region-injector.js';
import { applyQualityRequest, chooseCodec, defaultBitrateKbps, initialQuality, regionOf, type StreamQuality } from '../../src/host/quality.js';
import { keepOnlyVideoCodec, videoCodecsOf, withVideoBitrate } from '../../src/host/sdp.js';
import { RecordingInjector } from './helpers/recording-injector.js';

const DUAL: Monitor[] = [
  { id: 'DP-1', name: 'DP-1', x: 0, y: 0, width: 2560, height: 1440, primary: false },
  { id: 'HDMI-1', name: 'HDMI-1', x: 2560, y: 0, width: 1920, height: 1080, primary: true },
];
const policy: SessionPolicy = { ...DEFAULT_SESSION_POLICY, maxWidth: 1920, maxHeight: 1080, maxFps: 60, maxBitrateKbps: 20_000 };

describe('stream quality', () => {
  it('starts on the primary monitor at native size within policy', () => {
    expect(initialQuality(DUAL, policy, 30)).toEqual({ monitor: 'HDMI-1', width: 1920, height: 1080, fps: 30, maxBitrateKbps: 3_732, codec: undefined });
    // A 2560x1440 monitor under a 1920x1080 ceiling keeps its aspect ratio.
    expect(initialQuality([{ ...DUAL[0]!, primary: true }], policy, 90)).toMatchObject({ width: 1920, height: 1080, fps: 60 });
  });

  it('clamps every field of a request to policy and never upscales', () => {
    const current = initialQuality(DUAL, policy, 30);
    expect(applyQualityRequest(current, { width: 3840, height: 2160, fps: 120, maxBitrateKbps: 100_000 }, DUAL, policy)).toMatchObject({
      width: 1920,
      height: 1080,
      fps: 60,
      maxBitrateKbps: 20_000,
    });
    expect(applyQualityRequest(current, { width: 1280 }, DUAL, policy)).toMatchObject({ width: 1280, height: 720 });
    expect(applyQualityRequest(current, { height: 541 }, DUAL, policy)).toMatchObject({ width: 962, height: 540 });
  });

  it('switches monitor (native size unless asked) and ignores unknown monitors and disallowed codecs', () => {
    const current = initialQuality(DUAL, policy, 30);
    expect(applyQualityRequest(current, { monitor: 'DP-1' }, DUAL, policy)).toMatchObject({ monitor: 'DP-1', width: 1920, height: 1080 });
    expect(applyQualityRequest(current, { monitor: 'all' }, DUAL, policy)).toMatchObject({ monitor: 'all', width: 1920, height: 616 });
    expect(applyQualityRequest(current, { monitor: 'nope' }, DUAL, policy).monitor).toBe('HDMI-1');
    const vp8Only = { ...policy, codecs: ['VP8' as const] };
    const q: StreamQuality = { ...current, codec: 'VP8' };
    expect(applyQualityRequest(q, { codec: 'AV1' }, DUAL, vp8Only).codec).toBe('VP8');
    expect(applyQualityRequest(q, { codec: 'H264' }, DUAL, policy).codec).toBe('VP8');
  });

  it('starts at a bitrate for the size and rate, under the policy ceiling, and follows size and rate until the client picks one', () => {
    expect([defaultBitrateKbps(1280, 720, 30), defaultBitrateKbps(1920, 1080, 30), defaultBitrateKbps(1920, 1080, 60)]).toEqual([1_659, 3_732, 7_465]);
    expect(defaultBitrateKbps(320, 240, 5)).toBe(1_000);
    expect(initialQuality(DUAL, { ...policy, maxBitrateKbps: 2_000 }, 30).maxBitrateKbps).toBe(2_000);
    const current = initialQuality(DUAL, policy, 30);
    const at60 = applyQualityRequest(current, { fps: 60 }, DUAL, policy);
    expect(at60.maxBitrateKbps).toBe(7_465);
    expect(applyQualityRequest(at60, { width: 1280 }, DUAL, policy).maxBitrateKbps).toBe(defaultBitrateKbps(1280, 720, 60));
    // Chosen by the client: kept across size and rate changes.
    const chosen = applyQualityRequest(current, { maxBitrateKbps: 12_000 }, DUAL, policy);
    expect(applyQualityRequest(chosen, { fps: 60, width: 1280 }, DUAL, policy).maxBitrateKbps).toBe(12_000);
  });

  it('chooses the codec by policy order among those offered, honouring an allowed wish', () => {
    // VP8 first by default: software encoding (see DEFAULT_SESSION_POLICY).
    expect(chooseCodec(DEFAULT_SESSION_POLICY, ['VP8', 'VP9', 'AV1'], undefined)).toBe('VP8');
    expect(chooseCodec(DEFAULT_SESSION_POLICY, ['VP9', 'AV1'], undefined)).toBe('VP9');
    expect(chooseCodec({ ...DEFAULT_SESSION_POLICY, codecs: ['VP9', 'VP8'] }, ['VP8', 'VP9'], undefined)).toBe('VP9');
    expect(chooseCodec(DEFAULT_SESSION_POLICY, ['VP8', 'VP9', 'AV1'], 'AV1')).toBe('AV1');
    expect(chooseCodec({ ...DEFAULT_SESSION_POLICY, codecs: ['H264'] }, ['H264', 'VP8'], undefined)).toBeUndefined();
  });

  it('computes the region of a monitor and of all of them', () => {
    expect(regionOf(DUAL, 'HDMI-1')).toEqual({ x: 2560, y: 0, width: 1920, height: 1080 });
    expect(regionOf(DUAL, 'all')).toEqual({ x: 0, y: 0, width: 4480, height: 1440 });
    expect(regionOf(DUAL, 'missing')).toBeUndefined();
  });
});

const OFFER = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 45 46 125 127',
  'c=IN IP4 0.0.0.0',
  'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 nack', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96',
  'a=rtpmap:98 VP9/90000', 'a=fmtp:98 profile-id=0', 'a=rtpmap:99 rtx/90000', 'a=fmtp:99 apt=98',
  'a=rtpmap:45 AV1/90000', 'a=rtpmap:46 rtx/90000', 'a=fmtp:46 apt=45',
  'a=rtpmap:125 red/90000', 'a=rtpmap:127 ulpfec/90000',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'a=sctp-port:5000',
  '',
].join('\r\n');

describe('SDP codec surgery', () => {
  it('lists offered video codecs in order, without RTX or FEC', () => {
    expect(videoCodecsOf(OFFER)).toEqual(['VP8', 'VP9', 'AV1']);
  });

  it('keeps only the chosen codec, its RTX and the FEC formats, and leaves other sections alone', () => {
    const out = keepOnlyVideoCodec(OFFER, 'VP9');
    expect(out).toContain('m=video 9 UDP/TLS/RTP/SAVPF 98 99 125 127\r\n');
    expect(out).not.toMatch(/a=(rtpmap|fmtp|rtcp-fb):(96|97|45|46) /);
    expect(out).toContain('a=fmtp:98 profile-id=0');
    expect(out).toContain('a=sctp-port:5000');
    expect(videoCodecsOf(out)).toEqual(['VP9']);
  });

  it('puts the bitrate ceiling after the video section\'s c= line, replacing an earlier one', () => {
    const once = withVideoBitrate(OFFER, 300);
    const twice = withVideoBitrate(once, 2_000);
    const video = twice.split('m=application')[0]!;
    expect(video).toContain('c=IN IP4 0.0.0.0\r\nb=AS:2000\r\nb=TIAS:2000000\r\n');
    expect(video).not.toContain('b=AS:300');
    expect(twice.split('m=application')[1]).not.toContain('b=AS');
  });

  it('returns the SDP unchanged when the codec is not there', () => {
    expect(videoCodecsOf(keepOnlyVideoCodec(OFFER, 'H264'))).toEqual(['VP8', 'VP9', 'AV1']);
  });
});

describe('RegionInjector', () => {
  it('maps picture coordinates onto the selected monitor of the desktop', () => {
    const inner = new RecordingInjector();
    const region = new RegionInjector(inner);
    region.setRegion({ x: 2560, y: 0, width: 1920, height: 1080 }, { width: 4480, height: 1440 });
    region.pointerAbs(0, 0);
    region.pointerAbs(COORD_MAX, COORD_MAX);
    const px = (e: (typeof inner.events)[number]) => (e.kind === 'pointerAbs' ? [Math.round((e.x * 4479) / COORD_MAX), Math.round((e.y * 1439) / COORD_MAX)] : []);
    expect(inner.events.map(px)).toEqual([
      [2560, 0],
      [4479, 1079],
    ]);
    region.pen({ x: COORD_MAX / 2, y: 0, pressure: 1, tiltX: 0, tiltY: 0, twist: 0, flags: 1 });
    const pen = inner.events.at(-1)!;
    expect(pen.kind === 'pen' && Math.round((pen.sample.x * 4479) / COORD_MAX)).toBe(3520);
  });
});
