/**
 * The connection machine with stand-in actors and fake timers: every state,
 * every transition, every timeout, the reconnect schedule and cancel.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { BACKLOG_INTERVALS, BACKLOG_QUEUE_MS } from '../../src/renderer/session/backlog.js';
import { BrokerError } from '../../src/renderer/api/broker.js';
import { LIVENESS, RECONNECT, TIMEOUTS } from '../../src/renderer/session/machine.js';
import type { InputSink } from '../../src/renderer/session/peer.js';
import type { StatsSnapshot } from '../../src/renderer/session/stats.js';
import { broker, fakeClipboard, fakePeers, grantWith, machineWith, start, user, value, ws1, type Overrides } from './helpers.js';

const sink: InputSink = { send: () => undefined };
const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Signs in and connects, leaving the machine in `link.signalling` with one peer. */
async function toSignalling(o: Overrides = {}, clipboard = null as ReturnType<typeof fakeClipboard> | null) {
  const peers = fakePeers();
  const actor = start({ peer: peers.actor, ...o }, clipboard);
  actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
  await tick();
  actor.send({ type: 'session.connect', workstationId: 'ws-1' });
  await tick();
  expect(value(actor)).toBe('{"session":{"link":"signalling"}}');
  return { actor, peers };
}

async function toStreaming(o: Overrides = {}, clipboard = null as ReturnType<typeof fakeClipboard> | null) {
  const r = await toSignalling(o, clipboard);
  r.peers.last().send({ type: 'peer.signalling' });
  r.peers.last().send({ type: 'peer.answered' });
  expect(value(r.actor)).toBe('{"session":{"link":"iceConnecting"}}');
  r.peers.last().send({ type: 'peer.connected', input: sink });
  expect(value(r.actor)).toBe('{"session":{"link":"streaming"}}');
  return r;
}

