/**
 * The host agent end to end against a fake broker on loopback, with a real
 * Chromium as the client (helpers/browser-client.ts): the agent probes its
 * encoders at start and streams H.264 from its encoded pipeline (libavcodec
 * on libdatachannel, ICE bound to loopback) to the page, whose input reaches
 * the session's injector.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_POLICY } from '../../src/shared/policy.js';
import { loadAvNative } from '../../src/host/encoder/av-native.js';
import { startHostAgent, type HostAgent } from '../../src/host/agent.js';
import type { SignalData } from '../../src/shared/protocol.js';
import { LOOPBACK, openBrowserClient, SignalRelay, type BrowserClient } from './helpers/browser-client.js';
import { pollUntil } from './helpers/browser-peer.js';
import { FakeBroker } from './helpers/fake-broker.js';
import { RecordingInjector } from './helpers/recording-injector.js';
import { SyntheticCapture } from './helpers/synthetic-capture.js';

const SECRET = 'host-secret-0123456789abcdef';
const addon = loadAvNative();
const logger = pino({ level: 'silent' });

let broker: FakeBroker | undefined;
let agent: HostAgent | undefined;
const clients: BrowserClient[] = [];
const relays: NodeJS.Timeout[] = [];

afterEach(async () => {
  for (const r of relays.splice(0)) clearInterval(r);
  for (const c of clients.splice(0)) await c.close();
  await agent?.stop();
  await broker?.close();
  agent = undefined;
  broker = undefined;
});

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Started {
  broker: FakeBroker;
  agent: HostAgent;
  injectors: RecordingInjector[];
  /** The captures sessions started, in order (the agent also makes one at start, only to list the monitors for its probe). */
  captures: () => SyntheticCapture[];
}

async function startReady(): Promise<Started> {
  broker = await FakeBroker.start();
  const injectors: RecordingInjector[] = [];
  const made: SyntheticCapture[] = [];
  const captures = (): SyntheticCapture[] => made.filter((c) => c.started);
  agent = await startHostAgent({
    display: ':0',
    brokerUrl: broker.url,
    workstationId: 'ws-demo',
    secret: SECRET,
    iceBindAddress: LOOPBACK,
    logger,
    createCapture: () => {
      const c = new SyntheticCapture();
      made.push(c);
      return c;
    },
    openInjector: () => {
      const i = new RecordingInjector();
      injectors.push(i);
      return Promise.resolve(i);
    },
    // No display here: the optional extras fail to open and the session runs without them.
    openCursor: () => Promise.reject(new Error('no display in this test')),
    openClipboard: () => Promise.reject(new Error('no display in this test')),
  });
  const auth = await broker.next('auth');
  expect(auth).toEqual({ type: 'auth', workstationId: 'ws-demo', secret: SECRET });
  broker.send({ type: 'ready', workstationId: 'ws-demo' });
  await until(() => agent!.linkState() === 'ready');
  return { broker, agent, injectors, captures };
}

/** Opens Chromium as the client of `sessionId`, its signals relayed through the fake broker as the real broker would. */
async function connectClient(b: FakeBroker, sessionId: string): Promise<BrowserClient> {
  const relay = new SignalRelay();
  relays.push(
    setInterval(() => {
      for (;;) {
        const i = b.received.findIndex((m) => m.type === 'signal' && m.sessionId === sessionId);
        if (i < 0) break;
        relay.toClient((b.received.splice(i, 1)[0] as { data: SignalData }).data);
      }
    }, 5),
  );
  const client = await openBrowserClient(relay, (data) => b.send({ type: 'signal', sessionId, data }));
  clients.push(client);
  return client;
}

describe('host agent options', () => {
  it('rejects invalid options with a stable code', async () => {
    await expect(startHostAgent({ display: 'nope', brokerUrl: 'x', workstationId: '', secret: 'short', logger })).rejects.toMatchObject({
      code: 'ERR_BAD_OPTIONS',
    });
  });
});

