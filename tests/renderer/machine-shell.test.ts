/**
 * The connection machine's desktop-shell paths (issue 6) with stand-in
 * actors: the remembered sign-in, session windows, "Connect" opening a
 * window, deep links, and the client policy (forceRelay, clipboard).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokerError, type BrokerApi } from '../../src/renderer/api/broker.js';
import { TIMEOUTS } from '../../src/renderer/session/machine.js';
import type { InputSink } from '../../src/renderer/session/peer.js';
import { OPEN_CLIENT_POLICY, type ClientSessionPolicy } from '../../src/renderer/shell/client-policy.js';
import { sessionStateOf } from '../../src/renderer/shell/session-state.js';
import { fakeClipboard, fakePeers, grantWith, start, user, value } from './helpers.js';

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);
const sink: InputSink = { send: () => undefined };
/** A broker that can resume: only the method's presence matters, the actor is a stand-in. */
const resumable = { resume: () => Promise.resolve(null) } as unknown as BrokerApi;
const relayOnly: ClientSessionPolicy = { ...OPEN_CLIENT_POLICY, forceRelay: true };
const turn = { urls: ['turn:turn.studio.example:3478?transport=udp'], username: '1:ana', credential: 'x' };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('remembered sign-in', () => {
  it('goes straight to the workstation list when main resumes a sign-in', async () => {
    const actor = start({ resume: () => Promise.resolve(user) }, null, { broker: resumable, resume: true });
    expect(value(actor)).toBe('"resuming"');
    expect(actor.getSnapshot().hasTag('login')).toBe(true);
    expect(actor.getSnapshot().hasTag('busy')).toBe(true);
    await tick();
    expect(value(actor)).toBe('"workstations"');
    expect(actor.getSnapshot().context.user).toEqual(user);
  });

  it('shows the form when nothing is remembered, and says why when the broker is unreachable', async () => {
    const none = start({ resume: () => Promise.resolve(null) }, null, { broker: resumable, resume: true });
    await tick();
    expect(value(none)).toBe('"signedOut"');
    expect(none.getSnapshot().context.failure).toBeNull();

    const down = start({ resume: () => Promise.reject(new BrokerError('ERR_BROKER_UNREACHABLE', 'down')) }, null, { broker: resumable, resume: true });
    await tick();
    expect(value(down)).toBe('"signedOut"');
    expect(down.getSnapshot().context.failure?.code).toBe('ERR_BROKER_UNREACHABLE');
  });

  it('gives up waiting after the sign-in timeout', async () => {
    const actor = start({ resume: () => new Promise(() => undefined) }, null, { broker: resumable, resume: true });
    await tick(TIMEOUTS.signIn);
    expect(value(actor)).toBe('"signedOut"');
    expect(actor.getSnapshot().context.failure?.code).toBe('ERR_TIMEOUT');
  });

  it('never tries without a broker that can resume (the web client)', () => {
    const resume = vi.fn(() => Promise.resolve(user));
    const actor = start({ resume }, null, { resume: true });
    expect(value(actor)).toBe('"signedOut"');
    expect(resume).not.toHaveBeenCalled();
  });
});

describe('session window', () => {
  it('connects at once, reports its states in order and never returns to a list', async () => {
    const peers = fakePeers();
    const states: (string | null)[] = [];
    const actor = start({ peer: peers.actor }, null, { sessionWindow: 'ws-1' });
    actor.subscribe((s) => {
      const st = sessionStateOf(s);
      if (st !== states.at(-1)) states.push(st);
    });
    states.push(sessionStateOf(actor.getSnapshot()));
    expect(value(actor)).toBe('{"session":"requestingGrant"}');
    expect(actor.getSnapshot().context.workstationId).toBe('ws-1');
    await tick();
    peers.last().send({ type: 'peer.answered' });
    peers.last().send({ type: 'peer.connected', input: sink });
    peers.last().send({ type: 'peer.lost', reason: 'blip', restartable: true });
    peers.last().send({ type: 'peer.restored' });
    actor.send({ type: 'session.disconnect' });
    expect(value(actor)).toBe('"ended"');
    expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connected', 'ended']);

    actor.send({ type: 'session.back' });
    expect(value(actor)).toBe('"ended"');
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    expect(value(actor)).toBe('{"session":"requestingGrant"}');
  });

  it('stays on its failure (with Reconnect) instead of going back to a list', async () => {
    const actor = start({ grant: () => Promise.reject(new BrokerError('ERR_WORKSTATION_OFFLINE', 'offline')) }, null, { sessionWindow: 'ws-1' });
    await tick();
    expect(value(actor)).toBe('"failed"');
    expect(sessionStateOf(actor.getSnapshot())).toBe('failed');
    actor.send({ type: 'session.back' });
    expect(value(actor)).toBe('"failed"');
  });
});

describe('Connect in the desktop app’s main window', () => {
  async function signedIn(open: (id: string) => Promise<void>, o = {}) {
    const windows = { open: vi.fn(open) };
    const actor = start(o, null, { windows });
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw', brokerUrl: 'https://backlot.studio.example' });
    await tick();
    expect(value(actor)).toBe('"workstations"');
    return { actor, windows };
  }

  it('opens a session window and stays on the list', async () => {
    const { actor, windows } = await signedIn(() => Promise.resolve());
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await tick();
    expect(windows.open).toHaveBeenCalledWith('ws-1');
    expect(value(actor)).toBe('"workstations"');
  });

  it('shows why a window could not open, and signs out when main has', async () => {
    const { actor } = await signedIn(() => Promise.reject(new BrokerError('ERR_FORBIDDEN', 'At most 8 sessions')));
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await tick();
    expect(actor.getSnapshot().context.failure).toEqual({ code: 'ERR_FORBIDDEN', message: 'At most 8 sessions' });

    const r = await signedIn(() => Promise.reject(new BrokerError('ERR_UNAUTHORIZED', 'signed out')));
    r.actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await tick();
    expect(value(r.actor)).toBe('"signedOut"');
  });
});