describe('sign-in', () => {
  it('signs in with a password and lists the workstations live', async () => {
    const actor = start();
    expect(value(actor)).toBe('"signedOut"');
    expect(actor.getSnapshot().hasTag('login')).toBe(true);
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    expect(value(actor)).toBe('{"signingIn":"password"}');
    expect(actor.getSnapshot().hasTag('busy')).toBe(true);
    await tick();
    expect(value(actor)).toBe('"workstations"');
    expect(actor.getSnapshot().context.user).toEqual(user);
    expect(actor.getSnapshot().context.workstations).toEqual([ws1]);
    expect(actor.getSnapshot().context.workstationsUpdatedAt).not.toBeNull();
  });

  it('asks for a TOTP code, keeps the form on a wrong code, and signs in with the right one', async () => {
    const totp = vi.fn((code: string) => (code === '123456' ? Promise.resolve(user) : Promise.reject(new BrokerError('ERR_BAD_TOTP', 'bad code'))));
    const actor = start({ login: () => Promise.resolve({ status: 'mfa-required' }), totp });
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    expect(value(actor)).toBe('{"signingIn":"totp"}');
    expect(actor.getSnapshot().hasTag('totp')).toBe(true);
    actor.send({ type: 'auth.totp', code: '000000' });
    expect(value(actor)).toBe('{"signingIn":"verifying"}');
    await tick();
    expect(value(actor)).toBe('{"signingIn":"totp"}');
    expect(actor.getSnapshot().context.failure?.code).toBe('ERR_BAD_TOTP');
    actor.send({ type: 'auth.totp', code: '123456' });
    await tick();
    expect(value(actor)).toBe('"workstations"');
    expect(totp.mock.calls.map((c) => c[0])).toEqual(['000000', '123456']);
  });

  it('sends a locked-out account back to the password form with the reason', async () => {
    const actor = start({ login: () => Promise.resolve({ status: 'mfa-required' }), totp: () => Promise.reject(new BrokerError('ERR_LOCKED_OUT', 'locked')) });
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    actor.send({ type: 'auth.totp', code: '111111' });
    await tick();
    expect(value(actor)).toBe('"signedOut"');
    expect(actor.getSnapshot().context.failure?.code).toBe('ERR_LOCKED_OUT');
  });

  it.each([
    ['ERR_BAD_CREDENTIALS'],
    ['ERR_LOCKED_OUT'],
    ['ERR_RATE_LIMITED'],
    ['ERR_BROKER_UNREACHABLE'],
  ] as const)('returns to the login form with %s', async (code) => {
    const actor = start({ login: () => Promise.reject(new BrokerError(code, 'no')) });
    actor.send({ type: 'auth.login', username: 'ana', password: 'bad' });
    await tick();
    expect(value(actor)).toBe('"signedOut"');
    expect(actor.getSnapshot().context.failure).toEqual({ code, message: 'no' });
  });

  it('times out every sign-in wait', async () => {
    const never = () => new Promise<never>(() => undefined);
    const a = start({ login: never });
    a.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick(TIMEOUTS.signIn - 1);
    expect(value(a)).toBe('{"signingIn":"password"}');
    await tick(1);
    expect(value(a)).toBe('"signedOut"');
    expect(a.getSnapshot().context.failure?.code).toBe('ERR_TIMEOUT');

    const b = start({ login: () => Promise.resolve({ status: 'mfa-required' }), totp: never });
    b.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    b.send({ type: 'auth.totp', code: '123456' });
    await tick(TIMEOUTS.totpVerify);
    expect(value(b)).toBe('{"signingIn":"totp"}');
    expect(b.getSnapshot().context.failure?.code).toBe('ERR_TIMEOUT');
    await tick(TIMEOUTS.totpEntry);
    expect(value(b)).toBe('"signedOut"');
  });

  it('can be cancelled while checking the password, on the code form and while checking the code', async () => {
    const never = () => new Promise<never>(() => undefined);
    const a = start({ login: never });
    a.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    a.send({ type: 'auth.cancel' });
    expect(value(a)).toBe('"signedOut"');

    const b = start({ login: () => Promise.resolve({ status: 'mfa-required' }), totp: never });
    b.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    b.send({ type: 'auth.cancel' });
    expect(value(b)).toBe('"signedOut"');
    b.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    b.send({ type: 'auth.totp', code: '123456' });
    b.send({ type: 'auth.cancel' });
    expect(value(b)).toBe('"signedOut"');
  });
});

describe('workstation list', () => {
  it('signs out when the broker says the sign-in expired, and shows other list errors in place', async () => {
    const a = start({ workstations: [{ type: 'workstations.failed', failure: { code: 'ERR_UNAUTHORIZED', message: 'expired' } }] });
    a.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    expect(value(a)).toBe('"signedOut"');
    expect(a.getSnapshot().context.user).toBeNull();

    const b = start({ workstations: [{ type: 'workstations.failed', failure: { code: 'ERR_BROKER_UNREACHABLE', message: 'down' } }] });
    b.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    expect(value(b)).toBe('"workstations"');
    expect(b.getSnapshot().context.failure?.code).toBe('ERR_BROKER_UNREACHABLE');
  });

  it('signs out on request', async () => {
    const a = start();
    a.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    // The stand-in broker has no logout; the action must not throw past the machine.
    (a.getSnapshot().context.broker as { logout?: () => Promise<void> }).logout = () => Promise.resolve();
    a.send({ type: 'auth.logout' });
    expect(value(a)).toBe('"signedOut"');
    expect(a.getSnapshot().context.workstations).toEqual([]);
  });
});