// The agent cannot stream without the av-encoder addon: it refuses to start.
describe.skipIf(!addon.ok)('host agent', () => {
  it('authenticates, accepts a session, streams and injects, and ends it on request', async () => {
    const { broker: b, injectors, captures } = await startReady();
    // Probed at start: libx264 is always among the encoders where it is built in.
    expect(agent!.pipeline()).toMatchObject({ kind: 'encoded', encoders: expect.arrayContaining(['libx264']) as unknown });
    // Malformed broker messages are dropped without harm.
    b.send('not json');
    b.send({ type: 'session.start', sessionId: 'bad id!', user: 'x', iceServers: [], policy: DEFAULT_SESSION_POLICY });
    b.send({ type: 'teleport' });

    b.send({ type: 'session.start', sessionId: 's1', user: 'alice', iceServers: [], policy: DEFAULT_SESSION_POLICY });
    expect(await b.next('session.accept')).toEqual({ type: 'session.accept', sessionId: 's1' });
    const client = await connectClient(b, 's1');
    await client.peer.channelsOpen();
    const video = await pollUntil('frames decoded', () => client.peer.inbound(), (v) => (v?.framesDecoded ?? 0) >= 1 && v!.codec !== '');
    expect(video).toMatchObject({ frameWidth: 320, frameHeight: 240, codec: expect.stringMatching(/^video\/H264 /) as unknown });

    await client.send('input', { op: 'key', code: 'ControlLeft', down: true });
    await until(() => injectors[0]!.events.length === 1);
    expect(injectors[0]!.events).toEqual([{ kind: 'key', code: 'ControlLeft', down: true }]);

    b.send({ type: 'session.end', sessionId: 's1', reason: 'user left' });
    await until(() => captures()[0]!.stopped);
    expect(injectors[0]!.events.slice(-2)).toEqual([{ kind: 'releaseAll' }, { kind: 'close' }]);
    // The agent forgets the session in the same step that would echo a session.end.
    await until(() => agent!.sessionId() === undefined);
    // The broker ended it, so the host does not echo a session.end back. A sentinel
    // makes that observable: the agent answers the next session on the same socket
    // after any echo, so once its accept has arrived an echo would have too.
    b.send({ type: 'session.start', sessionId: 's2', user: 'alice', iceServers: [], policy: DEFAULT_SESSION_POLICY });
    expect(await b.next('session.accept')).toEqual({ type: 'session.accept', sessionId: 's2' });
    expect(b.received.filter((m) => m.type === 'session.end')).toEqual([]);
  });

  it('replaces a running session when a new one starts, telling the broker', async () => {
    const { broker: b, captures } = await startReady();
    b.send({ type: 'session.start', sessionId: 's1', user: 'alice', iceServers: [], policy: DEFAULT_SESSION_POLICY });
    await b.next('session.accept');
    b.send({ type: 'session.start', sessionId: 's2', user: 'bob', iceServers: [], policy: DEFAULT_SESSION_POLICY });
    expect(await b.next('session.end')).toEqual({ type: 'session.end', sessionId: 's1', reason: 'replaced' });
    expect(await b.next('session.accept')).toEqual({ type: 'session.accept', sessionId: 's2' });
    expect(captures()[0]!.stopped).toBe(true);
    expect(agent!.sessionId()).toBe('s2');
  });

  it('reconnects and authenticates again after the broker drops the socket', async () => {
    const { broker: b } = await startReady();
    b.socket.terminate();
    await until(() => agent!.linkState() !== 'ready');
    const auth = await b.next('auth');
    expect(auth.workstationId).toBe('ws-demo');
    b.send({ type: 'ready', workstationId: 'ws-demo' });
    await until(() => agent!.linkState() === 'ready');
    expect(b.sockets).toHaveLength(2);
  });

  it('keeps retrying after the broker refuses the secret', async () => {
    const { broker: b } = await startReady();
    b.socket.terminate();
    await b.next('auth');
    b.send({ type: 'error', code: 'ERR_UNAUTHORIZED', message: 'bad secret' });
    b.socket.close(4401);
    await b.next('auth');
    expect(b.sockets).toHaveLength(3);
  });

  it('ends the session, releases input and closes the socket on stop', async () => {
    const { broker: b, injectors, captures } = await startReady();
    b.send({ type: 'session.start', sessionId: 's1', user: 'alice', iceServers: [], policy: DEFAULT_SESSION_POLICY });
    await b.next('session.accept');
    const socket = b.socket;
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await agent!.stop();
    expect(await b.next('session.end')).toEqual({ type: 'session.end', sessionId: 's1', reason: 'agent-stopping' });
    expect(injectors[0]!.events).toContainEqual({ kind: 'releaseAll' });
    expect(captures()[0]!.stopped).toBe(true);
    expect(await closed).toBe(1000);
    expect(agent!.linkState()).toBe('stopped');
  });
});
