/**
 * What the client receives, read from a real Chromium's getStats(): codec,
 * resolution and frame rate follow the client's request, clamped to the
 * session policy and to what this host encodes, with real capture on Xvfb
 * and the encoded pipeline (libx264 on libdatachannel, built as the agent
 * builds it). The capture is ffmpeg's x11grab (the agent's `--capture
 * ffmpeg`, and its fallback), which grabs at the requested rate whatever the
 * screen does, so the rate the client decodes shows the request; the XCB
 * capture is damage-driven and sends a still screen at 5 fps
 * (encoded-pipeline.test.ts runs that one).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from '../../src/shared/policy.js';
import { X11GrabCapture } from '../../src/host/capture/x11grab-capture.js';
import { loadAvNative } from '../../src/host/encoder/av-native.js';
import type { EncodedStreamStats } from '../../src/host/encoder/encoded-stream.js';
import type { SelectedPipeline } from '../../src/host/pipeline/select.js';
import { HostSession, type SessionEndReason } from '../../src/host/session.js';
import { openBrowserClient, openEncodedPipeline, selectLibx264, SignalRelay, type BrowserClient } from './helpers/browser-client.js';
import { pollUntil, type BrowserPeerOptions, type InboundVideo } from './helpers/browser-peer.js';
import { RecordingInjector } from './helpers/recording-injector.js';
import { startXvfb, xrun, type Xvfb } from './helpers/xvfb.js';

const addon = loadAvNative();
const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });

/**
 * The ceiling the bitrate test caps the stream at: the bitrate controller's
 * floor (MIN_BITRATE_KBPS), the lowest ceiling this host really applies.
 */
const LOW_CEILING_KBPS = 300;
/**
 * Low-contrast noise for the bitrate tests: every frame is new, but x264 can
 * make it cheap, so the rate follows the encoder's target (on full-contrast
 * noise x264 sent 1.2 Mbit/s at its highest quantiser against 300 kbps).
 */
const CHEAP_NOISE = ['#707070', '#909090'] as const;
/** The bitrate test waits on two rate changes, each bounded by its own poll. */
const BITRATE_TEST_TIMEOUT_MS = 90_000;

interface Running {
  session: HostSession;
  client: BrowserClient;
  relay: SignalRelay;
  ended: SessionEndReason[];
  /** The session's log lines, parsed. */
  logs: { msg: string; err?: string }[];
}

/** Motion: the root window tiled with random bitmaps in `fg` and `bg`, changing ten times a second. */
async function startNoise(display: string, fg = 'red', bg = 'blue'): Promise<{ stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'backlot-noise-'));
  const files: string[] = [];
  for (let i = 0; i < 4; i++) {
    const bytes = randomBytes(128 * 128 / 8);
    const hex = [...bytes].map((b) => `0x${b.toString(16).padStart(2, '0')}`);
    // Twelve values a line: Xlib's XReadBitmapFile reads lines into a 255-byte
    // buffer, and xsetroot refuses a file with the data on one long line
    // ("bad bitmap format file"), which left this "noise" a still screen.
    const body = Array.from({ length: Math.ceil(hex.length / 12) }, (_, line) => hex.slice(line * 12, line * 12 + 12).join(', ')).join(',\n');
    const file = join(dir, `n${i}.xbm`);
    await writeFile(file, `#define n_width 128\n#define n_height 128\nstatic unsigned char n_bits[] = {\n${body}\n};\n`);
    files.push(file);
    // Fails the test here if xsetroot refuses the file (the loop below would hide it).
    await xrun(display, 'xsetroot', ['-bitmap', file, '-fg', fg, '-bg', bg]);
  }
  const script = `while true; do for f in ${files.join(' ')}; do xsetroot -display ${display} -bitmap $f -fg '${fg}' -bg '${bg}'; sleep 0.1; done; done`;
  const proc = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true });
  return {
    async stop() {
      process.kill(-proc.pid!, 'SIGTERM');
      await rm(dir, { recursive: true, force: true });
      await xrun(display, 'xsetroot', ['-solid', '#336699']);
    },
  };
}