describe('connecting', () => {
  it('goes grant → signalling → ICE → streaming, with tags for the UI', async () => {
    const { actor, peers } = await toStreaming();
    const s = actor.getSnapshot();
    expect(s.hasTag('streaming')).toBe(true);
    expect(s.hasTag('session')).toBe(true);
    expect(s.context.input).toBe(sink);
    expect(peers.last().input.grant.sessionId).toBe('ses-1');
    // On entering streaming the person's quality settings go to the host.
    expect(peers.last().received).toContainEqual({ type: 'control.send', message: { type: 'quality', request: {} } });
  });

  it.each([
    ['ERR_WORKSTATION_OFFLINE'],
    ['ERR_WORKSTATION_IN_USE'],
    ['ERR_GRANT_EXPIRED'],
    ['ERR_FORBIDDEN'],
  ] as const)('fails with %s when no grant is given', async (code) => {
    const actor = start({ grant: () => Promise.reject(new BrokerError(code, 'no')) });
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await tick();
    expect(value(actor)).toBe('"failed"');
    expect(actor.getSnapshot().context.failure?.code).toBe(code);
    expect(actor.getSnapshot().hasTag('over')).toBe(true);
    actor.send({ type: 'session.back' });
    expect(value(actor)).toBe('"workstations"');
    expect(actor.getSnapshot().context.failure).toBeNull();
  });

  it('times out the grant, the signalling and ICE, tearing the peer down', async () => {
    const a = start({ grant: () => new Promise<never>(() => undefined) });
    a.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    a.send({ type: 'session.connect', workstationId: 'ws-1' });
    await tick(TIMEOUTS.grant);
    expect(value(a)).toBe('"failed"');
    expect(a.getSnapshot().context.failure?.code).toBe('ERR_TIMEOUT');

    const b = await toSignalling();
    await tick(TIMEOUTS.signalling - 1);
    expect(value(b.actor)).toBe('{"session":{"link":"signalling"}}');
    await tick(1);
    expect(value(b.actor)).toBe('"failed"');
    expect(b.peers.last().stopped).toBe(true);

    const c = await toSignalling();
    c.peers.last().send({ type: 'peer.answered' });
    await tick(TIMEOUTS.ice);
    expect(value(c.actor)).toBe('"failed"');
    expect(c.actor.getSnapshot().context.failure?.message).toMatch(/TURN/);
    expect(c.peers.last().stopped).toBe(true);
  });

  it('fails with the peer error code before it ever connected', async () => {
    const { actor, peers } = await toSignalling();
    peers.last().send({ type: 'peer.error', code: 'ERR_WORKSTATION_IN_USE', message: 'in use' });
    expect(value(actor)).toBe('"failed"');
    expect(actor.getSnapshot().context.failure?.code).toBe('ERR_WORKSTATION_IN_USE');
  });

  it('ends with the host reason when the host ends the session on purpose', async () => {
    const { actor, peers } = await toStreaming();
    peers.last().send({ type: 'peer.closed', reason: 'replaced by a new connection' });
    expect(value(actor)).toBe('"ended"');
    expect(actor.getSnapshot().context.ended).toEqual({ code: 'host-ended', message: 'replaced by a new connection' });
    expect(peers.last().stopped).toBe(true);
    expect(actor.getSnapshot().context.stream).toBeNull();
  });
});

