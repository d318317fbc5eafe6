/**
 * HostSession over a real loopback WebRTC connection to an in-process client
 * peer. That peer is wrtc (it cannot decode H.264), so the session runs the
 * wrtc pipeline (helpers/wrtc-pipeline.ts).
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeInput } from '../../src/shared/input.js';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from '../../src/shared/policy.js';
import type { Clipboard } from '../../src/host/clipboard/clipboard.js';
import type { SignalData } from '../../src/shared/protocol.js';
import { HostSession, type SessionEndReason } from '../../src/host/session.js';
import { createClientPeer, type ClientPeer } from './helpers/client-peer.js';
import { RecordingInjector } from './helpers/recording-injector.js';
import { SyntheticCapture } from './helpers/synthetic-capture.js';
import { openWrtcPipeline } from './helpers/wrtc-pipeline.js';

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
  client: ClientPeer;
  injector: RecordingInjector;
  capture: SyntheticCapture;
  ended: SessionEndReason[];
  /** Every signal each side sent, in order: an offer, answer or renegotiate request after connecting is a renegotiation. */
  signals: { from: 'host' | 'client'; type: SignalData['type'] }[];
  /** The session's log messages, in order. */
  logs: string[];
}

let rig: Rig | undefined;

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

function setup(policy: SessionPolicy = DEFAULT_SESSION_POLICY, clipboard?: Clipboard): Rig {
  const injector = new RecordingInjector();
  const capture = new SyntheticCapture();
  const ended: SessionEndReason[] = [];
  const signals: Rig['signals'] = [];
  const logs: string[] = [];
  // The client peer is created after the session, which signals to it.
  const peerRef: { client?: ClientPeer } = {};
  const sessionLogger = pino({ level: 'info' }, { write: (line: string) => void logs.push((JSON.parse(line) as { msg: string }).msg) });
  const session = new HostSession({
    sessionId: 'sess-1',
    user: 'alice',
    iceServers: [],
    policy,
    fps: 30,
    capture,
    openPipeline: openWrtcPipeline(capture, policy, sessionLogger),
    openInjector: () => Promise.resolve(injector),
    ...(clipboard ? { openClipboard: () => Promise.resolve(clipboard) } : {}),
    logger: sessionLogger,
    // Through JSON, as the broker would carry it.
    sendSignal: (data) => {
      signals.push({ from: 'host', type: data.type });
      peerRef.client!.peer.signal(JSON.parse(JSON.stringify(data)) as never);
    },
    onEnded: (reason) => ended.push(reason),
  });
  const client = createClientPeer((data) => {
    signals.push({ from: 'client', type: (data as SignalData).type });
    session.signal(JSON.parse(JSON.stringify(data)) as SignalData);
  });
  peerRef.client = client;
  rig = { session, client, injector, capture, ended, signals, logs };
  return rig;
}

afterEach(async () => {
  rig?.client.peer.destroy();
  await rig?.session.end('agent-stopping');
  rig = undefined;
});

