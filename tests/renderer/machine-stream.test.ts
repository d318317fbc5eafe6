/**
 * The connection machine and how the host sends the picture (issue 12), with
 * stand-in actors and fake timers: a host that cannot restart ICE (the
 * encoded pipeline) gets a fresh grant at once when the path drops; one that
 * can (wrtc) still restarts ICE first; full colour and codec changes reconnect
 * where the host cannot change the format in place, with the reason kept for
 * the banner, and renegotiate the running peer where it can.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StreamDescription } from '../../src/shared/control.js';
import { RECONNECT, TIMEOUTS } from '../../src/renderer/session/machine.js';
import { BrokerError } from '../../src/renderer/api/broker.js';
import type { InputSink } from '../../src/renderer/session/peer.js';
import type { MachineInput } from '../../src/renderer/session/types.js';
import { fakePeers, grantWith, start, value, type Overrides, ENCODED, type PeerHandle } from './helpers.js';

const sink: InputSink = { send: () => undefined };
const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** What the wrtc pipeline says: libwebrtc's VP8, ICE restarts and renegotiation work. */
const WRTC: StreamDescription = {
  pipeline: 'wrtc',
  encoder: 'libwebrtc',
  codec: 'VP8',
  codecs: ['VP8', 'VP9', 'AV1'],
  chroma444: false,
  chroma444Available: false,
  codecChangeInPlace: true,
  iceRestart: true,
  why: 'wrtc pipeline asked for (--pipeline wrtc)',
};

const hello = (peer: PeerHandle, stream: StreamDescription) =>
  peer.send({ type: 'peer.control', message: { type: 'hello', monitors: [], applied: { fps: 30 }, stream } });

/** Signed in, connected and streaming from a host that said `stream` in its hello. */
async function streamingFrom(stream: StreamDescription, o: Overrides = {}, input: Partial<MachineInput> = {}) {
  const peers = fakePeers();
  let grants = 0;
  const actor = start({ peer: peers.actor, grant: () => Promise.resolve(grantWith({}, ++grants)), ...o }, null, input);
  actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
  await tick();
  actor.send({ type: 'session.connect', workstationId: 'ws-1' });
  await tick();
  peers.last().send({ type: 'peer.answered' });
  peers.last().send({ type: 'peer.connected', input: sink });
  hello(peers.last(), stream);
  expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
  return { actor, peers, grants: () => grants };
}

