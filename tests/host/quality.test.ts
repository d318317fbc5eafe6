/** Stream quality rules, codec SDP surgery and monitor coordinate mapping: pure logic. */
import { describe, expect, it } from 'vitest';
import type { Monitor } from '../../src/shared/control.js';
import { COORD_MAX } from '../../src/shared/input.js';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from '../../src/shared/policy.js';
import { RegionInjector } from '../../src/host/input/region-injector.js';
import { applyQualityRequest, CHROMA444_BITRATE_FACTOR, defaultBitrateKbps, initialQuality, regionOf, withChroma, type StreamQuality } from '../../src/host/quality.js';
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

  it('gives a 4:4:4 connection twice the default bitrate (twice the samples), unless the client chose one; clamped to policy', () => {
    expect(CHROMA444_BITRATE_FACTOR).toBe(2);
    expect(defaultBitrateKbps(1280, 720, 30, true)).toBe(3_318);
    expect(defaultBitrateKbps(320, 240, 5, true)).toBe(2_000);
    const current = initialQuality(DUAL, policy, 30);
    const full = withChroma(current, true, policy);
    expect(full).toEqual({ ...current, chroma444: true, maxBitrateKbps: 7_464 });
    // The default keeps following size and rate at 4:4:4...
    expect(applyQualityRequest(full, { width: 1280 }, DUAL, policy)).toMatchObject({ width: 1280, maxBitrateKbps: 3_318, chroma444: true });
    // ...and back at 4:2:0 it is 4:2:0's again.
    expect(withChroma(full, false, policy)).toEqual(current);
    expect(withChroma(current, false, policy)).toEqual(current);
    // Under the policy's ceiling, and never over a bitrate the client chose.
    expect(withChroma(initialQuality(DUAL, { ...policy, maxBitrateKbps: 5_000 }, 30), true, { ...policy, maxBitrateKbps: 5_000 }).maxBitrateKbps).toBe(5_000);
    const chosen = applyQualityRequest(current, { maxBitrateKbps: 2_500 }, DUAL, policy);
    expect(withChroma(chosen, true, policy).maxBitrateKbps).toBe(2_500);
    expect(applyQualityRequest(withChroma(chosen, true, policy), { fps: 60 }, DUAL, policy).maxBitrateKbps).toBe(2_500);
  });

  it('computes the region of a monitor and of all of them', () => {
    expect(regionOf(DUAL, 'HDMI-1')).toEqual({ x: 2560, y: 0, width: 1920, height: 1080 });
    expect(regionOf(DUAL, 'all')).toEqual({ x: 0, y: 0, width: 4480, height: 1440 });
    expect(regionOf(DUAL, 'missing')).toBeUndefined();
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
