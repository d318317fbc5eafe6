/**
 * The av-encoder addon (libavcodec on a worker thread) against the real
 * libavcodec of this machine: the Annex-B stream it writes is decoded back by
 * the ffmpeg CLI, NAL headers are read here, and the hardware encoders, which
 * cannot run on a GPU-less machine, must fail with libav's reason.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { avFrameSize, loadAvNative, type AvHandle, type AvNative, type AvOpenOptions, type AvPixelFormat } from '../../src/host/encoder/av-native.js';
import { median, probeEncoders, synthFrame } from '../../src/host/encoder/probe.js';

const execFileAsync = promisify(execFile);
const load = loadAvNative();
const W = 1280;
const H = 720;
const BASE: AvOpenOptions = { codec: 'libx264', width: W, height: H, fps: 30, bitrateKbps: 4000, threads: 2 };
/** No render node and no NVIDIA device: the hardware encoders must fail to open here. */
const GPULESS = !existsSync('/dev/dri') && !existsSync('/dev/nvidiactl');
const HAS_FFPROBE = existsSync('/usr/bin/ffprobe') && existsSync('/usr/bin/ffmpeg');

/** NAL unit types of an Annex-B H.264 access unit, in order. */
function nalTypes(au: Uint8Array): number[] {
  const types: number[] = [];
  for (let i = 0; i + 3 < au.length; i++) {
    if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1) {
      types.push(au[i + 3]! & 0x1f);
      i += 3;
    }
  }
  return types;
}

/** A few distinct frames of the moving pattern, reused round-robin (making a 1080p frame costs a few ms). */
function framesOf(width: number, height: number, format: AvPixelFormat, count = 6): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => synthFrame(width, height, format, i * 5));
}

interface Encoded {
  units: Buffer[];
  keyframes: boolean[];
  times: number[];
}

async function encodeRun(native: AvNative, handle: AvHandle, frames: Uint8Array[], count: number, firstPts = 0, forceAt: ReadonlySet<number> = new Set()): Promise<Encoded> {
  const out: Encoded = { units: [], keyframes: [], times: [] };
  for (let i = 0; i < count; i++) {
    const r = await native.encode(handle, frames[i % frames.length]!, { pts: firstPts + i, forceKeyframe: forceAt.has(i) });
    expect(r.data, `frame ${i} gave no access unit (x264 zerolatency should give one per frame)`).not.toBeNull();
    expect(r.pts).toBe(firstPts + i);
    out.units.push(r.data!);
    out.keyframes.push(r.keyframe);
    out.times.push(r.encodeMs + r.convertMs);
  }
  return out;
}

interface Probed {
  width: number;
  height: number;
  pix_fmt: string;
  profile: string;
  color_range: string;
  color_space: string;
  color_primaries: string;
  color_transfer: string;
  nb_read_frames: string;
}

async function ffprobe(file: string): Promise<Probed> {
  const { stdout } = await execFileAsync('ffprobe', [
    '-v', 'error', '-f', 'h264', '-count_frames', '-select_streams', 'v:0',
    '-show_entries', 'stream=width,height,pix_fmt,profile,color_range,color_space,color_primaries,color_transfer,nb_read_frames',
    '-of', 'json', file,
  ]);
  return (JSON.parse(stdout) as { streams: Probed[] }).streams[0]!;
}

describe('the av-encoder addon', () => {
  it('is built on this machine (npm install builds it; CI installs libavcodec-dev)', () => {
    expect(load.ok ? 'loaded' : load.reason).toBe('loaded');
  });
});

