/**
 * HostSession over a real loopback WebRTC connection to a real Chromium
 * (helpers/browser-client.ts): the encoded pipeline (libx264 on
 * libdatachannel, built as the agent builds it) streams a synthetic capture
 * to the page, and the page's input and control channels reach the
 * session's injector, clipboard and control handling.
 */
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadAvNative } from '../../src/host/encoder/av-native.js';
import type { SelectedPipeline } from '../../src/host/pipeline/select.js';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from '../../src/shared/policy.js';
import type { Clipboard } from '../../src/host/clipboard/clipboard.js';
import { HostSession, type SessionEndReason } from '../../src/host/session.js';
import { openBrowserClient, openEncodedPipeline, selectLibx264, SignalRelay, type BrowserClient } from './helpers/browser-client.js';
import { pollUntil } from './helpers/browser-peer.js';
import { RecordingInjector } from './helpers/recording-injector.js';
import { SyntheticCapture } from './helpers/synthetic-capture.js';

const addon = loadAvNative();
const logger = pino({ level: 'silent' });

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Rig {
  session: HostSession;
  client: BrowserClient;
  injector: RecordingInjector;
  capture: SyntheticCapture;
  ended: SessionEndReason[];
  relay: SignalRelay;
  /** The session's log messages, in order. */
  logs: string[];
}