describe('a dropped path', () => {
  it('goes straight to a fresh grant, without an ICE restart, on a host that cannot restart ICE', async () => {
    const { actor, peers, grants } = await streamingFrom(ENCODED);
    expect(actor.getSnapshot().context.hostStream).toEqual(ENCODED);
    peers.last().send({ type: 'peer.lost', reason: 'The network connection to the workstation dropped.', restartable: true });
    expect(value(actor)).toBe('{"session":{"recovering":"regranting"}}');
    expect(actor.getSnapshot().hasTag('reconnecting')).toBe(true);
    expect(actor.getSnapshot().context.lostAt).not.toBeNull();
    // The old peer is torn down and was never asked to restart ICE.
    expect(peers.instances[0]!.stopped).toBe(true);
    expect(peers.instances[0]!.received).not.toContainEqual({ type: 'ice.restart' });
    // No backoff before the first attempt: the grant is asked for now, not after RECONNECT.initialDelayMs.
    await tick();
    expect(grants()).toBe(2);
    expect(value(actor)).toBe('{"session":{"link":"signalling"}}');
    expect(peers.instances).toHaveLength(2);
    expect(peers.last().input.grant.sessionId).toBe('ses-2');
    peers.last().send({ type: 'peer.answered' });
    peers.last().send({ type: 'peer.connected', input: sink });
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
    expect(actor.getSnapshot().context).toMatchObject({ lostAt: null, attempt: 0, reconnectFor: null });
  });

  it('does the same when the path drops while the picture is stalled', async () => {
    const { actor, peers } = await streamingFrom(ENCODED);
    await tick(2_000);
    expect(value(actor)).toBe('{"session":{"link":"stalled"}}');
    peers.last().send({ type: 'peer.lost', reason: 'ICE disconnected', restartable: true });
    expect(value(actor)).toBe('{"session":{"recovering":"regranting"}}');
  });

  it('backs off as before when that first fresh grant fails', async () => {
    let calls = 0;
    const { actor, peers } = await streamingFrom(ENCODED, {
      grant: () => (calls++ === 0 ? Promise.resolve(grantWith()) : Promise.reject(new BrokerError('ERR_BROKER_UNREACHABLE', 'no network'))),
    });
    peers.last().send({ type: 'peer.lost', reason: 'ICE disconnected', restartable: true });
    await tick();
    expect(value(actor)).toBe('{"session":{"recovering":"waiting"}}');
    expect(actor.getSnapshot().context.retryAt! - Date.now()).toBe(RECONNECT.initialDelayMs);
  });

  it('still restarts ICE first on a host that can (wrtc)', async () => {
    const { actor, peers } = await streamingFrom(WRTC);
    peers.last().send({ type: 'peer.lost', reason: 'ICE disconnected', restartable: true });
    expect(value(actor)).toBe('{"session":{"link":"iceRestart"}}');
    expect(peers.last().received).toContainEqual({ type: 'ice.restart' });
    await tick(TIMEOUTS.iceRestart);
    expect(value(actor)).toBe('{"session":{"recovering":"waiting"}}');
  });

  it('still restarts ICE first when the host has not said (an older host)', async () => {
    const peers = fakePeers();
    const actor = start({ peer: peers.actor });
    actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
    await tick();
    actor.send({ type: 'session.connect', workstationId: 'ws-1' });
    await tick();
    peers.last().send({ type: 'peer.connected', input: sink });
    peers.last().send({ type: 'peer.control', message: { type: 'hello', monitors: [], applied: {} } });
    expect(actor.getSnapshot().context.hostStream).toBeNull();
    peers.last().send({ type: 'peer.lost', reason: 'ICE disconnected', restartable: true });
    expect(value(actor)).toBe('{"session":{"link":"iceRestart"}}');
  });

  it('waits before the fresh grant when the peer is gone (the host agent stopped), whatever the host', async () => {
    const { actor, peers } = await streamingFrom(ENCODED);
    peers.last().send({ type: 'peer.lost', reason: 'peer closed', restartable: false });
    expect(value(actor)).toBe('{"session":{"recovering":"waiting"}}');
  });

  it('remembers how the host sends across the reconnect, and replaces it with the next hello', async () => {
    const { actor, peers } = await streamingFrom(ENCODED);
    peers.last().send({ type: 'peer.lost', reason: 'ICE disconnected', restartable: true });
    await tick();
    expect(actor.getSnapshot().context.hostStream).toEqual(ENCODED);
    peers.last().send({ type: 'peer.connected', input: sink });
    hello(peers.last(), { ...ENCODED, chroma444: true });
    expect(actor.getSnapshot().context.hostStream?.chroma444).toBe(true);
  });
});