describe.runIf(load.ok)('av-encoder with libx264', () => {
  const native = (load as { native: AvNative }).native;
  let dir: string;
  let frames720: Uint8Array[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backlot-av-'));
    frames720 = framesOf(W, H, 'yuv420p');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the encoders of this libavcodec build, libx264 among them', () => {
    const names = native.encoders();
    expect(names).toContain('libx264');
    for (const n of names) expect(['libx264', 'h264_nvenc', 'h264_vaapi', 'h264_qsv', 'hevc_nvenc', 'hevc_vaapi', 'hevc_qsv', 'libsvtav1', 'av1_nvenc', 'av1_vaapi', 'av1_qsv']).toContain(n);
  });

  it.runIf(HAS_FFPROBE)('writes an Annex-B stream ffmpeg decodes, IDRs carrying SPS/PPS, only where asked', async () => {
    const handle = await native.open(BASE);
    let run: Encoded;
    try {
      run = await encodeRun(native, handle, frames720, 30, 0, new Set([15]));
      expect(native.info(handle)).toMatchObject({ codec: 'libx264', hardware: false, width: W, height: H, inputFormat: 'yuv420p', threads: 2, framesIn: 30, zeroCopy: true });
    } finally {
      native.close(handle);
    }
    const types = run.units.map(nalTypes);
    // First frame: SPS (7), PPS (8), then IDR slices (5).
    expect(run.keyframes[0]).toBe(true);
    expect(types[0]).toEqual(expect.arrayContaining([7, 8, 5]));
    expect(types[0]!.indexOf(7)).toBeLessThan(types[0]!.indexOf(5));
    expect(types[0]!.indexOf(8)).toBeLessThan(types[0]!.indexOf(5));
    // The forced keyframe mid-stream: an IDR with its parameter sets again.
    expect(run.keyframes[15]).toBe(true);
    expect(types[15]).toEqual(expect.arrayContaining([7, 8, 5]));
    // Everything else: non-IDR slices (1) only, never flagged key.
    for (let i = 1; i < 30; i++) {
      if (i === 15) continue;
      expect(run.keyframes[i], `frame ${i}`).toBe(false);
      expect(types[i]!.every((t) => t === 1), `frame ${i}: NAL types ${types[i]!.join(',')}`).toBe(true);
    }

    const file = join(dir, 'x264-420.h264');
    await writeFile(file, Buffer.concat(run.units));
    const probed = await ffprobe(file);
    expect(probed).toMatchObject({
      width: W,
      height: H,
      pix_fmt: 'yuv420p',
      // ultrafast uses no CABAC and no 8x8 transform, so x264 writes the least profile that covers it:
      // Constrained Baseline (42e0..), which every WebRTC H.264 decoder takes.
      profile: 'Constrained Baseline',
      color_range: 'tv',
      color_space: 'smpte170m',
      color_primaries: 'bt709',
      color_transfer: 'iec61966-2-1',
      nb_read_frames: '30',
    });
    // And a full decode is clean.
    const { stderr } = await execFileAsync('ffmpeg', ['-v', 'error', '-f', 'h264', '-i', file, '-f', 'null', '-']);
    expect(stderr).toBe('');
  });

  it('reports the profile and level read from the SPS it wrote', async () => {
    const handle = await native.open(BASE);
    try {
      expect(native.info(handle).profile).toBeNull();
      await native.encode(handle, frames720[0]!, { pts: 0 });
      expect(native.info(handle)).toMatchObject({ profile: 'Constrained Baseline', level: 3.1 });
    } finally {
      native.close(handle);
    }
  });

  it.runIf(HAS_FFPROBE)('writes the colour it was told into the VUI', async () => {
    const handle = await native.open({ ...BASE, colour: { range: 'full', matrix: 'bt709' } });
    let run: Encoded;
    try {
      run = await encodeRun(native, handle, frames720, 3);
    } finally {
      native.close(handle);
    }
    const file = join(dir, 'x264-709.h264');
    await writeFile(file, Buffer.concat(run.units));
    expect(await ffprobe(file)).toMatchObject({ color_range: 'pc', color_space: 'bt709', color_primaries: 'bt709', color_transfer: 'iec61966-2-1', nb_read_frames: '3' });
  });

  it.runIf(HAS_FFPROBE)('encodes I444 as High 4:4:4 Predictive', async () => {
    const frames = framesOf(W, H, 'yuv444p', 3);
    const handle = await native.open({ ...BASE, pixelFormat: 'yuv444p' });
    let run: Encoded;
    try {
      run = await encodeRun(native, handle, frames, 10);
      expect(native.info(handle)).toMatchObject({ inputFormat: 'yuv444p', pixelFormat: 'yuv444p', profile: 'High 4:4:4 Predictive' });
    } finally {
      native.close(handle);
    }
    const file = join(dir, 'x264-444.h264');
    await writeFile(file, Buffer.concat(run.units));
    expect(await ffprobe(file)).toMatchObject({ width: W, height: H, pix_fmt: 'yuv444p', profile: 'High 4:4:4 Predictive', color_space: 'smpte170m', color_range: 'tv', nb_read_frames: '10' });
  });

  it('follows a bitrate change between frames (x264 reconfigures in place)', async () => {
    const handle = await native.open({ ...BASE, bitrateKbps: 6000 });
    try {
      const before = await encodeRun(native, handle, frames720, 30);
      expect(native.reconfigure(handle, { bitrateKbps: 600 })).toEqual({ mode: 'dynamic' });
      const after = await encodeRun(native, handle, frames720, 30, 30);
      const avg = (e: Encoded, from: number) => e.units.slice(from).reduce((n, u) => n + u.length, 0) / (e.units.length - from);
      // Skip the IDR before and the rate controller's first frames after.
      const sizeBefore = avg(before, 5);
      const sizeAfter = avg(after, 5);
      expect(sizeAfter).toBeLessThan(sizeBefore * 0.4);
      // No keyframe was needed for the change.
      expect(after.keyframes.every((k) => !k)).toBe(true);
      expect(native.info(handle).bitrateKbps).toBe(600);
      // Roughly the target: 600 kbps at 30 fps is 2.5 kB a frame.
      expect(sizeAfter).toBeLessThan(2_500 * 2);
    } finally {
      native.close(handle);
    }
  });

  it('refuses a frame of the wrong size with a reason, and keeps working', async () => {
    const handle = await native.open(BASE);
    try {
      expect(() => native.encode(handle, new Uint8Array(avFrameSize(W, H, 'yuv420p') - 1), { pts: 0 })).toThrow(
        expect.objectContaining({ code: 'ERR_AV_FRAME_SIZE', message: `encode: frame is ${avFrameSize(W, H, 'yuv420p') - 1} bytes, but one 1280x720 I420 frame is 1382400` }),
      );
      expect(() => native.encode(handle, new Uint8Array(avFrameSize(W, H, 'yuv444p')), { pts: 0 })).toThrow(/but one 1280x720 I420 frame is/);
      expect(() => native.encode(handle, [] as unknown as Uint8Array, { pts: 0 })).toThrow(/frame must be a Uint8Array/);
      expect(() => native.encode(handle, frames720[0]!, { pts: -1 })).toThrow(/pts must be a non-negative integer/);
      const r = await native.encode(handle, frames720[0]!, { pts: 0 });
      expect(r).toMatchObject({ keyframe: true, pts: 0 });
      expect(r.data!.length).toBeGreaterThan(100);
      expect(() => native.encode(handle, frames720[1]!, { pts: 0 })).toThrow(/pts 0 does not follow the previous frame's 0/);
      await expect(native.encode(handle, frames720[1]!, { pts: 1 })).resolves.toMatchObject({ keyframe: false, pts: 1 });
    } finally {
      native.close(handle);
    }
  });

  it('refuses an encode while another is in flight on the same handle', async () => {
    const handle = await native.open(BASE);
    try {
      const first = native.encode(handle, frames720[0]!, { pts: 0 });
      expect(() => native.encode(handle, frames720[1]!, { pts: 1 })).toThrow(expect.objectContaining({ code: 'ERR_AV_BUSY', message: expect.stringMatching(/already in flight/) as unknown }));
      // A bitrate change meanwhile is taken by the next frame.
      expect(native.reconfigure(handle, { bitrateKbps: 1000 }).mode).toBe('dynamic');
      await expect(first).resolves.toMatchObject({ keyframe: true });
      await native.encode(handle, frames720[1]!, { pts: 1 });
      expect(native.info(handle).bitrateKbps).toBe(1000);
    } finally {
      native.close(handle);
    }
  });

  it('closes safely during an in-flight encode, and only once it is done', async () => {
    const handle = await native.open(BASE);
    const pending = native.encode(handle, frames720[0]!, { pts: 0 });
    native.close(handle);
    native.close(handle); // idempotent
    const r = await pending;
    expect(r.keyframe).toBe(true);
    expect(nalTypes(r.data!)).toEqual(expect.arrayContaining([7, 8, 5]));
    expect(() => native.encode(handle, frames720[1]!, { pts: 1 })).toThrow(expect.objectContaining({ code: 'ERR_AV_CLOSED' }));
    expect(() => native.info(handle)).toThrow(/closed/);
    expect(() => native.reconfigure(handle, { bitrateKbps: 1000 })).toThrow(/closed/);
  });

  it('refuses bad options with a reason instead of crashing', async () => {
    expect(() => native.open(42 as never)).toThrow(/options must be an object/);
    expect(() => native.open({ ...BASE, codec: 'libx264rgb' as never })).toThrow(expect.objectContaining({ code: 'ERR_AV_ARGS', message: expect.stringMatching(/unsupported encoder "libx264rgb" \(one of: libx264, h264_nvenc/) as unknown }));
    expect(() => native.open({ ...BASE, width: 1281 })).toThrow(/4:2:0 needs an even width and height/);
    expect(() => native.open({ ...BASE, width: 8 })).toThrow(/width and height must be integers from 16 to 8192/);
    expect(() => native.open({ ...BASE, fps: 0 })).toThrow(/fps must be an integer/);
    expect(() => native.open({ ...BASE, bitrateKbps: 1.5 })).toThrow(/bitrateKbps must be an integer/);
    expect(() => native.open({ ...BASE, pixelFormat: 'nv12' as never })).toThrow(/pixelFormat must be/);
    expect(() => native.open({ ...BASE, colour: { range: 'tv', matrix: 'bt601' } as never })).toThrow(/colour must be/);
    expect(() => native.open({ ...BASE, codec: 'h264_vaapi', pixelFormat: 'yuv444p' })).toThrow(/h264_vaapi encodes 4:2:0 only here/);
    expect(() => native.close({} as never)).toThrow(/not an encoder handle/);
    const handle = await native.open(BASE);
    try {
      expect(() => native.reconfigure(handle, { bitrateKbps: 10 })).toThrow(/bitrateKbps must be an integer from 50/);
      expect(() => native.encode(handle, frames720[0]!, undefined as never)).toThrow(/options must be/);
    } finally {
      native.close(handle);
    }
  });

  it('times 1080p frames (x264 4:2:0 on 1 and 2 threads, 4:4:4) and 720p', async ({ annotate }) => {
    const runs: { label: string; width: number; height: number; format: AvPixelFormat; threads: number }[] = [
      { label: '1080p yuv420p threads=1', width: 1920, height: 1080, format: 'yuv420p', threads: 1 },
      { label: '1080p yuv420p threads=2', width: 1920, height: 1080, format: 'yuv420p', threads: 2 },
      { label: '1080p yuv444p threads=2', width: 1920, height: 1080, format: 'yuv444p', threads: 2 },
      { label: '720p yuv420p threads=2', width: 1280, height: 720, format: 'yuv420p', threads: 2 },
    ];
    const lines: string[] = [];
    for (const run of runs) {
      const frames = framesOf(run.width, run.height, run.format, 4);
      const handle = await native.open({ codec: 'libx264', width: run.width, height: run.height, fps: 30, bitrateKbps: 8000, threads: run.threads, pixelFormat: run.format });
      try {
        const e = await encodeRun(native, handle, frames, 22);
        const m = median(e.times.slice(2));
        // Sanity only (a shared 2-core machine): a working encoder, neither free nor stalled.
        expect(m).toBeGreaterThan(0.1);
        expect(m).toBeLessThan(1_000);
        lines.push(`${run.label}: median ${m.toFixed(1)} ms/frame`);
      } finally {
        native.close(handle);
      }
    }
    await annotate(lines.join('; '));
  }, 60_000);
});

describe.runIf(load.ok && GPULESS)('hardware encoders on a machine without a GPU', () => {
  const native = (load as { native: AvNative }).native;

  it('fail to open with libav’s reason, never a crash', async () => {
    for (const codec of ['h264_nvenc', 'h264_vaapi', 'h264_qsv'] as const) {
      if (!native.encoders().includes(codec)) continue;
      // Several times: a failing open must leave nothing behind that a second one trips over.
      for (let i = 0; i < 3; i++) {
        const err = await native.open({ ...BASE, codec }).then(
          () => undefined,
          (e: unknown) => e as Error & { code: string },
        );
        expect(err, codec).toBeDefined();
        expect(err!.code).toBe('ERR_AV_OPEN');
        expect(err!.message.startsWith(`${codec}: `)).toBe(true);
        if (codec === 'h264_nvenc') expect(err!.message).toMatch(/Cannot load libcuda\.so\.1/);
        else expect(err!.message).toMatch(/No VA display found for device \/dev\/dri\/renderD128/);
      }
    }
  });

  it('leave the probe to choose libx264, saying why each one before it was passed over', async () => {
    const result = await probeEncoders({ native, width: W, height: H, fps: 30, maxEncodeMs: 250 });
    expect(result.chosen).toBe('libx264');
    expect(result.candidates.map((c) => [c.name, c.status])).toEqual([
      ['h264_nvenc', 'failed'],
      ['h264_vaapi', 'failed'],
      ['h264_qsv', 'failed'],
      ['libx264', 'chosen'],
    ]);
    expect(result.candidates[0]!.reason).toMatch(/Cannot load libcuda\.so\.1/);
    expect(result.candidates[1]!.reason).toMatch(/No VA display found/);
    expect(result.candidates[3]).toMatchObject({ ok: true, info: { codec: 'libx264', framesIn: 10 } });
    expect(result.candidates[3]!.medianEncodeMs).toBeGreaterThan(0);
    expect(result.why).toMatch(/^h264_nvenc: Cannot load libcuda\.so\.1 \(.*\); h264_vaapi: VA-API device .*; h264_qsv: QSV device .*; libx264: \d+\.\d ms\/frame ≤ 250 ms: chosen$/);
  });
});

describe.runIf(load.ok)('av-encoder with libsvtav1 (reopened for a bitrate change or a key frame)', () => {
  const native = (load as { native: AvNative }).native;
  const present = load.ok && native.encoders().includes('libsvtav1');

  it.runIf(present)('reopens on the same settings at the new rate, starting again with a keyframe', async () => {
    const frames = framesOf(640, 360, 'yuv420p', 4);
    const handle = await native.open({ codec: 'libsvtav1', width: 640, height: 360, fps: 30, bitrateKbps: 3000, threads: 2 });
    try {
      expect(native.info(handle)).toMatchObject({ kind: 'av1', dynamicBitrate: false });
      let pts = 0;
      const sizes = async (n: number, forceAt = -1) => {
        const out: { size: number; key: boolean; pts: number }[] = [];
        for (let i = 0; i < n; i++) {
          const r = await native.encode(handle, frames[i % 4]!, { pts: pts++, forceKeyframe: i === forceAt });
          if (r.data) out.push({ size: r.data.length, key: r.keyframe, pts: r.pts });
        }
        return out;
      };
      const before = await sizes(20);
      expect(before[0]!.key).toBe(true);
      expect(native.reconfigure(handle, { bitrateKbps: 200 })).toEqual({ mode: 'reopen' });
      const after = await sizes(20);
      expect(native.info(handle).bitrateKbps).toBe(200);
      expect(after[0]!.key).toBe(true);
      const avg = (s: { size: number }[]) => s.slice(3).reduce((n, x) => n + x.size, 0) / (s.length - 3);
      expect(avg(after)).toBeLessThan(avg(before) * 0.5);
      // A forced key frame (SVT-AV1 1.4 refuses them in low delay: the addon starts a new sequence).
      const forcedPts = pts + 5;
      const forced = await sizes(15, 5);
      expect(forced.filter((f) => f.key).map((f) => f.pts)).toEqual([forcedPts]);
    } finally {
      native.close(handle);
    }
  });
});