describe('cancel', () => {
  const cases: [string, (r: Awaited<ReturnType<typeof toSignalling>>) => Promise<void> | void][] = [
    ['signalling', () => undefined],
    ['iceConnecting', (r) => r.peers.last().send({ type: 'peer.answered' })],
    [
      'iceRestart',
      (r) => {
        r.peers.last().send({ type: 'peer.connected', input: sink });
        r.peers.last().send({ type: 'peer.lost', reason: 'wifi', restartable: true });
      },
    ],
    [
      'recovering.waiting',
      (r) => {
        r.peers.last().send({ type: 'peer.connected', input: sink });
        r.peers.last().send({ type: 'peer.lost', reason: 'host gone', restartable: false });
      },
    ],
  ];
  it.each(cases)('works in %s', async (_name, reach) => {
    const r = await toSignalling();
    await reach(r);
    r.actor.send({ type: 'session.disconnect' });
    expect(value(r.actor)).toBe('"ended"');
    expect(r.actor.getSnapshot().context.ended?.code).toBe('cancelled');
    expect(r.peers.last().stopped).toBe(true);
  });

  it('works while requesting a grant and while re-granting', async () => {
    const a = start({ grant: () => new Promise<never>(() => undefined) });
    a.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    a.send({ type: 'session.connect', workstationId: 'ws-1' });
    expect(value(a)).toBe('{"session":"requestingGrant"}');
    a.send({ type: 'session.disconnect' });
    expect(a.getSnapshot().context.ended).toEqual({ code: 'cancelled', message: 'You cancelled the connection.' });

    let calls = 0;
    const r = await toStreaming({ grant: () => (calls++ === 0 ? Promise.resolve(grantWith()) : new Promise<never>(() => undefined)) });
    r.peers.last().send({ type: 'peer.lost', reason: 'gone', restartable: false });
    await tick(RECONNECT.initialDelayMs);
    expect(value(r.actor)).toBe('{"session":{"recovering":"regranting"}}');
    r.actor.send({ type: 'session.disconnect' });
    expect(r.actor.getSnapshot().context.ended?.code).toBe('cancelled');
  });

  it('calls a disconnect while streaming a disconnect, and can connect again from the end', async () => {
    const { actor } = await toStreaming();
    actor.send({ type: 'session.disconnect' });
    expect(actor.getSnapshot().context.ended?.code).toBe('disconnected');
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    expect(value(actor)).toBe('{"session":"requestingGrant"}');
    expect(actor.getSnapshot().context.ended).toBeNull();
  });
});