describe('full colour', () => {
  it('is asked for in the offer when the person wants it and the policy allows it', async () => {
    const on = await streamingFrom(ENCODED, {}, { fullColour: true });
    expect(on.peers.last().input.fullColour).toBe(true);
    const off = await streamingFrom(ENCODED, { grant: () => Promise.resolve(grantWith({ chroma444: false })) }, { fullColour: true });
    expect(off.peers.last().input.fullColour).toBe(false);
    const unset = await streamingFrom(ENCODED);
    expect(unset.peers.last().input.fullColour).toBe(false);
  });

  it('reconnects to apply it on a host that cannot change chroma in place, saying why, and offers 4:4:4 first', async () => {
    const { actor, peers, grants } = await streamingFrom(ENCODED);
    actor.send({ type: 'fullColour.set', enabled: true });
    expect(actor.getSnapshot().context.fullColour).toBe(true);
    expect(value(actor)).toBe('{"session":{"recovering":"regranting"}}');
    expect(actor.getSnapshot().context.reconnectFor).toBe('fullColour');
    expect(actor.getSnapshot().hasTag('reconnecting')).toBe(true);
    expect(peers.instances[0]!.stopped).toBe(true);
    // Nothing was renegotiated on the old peer: it could not have applied it.
    expect(peers.instances[0]!.received.filter((c) => c.type === 'codec.set')).toEqual([]);
    await tick();
    expect(grants()).toBe(2);
    expect(peers.last().input.fullColour).toBe(true);
    // Still "reconnecting to apply full colour" until the new connection streams.
    expect(value(actor)).toBe('{"session":{"link":"signalling"}}');
    expect(actor.getSnapshot().context.reconnectFor).toBe('fullColour');
    peers.last().send({ type: 'peer.connected', input: sink });
    hello(peers.last(), { ...ENCODED, chroma444: true });
    expect(actor.getSnapshot().context.reconnectFor).toBeNull();
    expect(actor.getSnapshot().context.lostAt).toBeNull();
    // Switching it off again reconnects again, to 4:2:0.
    actor.send({ type: 'fullColour.set', enabled: false });
    expect(value(actor)).toBe('{"session":{"recovering":"regranting"}}');
    await tick();
    expect(peers.last().input.fullColour).toBe(false);
  });

  it('does not reconnect when the host would send the same either way', async () => {
    // No 4:4:4 encoder on this host (a GPU encoder that cannot, or the policy said no at the host).
    const { actor, peers } = await streamingFrom({ ...ENCODED, chroma444Available: false });
    actor.send({ type: 'fullColour.set', enabled: true });
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
    expect(actor.getSnapshot().context.fullColour).toBe(true);
    expect(peers.instances).toHaveLength(1);
    expect(peers.last().received.filter((c) => c.type === 'codec.set')).toEqual([]);
    // Already 4:4:4 and asked for it: nothing to do either.
    const already = await streamingFrom({ ...ENCODED, chroma444: true });
    already.actor.send({ type: 'fullColour.set', enabled: true });
    expect(value(already.actor)).toBe('{"session":{"link":"streaming"}}');
  });

  it('renegotiates the running peer on a host that changes the format in place', async () => {
    const { actor, peers } = await streamingFrom({ ...WRTC, chroma444Available: true });
    actor.send({ type: 'fullColour.set', enabled: true });
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
    expect(peers.last().received.at(-1)).toEqual({ type: 'codec.set', codec: null, fullColour: true });
    expect(peers.instances).toHaveLength(1);
    expect(actor.getSnapshot().context.reconnectFor).toBeNull();
  });

  it('is only kept between connections, for the next offer', async () => {
    const { actor, peers } = await streamingFrom(ENCODED);
    peers.last().send({ type: 'peer.lost', reason: 'peer closed', restartable: false });
    expect(value(actor)).toBe('{"session":{"recovering":"waiting"}}');
    actor.send({ type: 'fullColour.set', enabled: true });
    expect(value(actor)).toBe('{"session":{"recovering":"waiting"}}');
    await tick(RECONNECT.initialDelayMs);
    expect(peers.last().input.fullColour).toBe(true);
  });
});

describe('codec changes', () => {
  const twoCodecs: StreamDescription = { ...ENCODED, codecs: ['H264', 'AV1'] };

  it('reconnect on a host that sends one format per connection, when the host would send another codec', async () => {
    const { actor, peers } = await streamingFrom(twoCodecs);
    actor.send({ type: 'codec.set', codec: 'AV1' });
    expect(value(actor)).toBe('{"session":{"recovering":"regranting"}}');
    expect(actor.getSnapshot().context.reconnectFor).toBe('codec');
    expect(actor.getSnapshot().context.quality.codec).toBe('AV1');
    // Not asked of the old connection, which would only answer ERR_CODEC_RECONNECT.
    expect(peers.instances[0]!.received.filter((c) => c.type === 'control.send' && c.message.type === 'quality' && c.message.request.codec === 'AV1')).toEqual([]);
    await tick();
    expect(peers.last().input.codec).toBe('AV1');
  });

  it('do not reconnect for what the host already sends, or for a codec it cannot send', async () => {
    const { actor, peers } = await streamingFrom(twoCodecs);
    actor.send({ type: 'codec.set', codec: 'H264' });
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
    actor.send({ type: 'codec.set', codec: null });
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
    // VP8 is not among the host's codecs: the host would go on sending H.264.
    actor.send({ type: 'codec.set', codec: 'VP8' });
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
    expect(peers.instances).toHaveLength(1);
    expect(peers.last().received.filter((c) => c.type === 'codec.set')).toEqual([]);
  });

  it('renegotiate in place on a host that can', async () => {
    const { actor, peers } = await streamingFrom(WRTC);
    actor.send({ type: 'codec.set', codec: 'VP9' });
    expect(value(actor)).toBe('{"session":{"link":"streaming"}}');
    expect(peers.last().received.at(-1)).toEqual({ type: 'codec.set', codec: 'VP9', fullColour: false });
    expect(peers.instances).toHaveLength(1);
  });
});
