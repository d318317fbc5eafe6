/**
 * The encoded pipeline against a real Chromium on loopback: Xvfb → in-process
 * capture → libx264 → libdatachannel → the browser's decoder. What the wire
 * carries is checked on the browser's side (its getStats), what the host did
 * on the pipeline's own stats.
 */
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { XcbCapture } from '../../src/host/capture/xcb-capture.js';
import { loadAvNative } from '../../src/host/encoder/av-native.js';
import type { EncodedStreamStats } from '../../src/host/encoder/encoded-stream.js';
import type { HostError } from '../../src/host/errors.js';
import type { MediaPipeline } from '../../src/host/pipeline/pipeline.js';
import { openPipeline, selectPipeline } from '../../src/host/pipeline/select.js';
import { captureSettingsFor, initialQuality } from '../../src/host/quality.js';
import type { DataChannel } from '../../src/host/transport/channel.js';
import { loadXcbNative } from '../../src/host/capture/xcb-native.js';
import { DATA_CHANNELS } from '../../src/shared/constants.js';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from '../../src/shared/policy.js';
import { openBrowserPeer, pollUntil, type BrowserPeer } from './helpers/browser-peer.js';
import { startXvfb, type Xvfb } from './helpers/xvfb.js';

const addonsMissing = [loadAvNative(), loadXcbNative()].flatMap((l) => (l.ok ? [] : [l.reason]));

interface Running {
  pipeline: MediaPipeline;
  browser: BrowserPeer;
  errors: HostError[];
  /** The host's SDP answers, in order. */
  answers: string[];
  control: DataChannel;
  encoderStats: () => Promise<EncodedStreamStats>;
}