describe('reconnect', () => {
  it('restarts ICE on the same peer first, and resumes streaming when it recovers', async () => {
    const { actor, peers } = await toStreaming();
    peers.last().send({ type: 'peer.lost', reason: 'wifi', restartable: true });
    expect(value(actor)).toBe('{"session":{"link":"iceRestart"}}');
    expect(actor.getSnapshot().hasTag('reconnecting')).toBe(true);
    expect(peers.last().received).toContainEqual({ type: 'ice.restart' });
    expect(actor.getSnapshot().context.lostAt).not.toBeNull();
    peers.last().send({ type: 'peer.restored' });
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
    expect(actor.getSnapshot().context.lostAt).toBeNull();
    expect(peers.instances).toHaveLength(1);
  });

  it('falls back to a fresh grant and peer after the ICE restart window, then streams without user action', async () => {
    let grants = 0;
    const { actor, peers } = await toStreaming({ grant: () => Promise.resolve(grantWith({}, ++grants)) });
    peers.last().send({ type: 'peer.lost', reason: 'wifi', restartable: true });
    await tick(TIMEOUTS.iceRestart);
    expect(value(actor)).toBe('{"session":{"recovering":"waiting"}}');
    expect(peers.instances[0]!.stopped).toBe(true);
    expect(actor.getSnapshot().context.retryAt).toBe(Date.now() + RECONNECT.initialDelayMs);
    await tick(RECONNECT.initialDelayMs);
    expect(value(actor)).toBe('{"session":{"link":"signalling"}}');
    expect(peers.instances).toHaveLength(2);
    expect(peers.last().input.grant.sessionId).toBe('ses-2');
    expect(actor.getSnapshot().hasTag('connecting')).toBe(true);
    peers.last().send({ type: 'peer.answered' });
    peers.last().send({ type: 'peer.connected', input: sink });
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
    expect(actor.getSnapshot().context).toMatchObject({ lostAt: null, attempt: 0, retryAt: null });
  });

  it('backs off exponentially while the host is away, and gives up after the bounded time', async () => {
    let calls = 0;
    const { actor, peers } = await toStreaming({
      grant: () => (calls++ === 0 ? Promise.resolve(grantWith()) : Promise.reject(new BrokerError('ERR_WORKSTATION_OFFLINE', 'offline'))),
    });
    const lostAt = Date.now();
    peers.last().send({ type: 'peer.lost', reason: 'host stopped', restartable: false });
    const waits: number[] = [];
    while (actor.getSnapshot().matches({ session: 'recovering' })) {
      const retryAt = actor.getSnapshot().context.retryAt!;
      waits.push(retryAt - Date.now());
      await tick(Math.max(1, retryAt - Date.now()));
      await tick();
    }
    expect(waits.slice(0, 5)).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(value(actor)).toBe('"failed"');
    expect(actor.getSnapshot().context.failure?.code).toBe('ERR_HOST_LOST');
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(RECONNECT.giveUpAfterMs);
    expect(Date.now() - lostAt).toBeLessThan(RECONNECT.giveUpAfterMs + 1_000);
  });

  it('stops at a final broker answer while reconnecting', async () => {
    let calls = 0;
    const { actor, peers } = await toStreaming({
      grant: () => (calls++ === 0 ? Promise.resolve(grantWith()) : Promise.reject(new BrokerError('ERR_FORBIDDEN', 'unassigned'))),
    });
    peers.last().send({ type: 'peer.lost', reason: 'gone', restartable: false });
    await tick(RECONNECT.initialDelayMs);
    await tick();
    expect(value(actor)).toBe('"failed"');
    expect(actor.getSnapshot().context.failure?.code).toBe('ERR_FORBIDDEN');
  });

  it('retries when a reconnect attempt times out in signalling or ICE, or its peer errors', async () => {
    const { actor, peers } = await toStreaming();
    peers.last().send({ type: 'peer.lost', reason: 'gone', restartable: false });
    await tick(RECONNECT.initialDelayMs);
    expect(value(actor)).toBe('{"session":{"link":"signalling"}}');
    await tick(TIMEOUTS.signalling);
    expect(value(actor)).toBe('{"session":{"recovering":"waiting"}}');
    await tick(2 * RECONNECT.initialDelayMs);
    peers.last().send({ type: 'peer.answered' });
    await tick(TIMEOUTS.ice);
    expect(value(actor)).toBe('{"session":{"recovering":"waiting"}}');
    await tick(4 * RECONNECT.initialDelayMs);
    peers.last().send({ type: 'peer.error', code: 'ERR_BROKER_UNREACHABLE', message: 'socket closed' });
    expect(value(actor)).toBe('{"session":{"recovering":"waiting"}}');
    expect(actor.getSnapshot().context.attempt).toBe(3);
  });

  it('keeps the last picture while reconnecting', async () => {
    const { actor, peers } = await toStreaming();
    const stream = {} as MediaStream;
    peers.last().send({ type: 'peer.stream', stream });
    peers.last().send({ type: 'peer.lost', reason: 'gone', restartable: false });
    expect(actor.getSnapshot().context.stream).toBe(stream);
  });
});

