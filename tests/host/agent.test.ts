/**
 * The host agent end to end against a fake broker on loopback, with a real
 * WebRTC client peer. That peer is wrtc, which cannot decode H.264, so the
 * agent runs with `pipeline: 'wrtc'` (which also skips the encoder probe).
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_POLICY } from '../../src/shared/policy.js';
import { encodeInput } from '../../src/shared/input.js';
import { startHostAgent, type HostAgent } from '../../src/host/agent.js';
import type { SignalData } from '../../src/shared/protocol.js';
import { createClientPeer, type ClientPeer } from './helpers/client-peer.js';
import { FakeBroker } from './helpers/fake-broker.js';
import { RecordingInjector } from './helpers/recording-injector.js';
import { SyntheticCapture } from './helpers/synthetic-capture.js';

const SECRET = 'host-secret-0123456789abcdef';
const logger = pino({ level: 'silent' });

let broker: FakeBroker | undefined;
let agent: HostAgent | undefined;
const clients: ClientPeer[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.peer.destroy();
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
    pipeline: 'wrtc',
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

/** Relays signals between the fake broker and a new client peer, as the real broker would. */
function connectClient(b: FakeBroker, sessionId: string): ClientPeer {
  const client = createClientPeer((data) => b.send({ type: 'signal', sessionId, data }));
  clients.push(client);
  const relay = (): void => {
    for (;;) {
      const i = b.received.findIndex((m) => m.type === 'signal' && m.sessionId === sessionId);
      if (i < 0) break;
      const msg = b.received.splice(i, 1)[0] as { data: SignalData };
      client.peer.signal(msg.data as never);
    }
  };
  const timer = setInterval(relay, 5);
  client.peer.on('close', () => clearInterval(timer));
  return client;
}

describe('host agent', () => {
  it('rejects invalid options with a stable code', async () => {
    await expect(startHostAgent({ display: 'nope', brokerUrl: 'x', workstationId: '', secret: 'short', logger })).rejects.toMatchObject({
      code: 'ERR_BAD_OPTIONS',
    });
  });

  it('authenticates, accepts a session, streams and injects, and ends it on request', async () => {
    const { broker: b, injectors, captures } = await startReady();
    expect(agent!.pipeline()).toMatchObject({ kind: 'wrtc', encoders: [] });
    // Malformed broker messages are dropped without harm.
    b.send('not json');
    b.send({ type: 'session.start', sessionId: 'bad id!', user: 'x', iceServers: [], policy: DEFAULT_SESSION_POLICY });
    b.send({ type: 'teleport' });

    b.send({ type: 'session.start', sessionId: 's1', user: 'alice', iceServers: [], policy: DEFAULT_SESSION_POLICY });
    expect(await b.next('session.accept')).toEqual({ type: 'session.accept', sessionId: 's1' });
    const client = connectClient(b, 's1');
    await client.channelsOpen;
    expect((await client.firstFrame).width).toBe(320);

    client.input.send(encodeInput({ op: 'key', code: 'ControlLeft', down: true }));
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
