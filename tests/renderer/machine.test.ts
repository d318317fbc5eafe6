/** The session machine with stand-in actors: no network, no WebRTC. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromCallback, fromPromise, waitFor, type AnyActorRef, type EventObject } from 'xstate';
import { DEFAULT_SESSION_POLICY } from '../../src/shared/policy.js';
import type { SessionGrant, Workstation } from '../../src/shared/protocol.js';
import { BrokerError, type BrokerApi, type SignedInUser } from '../../src/renderer/api/broker.js';
import { sessionMachine, TIMEOUTS } from '../../src/renderer/session/machine.js';
import type { InputSink, PeerEvent, PeerInput } from '../../src/renderer/session/peer.js';

const user: SignedInUser = { username: 'ana', displayName: 'Ana' };
const ws1: Workstation = { id: 'ws-1', name: 'WS-1', online: true, inUse: false };
const grant: SessionGrant = {
  sessionId: 'ses-1',
  workstationId: 'ws-1',
  signalUrl: 'ws://127.0.0.1:1/ws/client',
  grantToken: 'g'.repeat(43),
  iceServers: [],
  expiresAt: 0,
  policy: DEFAULT_SESSION_POLICY,
};
const broker = {} as BrokerApi; // never reached: every actor is a stand-in

/** A peer stand-in the test drives by hand; records whether its cleanup ran. */
function controllablePeer() {
  const ctl = { sendBack: undefined as ((e: PeerEvent) => void) | undefined, cleanedUp: 0 };
  const actor = fromCallback<EventObject, PeerInput>(({ sendBack }) => {
    ctl.sendBack = sendBack;
    return () => {
      ctl.cleanedUp++;
    };
  });
  return { ctl, actor };
}

function machineWith(overrides: { login?: () => Promise<SignedInUser>; grant?: () => Promise<SessionGrant>; peer?: ReturnType<typeof controllablePeer>['actor'] } = {}) {
  return sessionMachine.provide({
    actors: {
      login: fromPromise(overrides.login ?? (() => Promise.resolve(user))),
      listWorkstations: fromPromise(() => Promise.resolve([ws1])),
      requestGrant: fromPromise(overrides.grant ?? (() => Promise.resolve(grant))),
      peer: overrides.peer ?? controllablePeer().actor,
    },
  });
}

/** Lets resolved stand-in promises reach the machine without moving fake time. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const value = (a: AnyActorRef) => JSON.stringify(a.getSnapshot().value);

describe('session machine', () => {
  beforeEach(() => vi.useRealTimers());
  afterEach(() => vi.useRealTimers());

  it('signs in, lists workstations, connects, streams and ends on disconnect', async () => {
    const { ctl, actor: peer } = controllablePeer();
    const actor = createActor(machineWith({ peer }), { input: { broker } }).start();
    expect(actor.getSnapshot().hasTag('login')).toBe(true);
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await waitFor(actor, (s) => s.matches('ready') && s.context.workstations.length === 1);
    expect(actor.getSnapshot().context.user).toEqual(user);

    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await waitFor(actor, (s) => s.matches({ live: 'establishing' }));
    expect(actor.getSnapshot().context.grant).toEqual(grant);

    const stream = {} as MediaStream;
    const input: InputSink = { send: vi.fn() };
    ctl.sendBack!({ type: 'peer.stream', stream });
    ctl.sendBack!({ type: 'peer.connected', input, pc: {} as RTCPeerConnection });
    await waitFor(actor, (s) => s.hasTag('streaming'));
    expect(actor.getSnapshot().context.stream).toBe(stream);
    expect(actor.getSnapshot().context.input).toBe(input);

    actor.send({ type: 'session.disconnect' });
    expect(value(actor)).toBe('"ended"');
    expect(ctl.cleanedUp).toBe(1);
    expect(actor.getSnapshot().context.stream).toBeNull();
    actor.send({ type: 'session.back' });
    expect(value(actor)).toBe('"ready"');
  });

  it('returns to the login form with the broker error on a wrong password', async () => {
    const actor = createActor(machineWith({ login: () => Promise.reject(new BrokerError('ERR_BAD_CREDENTIALS', 'wrong')) }), { input: { broker } }).start();
    actor.send({ type: 'auth.login', username: 'ana', password: 'bad' });
    await waitFor(actor, (s) => s.context.failure !== null);
    expect(value(actor)).toBe('"signedOut"');
    expect(actor.getSnapshot().context.failure).toEqual({ code: 'ERR_BAD_CREDENTIALS', message: 'wrong' });
  });

  it('fails with the broker reason when no grant is given', async () => {
    const actor = createActor(machineWith({ grant: () => Promise.reject(new BrokerError('ERR_WORKSTATION_OFFLINE', 'offline')) }), { input: { broker } }).start();
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await waitFor(actor, (s) => s.matches('ready'));
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await waitFor(actor, (s) => s.matches('failed'));
    expect(actor.getSnapshot().context.failure?.code).toBe('ERR_WORKSTATION_OFFLINE');
  });

  it('gives up on a peer that never connects, and tears it down', async () => {
    vi.useFakeTimers();
    const { ctl, actor: peer } = controllablePeer();
    const actor = createActor(machineWith({ peer }), { input: { broker } }).start();
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await settle();
    expect(actor.getSnapshot().matches('ready')).toBe(true);
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await settle();
    expect(actor.getSnapshot().matches({ live: 'establishing' })).toBe(true);
    vi.advanceTimersByTime(TIMEOUTS.connect - 1);
    expect(actor.getSnapshot().matches({ live: 'establishing' })).toBe(true);
    vi.advanceTimersByTime(1);
    expect(value(actor)).toBe('"failed"');
    expect(actor.getSnapshot().context.failure?.code).toBe('ERR_TIMEOUT');
    expect(ctl.cleanedUp).toBe(1);
  });

  it('times out a sign-in that never answers', () => {
    vi.useFakeTimers();
    const actor = createActor(machineWith({ login: () => new Promise(() => undefined) }), { input: { broker } }).start();
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    vi.advanceTimersByTime(TIMEOUTS.signIn);
    expect(value(actor)).toBe('"signedOut"');
    expect(actor.getSnapshot().context.failure?.code).toBe('ERR_TIMEOUT');
  });

  it('can be cancelled while waiting for the grant or the peer', async () => {
    const actor = createActor(machineWith({ grant: () => new Promise(() => undefined) }), { input: { broker } }).start();
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await waitFor(actor, (s) => s.matches('ready'));
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    expect(value(actor)).toBe('"connecting"');
    actor.send({ type: 'session.disconnect' });
    expect(value(actor)).toBe('"ended"');
    expect(actor.getSnapshot().context.endedReason).toBe('You cancelled the connection.');
  });

  it('ends with the host reason when the peer closes, and fails with its code on error', async () => {
    for (const [event, state] of [
      [{ type: 'peer.closed', reason: 'host ended the session' }, '"ended"'],
      [{ type: 'peer.error', code: 'ERR_WORKSTATION_IN_USE', message: 'in use' }, '"failed"'],
    ] as const) {
      const { ctl, actor: peer } = controllablePeer();
      const actor = createActor(machineWith({ peer }), { input: { broker } }).start();
      actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
      await waitFor(actor, (s) => s.matches('ready'));
      actor.send({ type: 'session.connect', workstationId: 'ws-1' });
      await waitFor(actor, (s) => s.matches('live'));
      ctl.sendBack!(event);
      expect(value(actor)).toBe(state);
      expect(ctl.cleanedUp).toBe(1);
    }
  });
});