describe('picture stalled', () => {
  const qualitySends = (p: ReturnType<ReturnType<typeof fakePeers>['last']>) => p.received.filter((c) => c.type === 'control.send' && c.message.type === 'quality').length;

  it('stays streaming while signs of life arrive, however long the session runs', async () => {
    const { actor, peers } = await toStreaming();
    for (let t = 0; t < 10_000; t += LIVENESS.probeMs) {
      peers.last().send({ type: 'peer.alive' });
      await tick(LIVENESS.probeMs);
    }
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
    expect(actor.getSnapshot().hasTag('stalled')).toBe(false);
  });

  it('is stalled after LIVENESS.stallAfterMs without frames or host messages, and clears by itself on the next one', async () => {
    const { actor, peers } = await toStreaming();
    const peer = peers.last();
    peer.send({ type: 'peer.alive' });
    const sent = qualitySends(peer);
    await tick(LIVENESS.stallAfterMs - 1);
    expect(actor.getSnapshot().hasTag('stalled')).toBe(false);
    await tick(1);
    expect(value(actor)).toBe('{"session":{"link":"stalled"}}');
    // Still the running session: the toolbar stays, no reconnect banner, main hears "connected".
    expect(actor.getSnapshot().hasTag('stalled')).toBe(true);
    expect(actor.getSnapshot().hasTag('streaming')).toBe(true);
    expect(actor.getSnapshot().hasTag('reconnecting')).toBe(false);
    expect(actor.getSnapshot().context.lostAt).toBeNull();

    // A 5 s outage that ICE does not notice: stalled throughout, then back on the same peer.
    await tick(5_000);
    expect(value(actor)).toBe('{"session":{"link":"stalled"}}');
    peer.send({ type: 'peer.alive' });
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
    expect(peers.instances).toHaveLength(1);
    expect(peer.stopped).toBe(false);
    // Resuming is not a reconnect: the host is not asked for the quality again.
    expect(qualitySends(peer)).toBe(sent);
    // And the next silence is noticed again.
    await tick(LIVENESS.stallAfterMs);
    expect(actor.getSnapshot().hasTag('stalled')).toBe(true);
  });

  it('goes on to reconnect from stalled when the connection is then lost', async () => {
    const { actor, peers } = await toStreaming();
    await tick(LIVENESS.stallAfterMs);
    expect(actor.getSnapshot().hasTag('stalled')).toBe(true);
    peers.last().send({ type: 'peer.lost', reason: 'ICE disconnected', restartable: true });
    expect(value(actor)).toBe('{"session":{"link":"iceRestart"}}');
    expect(actor.getSnapshot().hasTag('reconnecting')).toBe(true);
    expect(actor.getSnapshot().hasTag('stalled')).toBe(false);
    expect(peers.last().received).toContainEqual({ type: 'ice.restart' });
    // A stall timer armed before the loss does not fire later.
    peers.last().send({ type: 'peer.restored' });
    peers.last().send({ type: 'peer.alive' });
    await tick(LIVENESS.stallAfterMs - 1);
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');

    await tick(LIVENESS.stallAfterMs);
    peers.last().send({ type: 'peer.lost', reason: 'peer closed', restartable: false });
    expect(value(actor)).toBe('{"session":{"recovering":"waiting"}}');
  });

  it('runs its stall timer on the clock the actor is given', async () => {
    const clock = new SimulatedClock();
    const peers = fakePeers();
    const actor = createActor(machineWith({ peer: peers.actor }), { input: { broker }, clock }).start();
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await tick();
    peers.last().send({ type: 'peer.connected', input: sink });
    // Real (here: fake) time passing does not stall the picture; only the actor's clock does.
    await tick(LIVENESS.stallAfterMs * 4);
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
    clock.increment(LIVENESS.stallAfterMs - 1);
    peers.last().send({ type: 'peer.alive' });
    clock.increment(LIVENESS.stallAfterMs - 1);
    expect(actor.getSnapshot().hasTag('stalled')).toBe(false);
    clock.increment(1);
    expect(actor.getSnapshot().hasTag('stalled')).toBe(true);
    peers.last().send({ type: 'peer.alive' });
    expect(actor.getSnapshot().hasTag('stalled')).toBe(false);
    actor.stop();
  });
});