describe('deep links', () => {
  const link = { type: 'open.request' as const, workstationId: 'ws-1', brokerUrl: 'https://backlot.studio.example' };

  it('waits for the sign-in, then connects to the link’s workstation (never signing in by itself)', async () => {
    const login = vi.fn(() => Promise.resolve({ status: 'ok' as const, user }));
    const actor = start({ login });
    actor.send(link);
    await tick();
    expect(value(actor)).toBe('"signedOut"');
    expect(login).not.toHaveBeenCalled();
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw', brokerUrl: 'https://BACKLOT.studio.example:443/' });
    await tick();
    expect(value(actor)).toBe('{"session":{"link":"signalling"}}');
    expect(actor.getSnapshot().context.workstationId).toBe('ws-1');
    expect(actor.getSnapshot().context.pendingOpen).toBeNull();
  });

  it('opens the window for a link that arrives while signed in, or after a resumed sign-in', async () => {
    const windows = { open: vi.fn(() => Promise.resolve()) };
    const actor = start({ resume: () => Promise.resolve(user) }, null, { broker: resumable, resume: true, windows });
    actor.send(link);
    await tick();
    expect(windows.open).toHaveBeenCalledWith('ws-1');
    actor.send({ ...link, workstationId: 'ws-2' });
    expect(windows.open).toHaveBeenLastCalledWith('ws-2');
    expect(value(actor)).toBe('"workstations"');
  });

  it('does not open a link for another broker than the one signed in to', async () => {
    const actor = start();
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw', brokerUrl: 'https://other.example' });
    await tick();
    actor.send(link);
    expect(value(actor)).toBe('"workstations"');
    expect(actor.getSnapshot().context.failure?.message).toContain('https://backlot.studio.example');
  });

  it('ignores a link that names only a profile', async () => {
    const actor = start();
    actor.send({ ...link, workstationId: null });
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    expect(value(actor)).toBe('"workstations"');
  });
});

describe('client policy', () => {
  it('with forceRelay and no TURN server, fails with ERR_NO_RELAY and never builds a peer', async () => {
    const peers = fakePeers();
    const actor = start({ peer: peers.actor, grant: () => Promise.resolve({ ...grantWith(), iceServers: [{ urls: 'stun:stun.example:3478' }] }) }, null, {
      clientPolicy: relayOnly,
    });
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await tick();
    expect(value(actor)).toBe('"failed"');
    expect(actor.getSnapshot().context.failure?.code).toBe('ERR_NO_RELAY');
    expect(actor.getSnapshot().context.failure?.message).toMatch(/relay \(TURN\)/);
    expect(peers.instances).toHaveLength(0);
  });

  it('with forceRelay, hands the peer only the TURN servers and the relay policy', async () => {
    const peers = fakePeers();
    const actor = start({ peer: peers.actor, grant: () => Promise.resolve({ ...grantWith(), iceServers: [{ urls: 'stun:stun.example:3478' }, turn] }) }, null, {
      clientPolicy: relayOnly,
    });
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await tick();
    expect(peers.last().input.forceRelay).toBe(true);
    expect(peers.last().input.grant.iceServers).toEqual([turn]);
    // No relay answers: the failure names the relay rather than a generic firewall.
    peers.last().send({ type: 'peer.answered' });
    await tick(TIMEOUTS.ice);
    expect(value(actor)).toBe('"failed"');
    expect(actor.getSnapshot().context.failure?.message).toMatch(/relay \(TURN\) server could not be reached/);
  });

  it('honours the stricter of the grant’s clipboard policy and the local setting', async () => {
    const clipboard = fakeClipboard();
    const peers = fakePeers();
    const actor = start({ peer: peers.actor, grant: () => Promise.resolve(grantWith({ clipboard: 'both' })) }, clipboard, {
      clientPolicy: { ...OPEN_CLIENT_POLICY, clipboard: 'host-to-client' },
    });
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await tick();
    const peer = peers.last();
    peer.send({ type: 'peer.answered' });
    peer.send({ type: 'peer.connected', input: sink });
    expect(actor.getSnapshot().context.grant?.policy.clipboard).toBe('host-to-client');
    actor.send({ type: 'clipboard.local', text: 'secret comp path' });
    expect(peer.received.filter((c) => c.type === 'control.send' && c.message.type === 'clipboard')).toHaveLength(0);
    peer.send({ type: 'peer.control', message: { type: 'clipboard', text: 'from host' } });
    expect(clipboard.writeText).toHaveBeenCalledWith('from host');

    // Turning the clipboard off applies to the running session at once.
    actor.send({ type: 'client.policy', policy: { ...OPEN_CLIENT_POLICY, clipboard: 'off' } });
    expect(actor.getSnapshot().context.grant?.policy.clipboard).toBe('off');
    peer.send({ type: 'peer.control', message: { type: 'clipboard', text: 'again' } });
    expect(clipboard.writeText).toHaveBeenCalledTimes(1);
  });

  it('keeps the grant as is in the web client', async () => {
    const peers = fakePeers();
    const actor = start({ peer: peers.actor, grant: () => Promise.resolve({ ...grantWith({ clipboard: 'both' }), iceServers: [{ urls: 'stun:s:1' }] }) });
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await tick();
    expect(peers.last().input.forceRelay).toBe(false);
    expect(peers.last().input.grant.iceServers).toEqual([{ urls: 'stun:s:1' }]);
    expect(peers.last().input.grant.policy.clipboard).toBe('both');
  });
});