describe.skipIf(!addon.ok)('stream quality as the client receives it', () => {
  let xvfb: Xvfb;
  let selected: SelectedPipeline;
  let running: Running | undefined;

  beforeAll(async () => {
    xvfb = await startXvfb('1280x720');
    await xrun(xvfb.display, 'xsetroot', ['-solid', '#336699']);
    selected = await selectLibx264(logger);
  });
  afterEach(async () => {
    await running?.client.close();
    await running?.session.end('agent-stopping');
    running = undefined;
  });
  afterAll(async () => {
    await xvfb?.stop();
  });

  /** A started session and Chromium offering to it; `streaming` waits for the channels and the first decoded frame. */
  async function connect(policy: SessionPolicy, fps = 30, peer: BrowserPeerOptions = {}): Promise<Running> {
    const capture = new X11GrabCapture({ display: xvfb.display, logger });
    const relay = new SignalRelay();
    const ended: SessionEndReason[] = [];
    const logs: Running['logs'] = [];
    const sessionLogger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Running['logs'][number]) });
    const session = new HostSession({
      sessionId: 'quality-1',
      user: 'alice',
      iceServers: [],
      policy,
      fps,
      capture,
      openPipeline: openEncodedPipeline(selected, capture, policy, sessionLogger),
      openInjector: () => Promise.resolve(new RecordingInjector()),
      logger: sessionLogger,
      sendSignal: relay.toClient,
      onEnded: (reason) => ended.push(reason),
    });
    await session.start();
    const client = await openBrowserClient(relay, (data) => session.signal(data), peer);
    running = { session, client, relay, ended, logs };
    return running;
  }

  async function streaming(policy: SessionPolicy, fps = 30): Promise<Running> {
    const r = await connect(policy, fps);
    await r.client.peer.channelsOpen();
    await pollUntil('a decoded frame', () => r.client.peer.inbound(), (v) => (v?.framesDecoded ?? 0) > 0);
    return r;
  }

  const video = (r: Running): Promise<InboundVideo | undefined> => r.client.peer.inbound();
  const encoderStats = async (r: Running): Promise<EncodedStreamStats> => (await r.session.mediaStats())?.encoder as EncodedStreamStats;

  /**
   * Average received video bitrate over a window. A bitrate is a rate over time,
   * so this keeps a window, but divides by the time measured between the two
   * readings rather than the time asked for: a late timer or a slow getStats()
   * on a loaded machine lengthens the window without skewing the rate.
   */
  async function receivedKbps(r: Running, windowMs = 3_000): Promise<number> {
    const a = (await video(r))!.bytesReceived;
    const from = performance.now();
    await new Promise((res) => setTimeout(res, windowMs));
    const b = (await video(r))!.bytesReceived;
    return ((b - a) * 8) / (performance.now() - from);
  }

  /** Measures 1 s windows until one passes `check`, and returns its rate; throws with the rates seen after `timeoutMs`. */
  async function kbpsUntil(r: Running, check: (kbps: number) => boolean, timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const seen: number[] = [];
    for (;;) {
      const kbps = await receivedKbps(r, 1_000);
      seen.push(Math.round(kbps));
      if (check(kbps)) return kbps;
      if (Date.now() > deadline) throw new Error(`the received rate never matched; 1 s windows: ${seen.join(', ')} kbps`);
    }
  }

  it('starts at native size in H.264, the first of the policy\'s codecs both ends have, then follows a quality request', async () => {
    const r = await streaming(DEFAULT_SESSION_POLICY);
    const hello = await r.client.nextControl('hello');
    expect(hello.monitors).toEqual([{ id: 'screen0', name: 'Screen 0', x: 0, y: 0, width: 1280, height: 720, primary: true }]);
    expect(hello.applied).toMatchObject({ monitor: 'screen0', width: 1280, height: 720, fps: 30, codec: 'H264' });
    // The receiver's rate estimate overshoots for the first second; wait for it to settle near 30.
    const first = await pollUntil('1280x720 at ~30 fps', () => video(r), (v) => v?.frameWidth === 1280 && Math.abs(v.framesPerSecond - 30) <= 4);
    expect(first).toMatchObject({ codec: expect.stringMatching(/^video\/H264 /) as unknown, frameWidth: 1280, frameHeight: 720 });

    await r.client.sendControl({ type: 'quality', request: { width: 640, height: 360, fps: 15, maxBitrateKbps: 2_000 } });
    const applied = await r.client.nextControl('quality.applied');
    expect(applied.applied).toMatchObject({ width: 640, height: 360, fps: 15, maxBitrateKbps: 2_000, codec: 'H264' });
    // Give the 30 fps window time to drain out of the receiver's rate estimate.
    const scaled = await pollUntil('640x360 at ~15 fps', () => video(r), (v) => v?.frameWidth === 640 && Math.abs(v.framesPerSecond - 15) <= 3);
    expect(scaled).toMatchObject({ codec: expect.stringMatching(/^video\/H264 /) as unknown, frameWidth: 640, frameHeight: 360 });
  });

  it('reports what the encoder costs and negotiates the playout-delay extension', async () => {
    const noise = await startNoise(xvfb.display);
    try {
      const r = await streaming(DEFAULT_SESSION_POLICY);
      await r.client.nextControl('hello');
      // Over the same (measured) interval, what the host encoded and what the client decoded.
      const from = { encoded: (await encoderStats(r)).framesEncoded, decoded: (await video(r))!.framesDecoded };
      await pollUntil('20 more frames decoded', () => video(r), (v) => (v?.framesDecoded ?? 0) >= from.decoded + 20);
      const media = await r.session.mediaStats();
      expect(media).toMatchObject({ pipeline: 'encoded', video: { codec: 'H264', chroma444: false, encoder: 'libx264' } });
      const stats = media!.encoder as EncodedStreamStats;
      const decoded = (await video(r))!.framesDecoded - from.decoded;
      const encoded = stats.framesEncoded - from.encoded;
      expect(stats).toMatchObject({ encoder: 'libx264', codec: 'H264', pixelFormat: 'yuv420p', width: 1280, height: 720 });
      // Under this noise the rate is what the machine allows (the 2-core build
      // machine runs well under 30 fps), so the encoder's count is checked
      // against the client's, give or take the few frames in flight.
      expect(Math.abs(encoded - decoded), `encoder ${encoded} frames, client decoded ${decoded}`).toBeLessThanOrEqual(Math.max(3, decoded * 0.25));
      expect(stats.encodeMs).toBeGreaterThan(0);
      expect(stats.bytesSent).toBeGreaterThan(0);
      expect(await r.client.peer.remoteSdp()).toContain('http://www.webrtc.org/experiments/rtp-hdrext/playout-delay');
    } finally {
      await noise.stop();
    }
  });

  it('clamps to policy, and sends H.264 when the studio lists codecs this host cannot encode first', async () => {
    // The encoded host encodes H.264 only: AV1, VP9 and VP8 are in policy and in Chromium's offer, but not sendable.
    const policy: SessionPolicy = { ...DEFAULT_SESSION_POLICY, codecs: ['AV1', 'VP9', 'VP8', 'H264'], maxFps: 20, maxWidth: 960, maxHeight: 540 };
    const r = await streaming(policy, 60);
    const hello = await r.client.nextControl('hello');
    expect(hello.applied).toMatchObject({ width: 960, height: 540, fps: 20, codec: 'H264' });
    expect(hello.stream).toMatchObject({ codec: 'H264', codecs: ['H264'] });
    await r.client.sendControl({ type: 'quality', request: { width: 1920, height: 1080, fps: 60, codec: 'AV1' } });
    const applied = await r.client.nextControl('quality.applied');
    // A codec the host cannot send is ignored; the reply shows what stays.
    expect(applied.applied).toMatchObject({ width: 960, height: 540, fps: 20, codec: 'H264' });
    const s = await pollUntil('960x540 at ~20 fps', () => video(r), (v) => v?.frameWidth === 960 && Math.abs(v.framesPerSecond - 20) <= 3);
    expect(s).toMatchObject({ codec: expect.stringMatching(/^video\/H264 /) as unknown, frameWidth: 960, frameHeight: 540 });
    expect((await r.client.controls()).filter((m) => m.type === 'error')).toEqual([]);
  });

  it('refuses, with a reason, an offer without H.264 and a policy without it', async () => {
    const cases: [string, SessionPolicy, BrowserPeerOptions][] = [
      ['a client offering only VP8, VP9 and AV1', DEFAULT_SESSION_POLICY, { codecs: ['video/VP8', 'video/VP9', 'video/AV1'] }],
      ['a policy allowing only VP8 and AV1', { ...DEFAULT_SESSION_POLICY, codecs: ['VP8', 'AV1'] }, {}],
    ];
    for (const [what, policy, peer] of cases) {
      const r = await connect(policy, 30, peer);
      await pollUntil(`the session ends (${what})`, () => Promise.resolve(r.ended), (e) => e.length > 0);
      expect(r.ended, what).toEqual(['peer-error']);
      expect(r.logs.find((l) => l.msg === 'session ending')?.err, what).toMatch(/^ERR_CODEC_UNAVAILABLE: .*no video format/);
      // Refused at the offer: no answer went back, so nothing connects.
      expect(r.relay.record.filter((s) => s.from === 'host'), what).toEqual([]);
      expect((await r.client.peer.connection()).connection, what).toBe('new');
      await r.client.close();
      running = undefined;
    }
  });

  it('honours the bitrate ceiling, then climbs when it is raised', async () => {
    const noise = await startNoise(xvfb.display, ...CHEAP_NOISE);
    try {
      const r = await streaming(DEFAULT_SESSION_POLICY);
      await r.client.nextControl('hello');
      await r.client.sendControl({ type: 'quality', request: { width: 640, height: 360 } });
      await r.client.nextControl('quality.applied');
      await pollUntil('640x360 decoded', () => video(r), (v) => v?.frameWidth === 640);
      await r.client.sendControl({ type: 'quality', request: { maxBitrateKbps: LOW_CEILING_KBPS } });
      await r.client.nextControl('quality.applied');
      // Loose: the ceiling is the encoder's target, not a hard cap per second.
      // The new ceiling has taken hold once a second's worth of stream is under it
      // (what was already encoded at the old rate drains first); then measure.
      await kbpsUntil(r, (kbps) => kbps < LOW_CEILING_KBPS * 1.5);
      const low = await receivedKbps(r);
      expect(low).toBeLessThan(LOW_CEILING_KBPS * 1.5);
      await r.client.sendControl({ type: 'quality', request: { maxBitrateKbps: 20_000 } });
      expect((await r.client.nextControl('quality.applied')).applied).toMatchObject({ maxBitrateKbps: 20_000 });
      // After the first REMB the target climbs towards a raised ceiling only as
      // the receiver's estimate grows (bitrate.ts): bounded, not immediate.
      const high = await kbpsUntil(r, (kbps) => kbps > low * 2, 30_000);
      expect(high).toBeGreaterThan(low * 2);
    } finally {
      await noise.stop();
    }
  }, BITRATE_TEST_TIMEOUT_MS);

  // EncodedStream.encoderFor reopens the encoder for the new size; a target set
  // while it opens (this request's ceiling, applied right after the capture's
  // reconfigure) is given to the new encoder once it is open (it was dropped:
  // x264 stayed at the old 1 Mbit/s).
  it('applies a ceiling sent together with a new size', async () => {
    const noise = await startNoise(xvfb.display, ...CHEAP_NOISE);
    try {
      const r = await streaming(DEFAULT_SESSION_POLICY);
      await r.client.nextControl('hello');
      await r.client.sendControl({ type: 'quality', request: { width: 640, height: 360, maxBitrateKbps: LOW_CEILING_KBPS } });
      await r.client.nextControl('quality.applied');
      await kbpsUntil(r, (kbps) => kbps < LOW_CEILING_KBPS * 1.5, 10_000);
    } finally {
      await noise.stop();
    }
  });

  // libwebrtc held a low ceiling on any content by dropping frames; the encoded
  // pipeline has no frame dropper, and x264 at its highest quantiser still
  // overshoots on incompressible motion (4x a 300 kbps target at 640x360, 30 fps).
  it.todo('holds a low ceiling on incompressible motion (by dropping frames)');

  it('answers an explicit keyframe request with a keyframe the client decodes', async () => {
    const r = await streaming(DEFAULT_SESSION_POLICY);
    await r.client.nextControl('hello');
    const before = await pollUntil('frames after the first keyframe', () => video(r), (v) => (v?.framesDecoded ?? 0) >= 5 && v!.keyFramesDecoded >= 1);
    const forced = (await encoderStats(r)).keyframes.forced;
    await r.client.sendControl({ type: 'keyframe' });
    const after = await pollUntil('a new keyframe decoded', () => video(r), (v) => (v?.keyFramesDecoded ?? 0) > before!.keyFramesDecoded);
    expect(after!.keyFramesDecoded).toBe(before!.keyFramesDecoded + 1);
    const stats = await encoderStats(r);
    expect(stats.keyframes.requested.client).toBe(1);
    expect(stats.keyframes.forced).toBe(forced + 1);
    expect(r.session.stats().control.keyframeRequests).toBe(1);
    // The old wrtc host answered ERR_KEYFRAME_UNSUPPORTED; this one just sends it.
    expect((await r.client.controls()).filter((m) => m.type === 'error')).toEqual([]);
  });
});
