/**
 * Which encoders the agent runs: probed on this machine's real
 * libavcodec (no GPU here, so the hardware encoders give their reasons and
 * libx264 wins), with a missing addon standing in only where the real one
 * is present.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadAvNative } from '../../src/host/encoder/av-native.js';
import { selectPipeline, sessionEncoders, type SelectedPipeline } from '../../src/host/pipeline/select.js';
import { DEFAULT_SESSION_POLICY } from '../../src/shared/policy.js';

const logger = pino({ level: 'silent' });
const load = loadAvNative();
const missing = () => ({ ok: false as const, reason: 'the av-encoder addon is not built (test)' });

describe('selectPipeline', () => {
  it('stops the agent with the reason when the encoder addon is missing: there is no other pipeline to fall back to', async () => {
    await expect(selectPipeline({ encoder: 'auto', fps: 30, logger, loadNative: missing })).rejects.toMatchObject({
      code: 'ERR_CODEC_UNAVAILABLE',
      message: expect.stringContaining('not built (test)') as unknown,
    });
  });

  it('refuses an encoder name it does not know', async () => {
    await expect(selectPipeline({ encoder: 'x265-turbo', fps: 30, logger })).rejects.toMatchObject({ code: 'ERR_BAD_OPTIONS' });
  });

  it.skipIf(!load.ok)('probes hardware first and keeps libx264 on this GPU-less machine, saying why of each', async () => {
    const selected = await selectPipeline({ encoder: 'auto', width: 640, height: 360, fps: 30, logger });
    expect(selected.kind).toBe('encoded');
    expect(selected.encoders[0]).toBe('libx264');
    expect(selected.why).toMatch(/h264_nvenc: .+;.*libx264: [\d.]+ ms\/frame ≤ 25 ms: chosen/);
    const byName = Object.fromEntries(selected.probe.candidates.map((c) => [c.name, c.status]));
    expect(byName).toMatchObject({ h264_nvenc: 'failed', h264_vaapi: 'failed', h264_qsv: 'failed', libx264: 'chosen' });
  });

  it.skipIf(!load.ok)('a forced hardware encoder that cannot open stops the agent with libav\'s reason', async () => {
    await expect(selectPipeline({ encoder: 'h264_nvenc', width: 640, height: 360, fps: 30, logger })).rejects.toMatchObject({
      code: 'ERR_CODEC_UNAVAILABLE',
      message: expect.stringMatching(/h264_nvenc.*(libcuda|CUDA|nvenc)/i) as unknown,
    });
  });
});

describe('sessionEncoders', () => {
  const gpu = { kind: 'encoded', encoders: ['h264_nvenc', 'libx264'], why: 'test', native: load.ok ? load.native : undefined } as unknown as SelectedPipeline;

  it('keeps the probe\'s order under `auto`, and only software encoders under `software`', () => {
    expect(sessionEncoders(gpu, DEFAULT_SESSION_POLICY)).toEqual(['h264_nvenc', 'libx264']);
    expect(sessionEncoders(gpu, { ...DEFAULT_SESSION_POLICY, videoEncoder: 'software' })).toEqual(['libx264']);
  });

  it.skipIf(!load.ok)('gives libx264 under `software` even when the agent was forced onto a GPU encoder', () => {
    expect(sessionEncoders({ ...gpu, encoders: ['h264_nvenc'] }, { ...DEFAULT_SESSION_POLICY, videoEncoder: 'software' })).toEqual(['libx264']);
  });
});