describe('HostSession', () => {
  it('streams video and injects input arriving on both channels', async () => {
    const { session, client, injector } = setup();
    await session.start();
    await client.channelsOpen;
    const frame = await client.firstFrame;
    expect(frame.width).toBe(320);
    expect(frame.height).toBe(240);

    client.pointer.send(encodeInput({ op: 'pointerAbs', x: 1000, y: 2000 }));
    client.input.send(encodeInput({ op: 'key', code: 'KeyA', down: true }));
    client.input.send(encodeInput({ op: 'wheel', dx: 0, dy: 120 }));
    client.input.send(Uint8Array.of(0xee, 1, 2)); // garbage: counted, not injected
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
    const { session, client, injector, capture, ended } = setup();
    await session.start();
    await client.channelsOpen;
    client.input.send(encodeInput({ op: 'key', code: 'ShiftLeft', down: true }));
    await until(() => injector.events.length === 1);
    client.peer.destroy();
    await until(() => ended.length === 1, 15_000);
    expect(ended).toEqual(['peer-closed']);
    expect(injector.events).toContainEqual({ kind: 'releaseAll' });
    expect(injector.events.at(-1)).toEqual({ kind: 'close' });
    expect(capture.stopped).toBe(true);
    expect(session.ended).toBe(true);
  });

  it('ends once, whoever asks first', async () => {
    const { session, ended } = setup();
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
    const session = new HostSession({
      sessionId: 'sess-2',
      user: 'bob',
      iceServers: [],
      policy: DEFAULT_SESSION_POLICY,
      fps: 30,
      capture,
      openPipeline: openWrtcPipeline(capture, DEFAULT_SESSION_POLICY, logger),
      openInjector: () => Promise.resolve(injector),
      logger,
      sendSignal: () => {},
      onEnded: (reason) => ended.push(reason),
    });
    await expect(session.start()).rejects.toThrow('no display');
    expect(ended).toEqual(['start-failed']);
    expect(injector.events.at(-1)).toEqual({ kind: 'close' });
  });

  it('answers pings, says hello, and drops malformed control messages without acting', async () => {
    const { session, client } = setup();
    await session.start();
    await client.channelsOpen;
    const hello = await client.nextControl('hello');
    expect(hello.monitors).toHaveLength(1);
    client.sendControl({ type: 'ping', id: 7, sentAt: 123.5 });
    expect(await client.nextControl('pong')).toEqual({ type: 'pong', id: 7, sentAt: 123.5 });
    for (const bad of ['not json', '{"type":"quality","request":{"width":"big"}}', '{"type":"shutdown"}', '{"type":"ping","id":-1,"sentAt":0}']) client.control.send(bad);
    client.sendControl({ type: 'ping', id: 8, sentAt: 0 });
    await client.nextControl('pong');
    expect(session.stats().control).toMatchObject({ received: 6, dropped: 4 });
    expect(session.stats().quality).toMatchObject({ width: 320, height: 240 });
  });

  it('reconfigures capture for a quality request, without touching the peer', async () => {
    const { session, client, capture, signals, logs } = setup();
    await session.start();
    await client.channelsOpen;
    // The host renegotiates only once its peer is connected: wait for that, so a
    // renegotiation would not be skipped just because the request came early.
    await until(() => logs.includes('peer connected'));
    const negotiation = () => signals.filter((s) => s.type !== 'candidate');
    const before = negotiation().length;
    expect(before).toBeGreaterThanOrEqual(2); // the first offer and answer: the record sees negotiation
    client.sendControl({ type: 'quality', request: { width: 160, fps: 10 } });
    const applied = await client.nextControl('quality.applied');
    expect(applied.applied).toMatchObject({ width: 160, height: 120, fps: 10 });
    // (I420: what the wrtc pipeline hands libwebrtc.)
    expect(capture.settings.at(-1)).toEqual({ region: { x: 0, y: 0, width: 320, height: 240 }, width: 160, height: 120, fps: 10, format: 'i420' });
    // The host asks for a renegotiation (simple-peer emits `renegotiate` synchronously
    // inside negotiate()) before it sends quality.applied, so by now any would be recorded.
    expect(negotiation().slice(before)).toEqual([]);
    expect(session.ended).toBe(false);
  });

  it('carries clipboard text both ways when policy says both, within the size limit', async () => {
    const clipboard = new FakeClipboard();
    const { session, client } = setup({ ...DEFAULT_SESSION_POLICY, clipboard: 'both', clipboardMaxBytes: 10 }, clipboard);
    await session.start();
    await client.channelsOpen;
    await client.nextControl('hello');
    client.sendControl({ type: 'clipboard', text: 'héllo' });
    client.sendControl({ type: 'clipboard', text: 'far too long' });
    expect(await client.nextControl('error')).toMatchObject({ code: 'ERR_CLIPBOARD_TOO_LARGE' });
    expect(clipboard.written).toEqual(['héllo']);
    clipboard.onChange!('from host');
    clipboard.onChange!('way too long for it');
    expect(await client.nextControl('clipboard')).toEqual({ type: 'clipboard', text: 'from host' });
    expect(session.stats().control).toMatchObject({ clipboardIn: 1, clipboardOut: 1, clipboardRefused: 2 });
  });

  it('refuses clipboard text against the policy direction', async () => {
    const clipboard = new FakeClipboard();
    const { session, client } = setup({ ...DEFAULT_SESSION_POLICY, clipboard: 'host-to-client' }, clipboard);
    await session.start();
    await client.channelsOpen;
    client.sendControl({ type: 'clipboard', text: 'paste me' });
    expect(await client.nextControl('error')).toMatchObject({ code: 'ERR_CLIPBOARD_POLICY' });
    expect(clipboard.written).toEqual([]);
  });
});