class FakeClipboard implements Clipboard {
  readonly written: string[] = [];
  onChange: ((text: string) => void) | undefined;
  write(text: string): Promise<void> {
    this.written.push(text);
    return Promise.resolve();
  }
  watch(onChange: (text: string) => void): void {
    this.onChange = onChange;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe.skipIf(!addon.ok)('HostSession', () => {
  let selected: SelectedPipeline;
  let rig: Partial<Rig> | undefined;

  beforeAll(async () => {
    selected = await selectLibx264(logger, 320, 240);
  });

  afterEach(async () => {
    await rig?.client?.close();
    await rig?.session?.end('agent-stopping');
    rig = undefined;
  });

  function newSession(policy: SessionPolicy, capture: SyntheticCapture, injector: RecordingInjector, extra: { clipboard?: Clipboard; relay?: SignalRelay; logs?: string[]; ended?: SessionEndReason[] } = {}): HostSession {
    const logs = extra.logs;
    const sessionLogger = logs ? pino({ level: 'info' }, { write: (line: string) => void logs.push((JSON.parse(line) as { msg: string }).msg) }) : logger;
    const clipboard = extra.clipboard;
    return new HostSession({
      sessionId: 'sess-1',
      user: 'alice',
      iceServers: [],
      policy,
      fps: 30,
      capture,
      openPipeline: openEncodedPipeline(selected, capture, policy, sessionLogger),
      openInjector: () => Promise.resolve(injector),
      ...(clipboard ? { openClipboard: () => Promise.resolve(clipboard) } : {}),
      logger: sessionLogger,
      sendSignal: extra.relay?.toClient ?? (() => {}),
      onEnded: (reason) => extra.ended?.push(reason),
    });
  }

  /** A started session, and Chromium connected to it with its channels open. */
  async function setup(policy: SessionPolicy = DEFAULT_SESSION_POLICY, clipboard?: Clipboard): Promise<Rig> {
    const injector = new RecordingInjector();
    const capture = new SyntheticCapture();
    const ended: SessionEndReason[] = [];
    const relay = new SignalRelay();
    const logs: string[] = [];
    const session = newSession(policy, capture, injector, { relay, logs, ended, ...(clipboard ? { clipboard } : {}) });
    rig = { session };
    await session.start();
    const client = await openBrowserClient(relay, (data) => session.signal(data));
    rig = { session, client, injector, capture, ended, relay, logs };
    await client.peer.channelsOpen();
    return rig as Rig;
  }

  it('streams video and injects input arriving on both channels', async () => {
    const { session, client, injector } = await setup();
    // A few frames: the first stats after a decode may not carry its size or codec yet.
    const video = await pollUntil('frames decoded', () => client.peer.inbound(), (v) => (v?.framesDecoded ?? 0) >= 3 && v!.codec !== '');
    expect(video).toMatchObject({ frameWidth: 320, frameHeight: 240, codec: expect.stringMatching(/^video\/H264 /) as unknown });

    await client.send('pointer', { op: 'pointerAbs', x: 1000, y: 2000 });
    await client.send('input', { op: 'key', code: 'KeyA', down: true }, { op: 'wheel', dx: 0, dy: 120 });
    await client.peer.sendInput('input', [Uint8Array.of(0xee, 1, 2)]); // garbage: counted, not injected
    await until(() => session.stats().input?.received === 4);
    expect(injector.events).toEqual(
      expect.arrayContaining([
        { kind: 'pointerAbs', x: 1000, y: 2000 },
        { kind: 'key', code: 'KeyA', down: true },
        { kind: 'wheel', dx: 0, dy: 120 },
      ]),
    );
    expect(injector.events).toHaveLength(3);
    expect(session.stats().input?.dropped.invalid).toBe(1);
  });

  it('releases input, stops capture and reports the end when the client goes away', async () => {
    const { session, client, injector, capture, ended } = await setup();
    await client.send('input', { op: 'key', code: 'ShiftLeft', down: true });
    await until(() => injector.events.length === 1);
    await client.peer.closePeer();
    await until(() => ended.length === 1, 15_000);
    expect(ended).toEqual(['peer-closed']);
    expect(injector.events).toContainEqual({ kind: 'releaseAll' });
    expect(injector.events.at(-1)).toEqual({ kind: 'close' });
    expect(capture.stopped).toBe(true);
    expect(session.ended).toBe(true);
  });

  it('ends once, whoever asks first', async () => {
    const ended: SessionEndReason[] = [];
    const session = newSession(DEFAULT_SESSION_POLICY, new SyntheticCapture(), new RecordingInjector(), { ended });
    rig = { session };
    await session.start();
    await Promise.all([session.end('broker-ended'), session.end('replaced')]);
    await session.end('peer-closed');
    expect(ended).toEqual(['broker-ended']);
  });

  it('cleans up and rejects when the capture cannot start', async () => {
    const injector = new RecordingInjector();
    const ended: SessionEndReason[] = [];
    const capture = new SyntheticCapture();
    capture.start = () => Promise.reject(new Error('no display'));
    const session = newSession(DEFAULT_SESSION_POLICY, capture, injector, { ended });
    rig = { session };
    await expect(session.start()).rejects.toThrow('no display');
    expect(ended).toEqual(['start-failed']);
    expect(injector.events.at(-1)).toEqual({ kind: 'close' });
  });

  it('answers pings, says hello with what it streams, and drops malformed control messages without acting', async () => {
    const { session, client } = await setup();
    const hello = await client.nextControl('hello');
    expect(hello.monitors).toHaveLength(1);
    expect(hello.applied).toMatchObject({ width: 320, height: 240, fps: 30, codec: 'H264' });
    // What the client's recovery and stats rely on: this host encodes H.264 itself and cannot restart ICE.
    expect(hello.stream).toMatchObject({ pipeline: 'encoded', encoder: 'libx264', codec: 'H264', codecs: ['H264'], iceRestart: false, codecChangeInPlace: false });
    await client.sendControl({ type: 'ping', id: 7, sentAt: 123.5 });
    expect(await client.nextControl('pong')).toEqual({ type: 'pong', id: 7, sentAt: 123.5 });
    for (const bad of ['not json', '{"type":"quality","request":{"width":"big"}}', '{"type":"shutdown"}', '{"type":"ping","id":-1,"sentAt":0}']) await client.peer.sendControl(bad);
    await client.sendControl({ type: 'ping', id: 8, sentAt: 0 });
    await client.nextControl('pong');
    expect(session.stats().control).toMatchObject({ received: 6, dropped: 4 });
    expect(session.stats().quality).toMatchObject({ width: 320, height: 240 });
  });

  it('reconfigures capture for a quality request, and the picture changes size without touching the peer', async () => {
    const { session, client, capture, relay, logs } = await setup();
    // A renegotiation could only follow a connected peer: wait for that, so none is missed for being early.
    await until(() => logs.includes('peer connected'));
    await pollUntil('frames at 320x240', () => client.peer.inbound(), (v) => v?.frameWidth === 320);
    const negotiation = () => relay.record.filter((s) => s.type !== 'candidate');
    const before = negotiation().length;
    expect(negotiation()).toEqual([{ from: 'client', type: 'offer' }, { from: 'host', type: 'answer' }]);
    await client.sendControl({ type: 'quality', request: { width: 160, fps: 10 } });
    const applied = await client.nextControl('quality.applied');
    expect(applied.applied).toMatchObject({ width: 160, height: 120, fps: 10 });
    // I420: what the encoded pipeline feeds libx264 (4:2:0 here: the client did not ask for full colour).
    expect(capture.settings.at(-1)).toEqual({ region: { x: 0, y: 0, width: 320, height: 240 }, width: 160, height: 120, fps: 10, format: 'i420' });
    // The encoder reopens at the new size on the same track: Chromium decodes it without a new offer or answer.
    await pollUntil('frames at 160x120', () => client.peer.inbound(), (v) => v?.frameWidth === 160 && v.frameHeight === 120);
    expect(negotiation().slice(before)).toEqual([]);
    expect(session.ended).toBe(false);
  });

  it('carries clipboard text both ways when policy says both, within the size limit', async () => {
    const clipboard = new FakeClipboard();
    const { session, client } = await setup({ ...DEFAULT_SESSION_POLICY, clipboard: 'both', clipboardMaxBytes: 10 }, clipboard);
    await client.nextControl('hello');
    await client.sendControl({ type: 'clipboard', text: 'héllo' });
    await client.sendControl({ type: 'clipboard', text: 'far too long' });
    expect(await client.nextControl('error')).toMatchObject({ code: 'ERR_CLIPBOARD_TOO_LARGE' });
    expect(clipboard.written).toEqual(['héllo']);
    clipboard.onChange!('from host');
    clipboard.onChange!('way too long for it');
    expect(await client.nextControl('clipboard')).toEqual({ type: 'clipboard', text: 'from host' });
    expect(session.stats().control).toMatchObject({ clipboardIn: 1, clipboardOut: 1, clipboardRefused: 2 });
  });

  it('refuses clipboard text against the policy direction', async () => {
    const clipboard = new FakeClipboard();
    const { client } = await setup({ ...DEFAULT_SESSION_POLICY, clipboard: 'host-to-client' }, clipboard);
    await client.sendControl({ type: 'clipboard', text: 'paste me' });
    expect(await client.nextControl('error')).toMatchObject({ code: 'ERR_CLIPBOARD_POLICY' });
    expect(clipboard.written).toEqual([]);
  });
});