describe.skipIf(addonsMissing.length > 0)('encoded pipeline to Chromium', () => {
  let xvfb: Xvfb;
  let running: Running | undefined;
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

  beforeAll(async () => {
    xvfb = await startXvfb('1280x720');
  });
  afterAll(async () => {
    await xvfb?.stop();
  });
  afterEach(async () => {
    await running?.pipeline.close();
    await running?.browser.close();
    running = undefined;
  });

  async function start(policy: SessionPolicy = DEFAULT_SESSION_POLICY, prefer444 = false, playoutDelayMaxMs: number | null = 0): Promise<Running> {
    const selected = await selectPipeline({ encoder: 'libx264', width: 1280, height: 720, fps: 30, logger });
    const capture = new XcbCapture({ display: xvfb.display, logger });
    const monitors = await capture.monitors();
    const quality = initialQuality(monitors, policy, 30);
    const errors: HostError[] = [];
    // The host may signal before the page exists: early signals wait here.
    const page: { peer?: BrowserPeer } = {};
    const early: Parameters<BrowserPeer['signal']>[0][] = [];
    const answers: string[] = [];
    const pipeline = openPipeline(
      selected,
      { capture, policy, iceServers: [], quality, playoutDelayMaxMs, bindAddress: '127.0.0.1', logger },
      {
        onSignal: (data) => {
          if (data.type === 'answer') answers.push(data.sdp);
          if (page.peer) void page.peer.signal(data);
          else early.push(data);
        },
        onConnect: () => {},
        onClose: () => {},
        onError: (err) => errors.push(err),
        onMediaFailure: (err) => errors.push(err),
      },
    );
    await pipeline.start(captureSettingsFor(quality, monitors), monitors);
    const control = pipeline.createDataChannel(DATA_CHANNELS.control.label, { negotiated: true, id: DATA_CHANNELS.control.id, ordered: true });
    pipeline.createDataChannel(DATA_CHANNELS.input.label, { negotiated: true, id: DATA_CHANNELS.input.id, ordered: true });
    pipeline.createDataChannel(DATA_CHANNELS.pointer.label, { negotiated: true, id: DATA_CHANNELS.pointer.id, ordered: false, maxRetransmits: 0 });
    const browser = await openBrowserPeer((data) => pipeline.signal(data), { prefer444 });
    page.peer = browser;
    for (const data of early.splice(0)) await browser.signal(data);
    pipeline.signal(await browser.offer());
    running = {
      pipeline,
      browser,
      errors,
      answers,
      control,
      encoderStats: async () => (await pipeline.stats()).encoder as EncodedStreamStats,
    };
    return running;
  }

  it('streams H.264 Constrained Baseline that Chromium decodes, with render-on-arrival playout and the data channels open', async () => {
    const { browser, control, errors, answers } = await start();
    await browser.channelsOpen();
    const video = await pollUntil('frames decoded', () => browser.inbound(), (v) => (v?.framesDecoded ?? 0) >= 10);
    expect(video?.codec).toMatch(/^video\/H264 .*profile-level-id=42e01f/);
    expect(video).toMatchObject({ frameWidth: 1280, frameHeight: 720 });
    // The playout-delay extension (0/0) keeps the jitter buffer near empty.
    expect(video!.jitterBufferMs).toBeLessThan(40);
    // Both extensions the packetizer writes are in the answer: abs-send-time feeds Chromium's bandwidth estimate.
    expect(answers[0]).toMatch(/a=extmap:\d+ http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/abs-send-time/);
    expect(answers[0]).toMatch(/a=extmap:\d+ http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/playout-delay/);
    // Control flows both ways on the same connection.
    await pollUntil('control channel open', () => Promise.resolve(control.readyState), (s) => s === 'open');
    control.send('{"type":"pong","id":1,"sentAt":0}');
    await browser.sendControl('hello from the page');
    expect(await pollUntil('control message', () => browser.controlMessages(), (m) => m.length > 0)).toEqual(['{"type":"pong","id":1,"sentAt":0}']);
    expect(errors).toEqual([]);
  });

  it('leaves the receiver its adaptive jitter buffer when no playout delay is set (--playout-delay-max adaptive)', async () => {
    const { browser, answers } = await start(DEFAULT_SESSION_POLICY, false, null);
    await pollUntil('frames decoded', () => browser.inbound(), (v) => (v?.framesDecoded ?? 0) >= 5);
    expect(answers[0]).not.toMatch(/playout-delay/);
    expect(answers[0]).toMatch(/abs-send-time/);
  });

  it('answers a keyframe request with an IDR the browser decodes, at most a few per second', async () => {
    const { browser, pipeline, encoderStats } = await start();
    const before = await pollUntil('first frames', () => browser.inbound(), (v) => (v?.framesDecoded ?? 0) >= 5);
    for (let i = 0; i < 10; i++) pipeline.requestKeyframe('client');
    const after = await pollUntil('a new keyframe decoded', () => browser.inbound(), (v) => (v?.keyFramesDecoded ?? 0) > before!.keyFramesDecoded);
    expect(after!.keyFramesDecoded).toBe(before!.keyFramesDecoded + 1);
    const stats = await encoderStats();
    // Ten requests in a burst collapse into one forced keyframe (start + this one).
    expect(stats.keyframes.requested.client).toBe(10);
    expect(stats.keyframes.forced).toBeLessThanOrEqual(3);
    expect(stats.encoder).toBe('libx264');
  });

  it('sends full colour (High 4:4:4) when the client puts it first and policy allows it, and 4:2:0 when policy forbids it', async () => {
    const full = await start(DEFAULT_SESSION_POLICY, true);
    const video = await pollUntil('4:4:4 frames decoded', () => full.browser.inbound(), (v) => (v?.framesDecoded ?? 0) >= 5);
    expect(video?.codec).toMatch(/profile-level-id=f4001f/);
    expect(full.pipeline.negotiated()).toMatchObject({ codec: 'H264', chroma444: true });
    expect((await full.encoderStats()).pixelFormat).toBe('yuv444p');
    await full.pipeline.close();
    await full.browser.close();
    running = undefined;

    const limited = await start({ ...DEFAULT_SESSION_POLICY, chroma444: false }, true);
    const plain = await pollUntil('4:2:0 frames decoded', () => limited.browser.inbound(), (v) => (v?.framesDecoded ?? 0) >= 5);
    expect(plain?.codec).toMatch(/profile-level-id=42e01f/);
    expect((await limited.encoderStats()).pixelFormat).toBe('yuv420p');
  });

  it('hears the receiver: REMB reaches the bitrate controller, which does not raise an allowance a still desktop leaves unused', async () => {
    const { browser, encoderStats } = await start();
    await pollUntil('frames', () => browser.inbound(), (v) => (v?.framesDecoded ?? 0) > 0);
    const startKbps = (await encoderStats()).bitrate.targetKbps;
    // Chromium sends its first REMB about 5 s after media starts (measured).
    const stats = await pollUntil('a REMB', encoderStats, (s) => s.bitrate.rembKbps !== undefined, 20_000);
    expect(stats.bitrate.rembKbps).toBeGreaterThan(0);
    // Xvfb's desktop is still: the encoder sends a fraction of its target, so REMB is no reason to raise it.
    expect(stats.bitrate.sentKbps).toBeLessThan(startKbps / 2);
    expect(stats.bitrate.targetKbps).toBeLessThanOrEqual(startKbps);
  }, 30_000);

  it('renegotiates with the same ICE credentials, and refuses an ICE restart with a reason', async () => {
    const { browser, pipeline, errors } = await start();
    await pollUntil('frames', () => browser.inbound(), (v) => (v?.framesDecoded ?? 0) > 0);
    pipeline.signal(await browser.reoffer());
    const decoded = (await browser.inbound())!.framesDecoded;
    await pollUntil('frames after renegotiation', () => browser.inbound(), (v) => (v?.framesDecoded ?? 0) > decoded + 5);
    expect(errors).toEqual([]);
    pipeline.signal(await browser.reoffer({ iceRestart: true }));
    expect(errors.map((e) => [e.code, e.message])).toEqual([['ERR_PEER_FAILED', expect.stringMatching(/restarted ICE.*fresh grant/)]]);
  });
});