describe('session features', () => {
  const stats: StatsSnapshot = {
    at: 1, rttMs: 1.2, fpsReceived: 30, fpsDecoded: 30, width: 1280, height: 720, codec: 'VP9', codecFmtp: 'profile-id=0', bitrateKbps: 900,
    packetLossPct: 0, packetsLost: 0, jitterBufferMs: 12, queueMs: 3, decodeMs: 2, framesDropped: 0, freezes: 0, freezeSeconds: 0,
  };

  it('keeps the latest stats and cursor shape', async () => {
    const { actor, peers } = await toStreaming();
    peers.last().send({ type: 'peer.stats', stats });
    peers.last().send({ type: 'peer.cursor', cursor: { image: 'data:image/png;base64,AA==', hotX: 1, hotY: 2 } });
    expect(actor.getSnapshot().context.stats).toEqual(stats);
    expect(actor.getSnapshot().context.cursor?.hotY).toBe(2);
  });

  it('sends quality requests clamped to the policy, and records what the host applies', async () => {
    const { actor, peers } = await toStreaming({ grant: () => Promise.resolve(grantWith({ maxFps: 30, maxBitrateKbps: 10_000, codecs: ['VP8'] })) });
    actor.send({ type: 'quality.set', request: { fps: 60, maxBitrateKbps: 50_000, codec: 'AV1' } });
    expect(peers.last().received.at(-1)).toEqual({ type: 'control.send', message: { type: 'quality', request: { fps: 30, maxBitrateKbps: 10_000 } } });
    peers.last().send({ type: 'peer.control', message: { type: 'hello', monitors: [], applied: { fps: 30 } } });
    expect(actor.getSnapshot().context.applied).toEqual({ fps: 30 });
    peers.last().send({ type: 'peer.control', message: { type: 'quality.applied', applied: { fps: 24 } } });
    expect(actor.getSnapshot().context.applied).toEqual({ fps: 24 });
  });

  it('lowers the frame rate after seconds of frames queueing for the decoder, 60 to 30 to 24 and no further', async () => {
    const { actor, peers } = await toStreaming();
    const peer = peers.last();
    const qualitySent = () => peer.received.filter((c) => c.type === 'control.send' && c.message.type === 'quality').map((c) => (c as { message: { request: unknown } }).message.request);
    const before = qualitySent().length;
    peer.send({ type: 'peer.control', message: { type: 'hello', monitors: [], applied: { fps: 60 } } });
    const slow = { ...stats, queueMs: BACKLOG_QUEUE_MS + 200 };
    peer.send({ type: 'peer.stats', stats: slow });
    peer.send({ type: 'peer.stats', stats: slow });
    peer.send({ type: 'peer.stats', stats: { ...stats, queueMs: 5 } }); // a healthy second starts the count again
    peer.send({ type: 'peer.stats', stats: slow });
    peer.send({ type: 'peer.stats', stats: slow });
    expect(qualitySent()).toHaveLength(before);
    peer.send({ type: 'peer.stats', stats: { ...slow, at: 99 } });
    expect(qualitySent().slice(before)).toEqual([{ fps: 30 }]);
    expect(actor.getSnapshot().context.autoFps).toEqual({ from: 60, to: 30, at: 99 });
    expect(actor.getSnapshot().context.stats).toEqual({ ...slow, at: 99 });

    peer.send({ type: 'peer.control', message: { type: 'quality.applied', applied: { fps: 30 } } });
    for (let i = 0; i < BACKLOG_INTERVALS; i++) peer.send({ type: 'peer.stats', stats: slow });
    expect(qualitySent().slice(before)).toEqual([{ fps: 30 }, { fps: 24 }]);
    peer.send({ type: 'peer.control', message: { type: 'quality.applied', applied: { fps: 24 } } });
    for (let i = 0; i < BACKLOG_INTERVALS * 2; i++) peer.send({ type: 'peer.stats', stats: slow });
    expect(qualitySent().slice(before)).toEqual([{ fps: 30 }, { fps: 24 }]);
    expect(actor.getSnapshot().context.autoFps).toMatchObject({ from: 30, to: 24 });
  });

  it('keeps the person’s frame rate (what the client saves) when it lowers the frame rate by itself', async () => {
    // The client saves `context.quality` as the person's preference (App.tsx): a step-down for this
    // computer's decoder must not become the saved frame rate of every later session (issue 11).
    const peers = fakePeers();
    const actor = start({ peer: peers.actor }, null, { quality: { fps: 60, maxBitrateKbps: 20_000 } });
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await tick();
    const peer = peers.last();
    peer.send({ type: 'peer.answered' });
    peer.send({ type: 'peer.connected', input: sink });
    const qualitySent = () => peer.received.filter((c) => c.type === 'control.send' && c.message.type === 'quality').map((c) => (c as { message: { request: unknown } }).message.request);
    peer.send({ type: 'peer.control', message: { type: 'hello', monitors: [], applied: { fps: 60 } } });
    for (let i = 0; i < BACKLOG_INTERVALS; i++) peer.send({ type: 'peer.stats', stats: { ...stats, queueMs: BACKLOG_QUEUE_MS + 200 } });
    expect(qualitySent().at(-1)).toEqual({ fps: 30, maxBitrateKbps: 20_000 });
    expect(actor.getSnapshot().context.autoFps).toMatchObject({ from: 60, to: 30 });
    expect(actor.getSnapshot().context.quality).toEqual({ fps: 60, maxBitrateKbps: 20_000 });

    // Another setting changed by the person keeps the session's lowered frame rate...
    actor.send({ type: 'quality.set', request: { maxBitrateKbps: 10_000 } });
    expect(qualitySent().at(-1)).toEqual({ fps: 30, maxBitrateKbps: 10_000 });
    expect(actor.getSnapshot().context.quality).toEqual({ fps: 60, maxBitrateKbps: 10_000 });
    // ...and their explicit frame-rate choice replaces it, and is theirs to keep.
    actor.send({ type: 'quality.set', request: { fps: 60 } });
    expect(qualitySent().at(-1)).toEqual({ fps: 60, maxBitrateKbps: 10_000 });
    expect(actor.getSnapshot().context.autoFps).toBeNull();
    expect(actor.getSnapshot().context.quality).toEqual({ fps: 60, maxBitrateKbps: 10_000 });
  });

  it('changes codec on the running peer, within policy', async () => {
    const { actor, peers } = await toStreaming({ grant: () => Promise.resolve(grantWith({ codecs: ['VP9', 'VP8'] })) });
    actor.send({ type: 'codec.set', codec: 'VP8' });
    expect(peers.last().received.at(-1)).toEqual({ type: 'codec.set', codec: 'VP8', fullColour: false });
    actor.send({ type: 'codec.set', codec: 'AV1' });
    expect(peers.last().received.at(-1)).toEqual({ type: 'codec.set', codec: null, fullColour: false });
    expect(peers.instances).toHaveLength(1);
  });

  it('syncs clipboard text both ways when the policy allows it', async () => {
    const clip = fakeClipboard();
    const { actor, peers } = await toStreaming({}, clip);
    peers.last().send({ type: 'peer.control', message: { type: 'clipboard', text: 'from host' } });
    expect(clip.writeText).toHaveBeenCalledWith('from host');
    actor.send({ type: 'clipboard.local', text: 'from host' }); // our own echo: not sent back
    actor.send({ type: 'clipboard.local', text: 'from client' });
    const sent = peers.last().received.filter((c) => c.type === 'control.send' && c.message.type === 'clipboard');
    expect(sent).toEqual([{ type: 'control.send', message: { type: 'clipboard', text: 'from client' } }]);
  });

  it.each([
    ['off', false, false],
    ['host-to-client', true, false],
    ['client-to-host', false, true],
  ] as const)('honours clipboard policy %s', async (mode, toClient, toHost) => {
    const clip = fakeClipboard();
    const { actor, peers } = await toStreaming({ grant: () => Promise.resolve(grantWith({ clipboard: mode, clipboardMaxBytes: 8 })) }, clip);
    peers.last().send({ type: 'peer.control', message: { type: 'clipboard', text: 'host' } });
    actor.send({ type: 'clipboard.local', text: 'client' });
    actor.send({ type: 'clipboard.local', text: 'far too long for the limit' });
    expect(clip.writeText.mock.calls.length > 0).toBe(toClient);
    const sent = peers.last().received.filter((c) => c.type === 'control.send' && c.message.type === 'clipboard');
    expect(sent.length).toBe(toHost ? 1 : 0);
  });

  it('asks the host for a keyframe', async () => {
    const { actor, peers } = await toStreaming();
    actor.send({ type: 'keyframe.request' });
    expect(peers.last().received.at(-1)).toEqual({ type: 'control.send', message: { type: 'keyframe' } });
  });
});
