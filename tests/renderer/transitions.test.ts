/** Pure `transition()` checks: the machine's logic without running actors or timers. */
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, initialTransition, transition } from 'xstate';
import { sessionMachine } from '../../src/renderer/session/machine.js';
import type { SessionEvent } from '../../src/renderer/session/types.js';
import { broker, ENCODED, grantWith } from './helpers.js';

const [initial] = initialTransition(sessionMachine, { broker });


/** An unstarted stand-in, so `sendTo('peer')` resolves in a pure transition (nothing is delivered). */
const peerRef = createActor(fromCallback(() => undefined));

/** A snapshot at `value` with context changes (and, in the link states, a peer child). */
function at(value: Parameters<typeof sessionMachine.resolveState>[0]['value'], context: Partial<typeof initial.context> = {}) {
  const snapshot = sessionMachine.resolveState({ value, context: { ...initial.context, ...context } });
  (snapshot.children as Record<string, unknown>).peer = peerRef;
  return snapshot;
}

function next(snapshot: ReturnType<typeof at>, event: SessionEvent) {
  const [s, actions] = transition(sessionMachine, snapshot, event);
  return { value: s.value, context: s.context, tags: [...s.tags].sort(), actions: actions.map((a) => a.type) };
}

describe('pure transitions', () => {
  it('starts signed out with the login tag', () => {
    expect(initial.value).toBe('signedOut');
    expect(initial.hasTag('login')).toBe(true);
  });

  it.each<[string, ReturnType<typeof at>, SessionEvent, unknown]>([
    ['login', at('signedOut'), { type: 'auth.login', username: 'a', password: 'b' }, { signingIn: 'password' }],
    ['code entered', at({ signingIn: 'totp' }), { type: 'auth.totp', code: '123456' }, { signingIn: 'verifying' }],
    ['cancel on the code form', at({ signingIn: 'totp' }), { type: 'auth.cancel' }, 'signedOut'],
    ['connect', at('workstations'), { type: 'session.connect', workstationId: 'ws-1' }, { session: 'requestingGrant' }],
    ['logout', at('workstations'), { type: 'auth.logout' }, 'signedOut'],
    ['answer', at({ session: { link: 'signalling' } }, { grant: grantWith() }), { type: 'peer.answered' }, { session: { link: 'iceConnecting' } }],
    ['connected', at({ session: { link: 'iceConnecting' } }, { grant: grantWith() }), { type: 'peer.connected', input: { send: () => undefined } }, { session: { link: 'streaming' } }],
    ['network blip', at({ session: { link: 'streaming' } }, { grant: grantWith() }), { type: 'peer.lost', reason: 'x', restartable: true }, { session: { link: 'iceRestart' } }],
    [
      'network blip, host cannot restart ICE',
      at({ session: { link: 'streaming' } }, { grant: grantWith(), hostStream: { ...ENCODED } }),
      { type: 'peer.lost', reason: 'x', restartable: true },
      { session: { recovering: 'regranting' } },
    ],
    [
      'full colour on, host cannot change it in place',
      at({ session: { link: 'streaming' } }, { grant: grantWith(), hostStream: { ...ENCODED } }),
      { type: 'fullColour.set', enabled: true },
      { session: { recovering: 'regranting' } },
    ],
    [
      'full colour on, host renegotiates',
      at({ session: { link: 'streaming' } }, { grant: grantWith(), hostStream: { ...ENCODED, codecChangeInPlace: true, iceRestart: true } }),
      { type: 'fullColour.set', enabled: true },
      { session: { link: 'streaming' } },
    ],
    ['peer gone', at({ session: { link: 'streaming' } }, { grant: grantWith() }), { type: 'peer.lost', reason: 'x', restartable: false }, { session: { recovering: 'waiting' } }],
    ['restored', at({ session: { link: 'iceRestart' } }, { grant: grantWith(), lostAt: Date.now() }), { type: 'peer.restored' }, { session: { link: 'streaming' } }],
    ['lost before ever streaming', at({ session: { link: 'iceConnecting' } }, { grant: grantWith() }), { type: 'peer.lost', reason: 'x', restartable: false }, 'failed'],
    ['lost during a reconnect attempt', at({ session: { link: 'iceConnecting' } }, { grant: grantWith(), lostAt: Date.now() }), { type: 'peer.lost', reason: 'x', restartable: false }, { session: { recovering: 'waiting' } }],
    ['host ends it', at({ session: { link: 'streaming' } }, { grant: grantWith() }), { type: 'peer.closed', reason: 'replaced' }, 'ended'],
    ['back from ended', at('ended'), { type: 'session.back' }, 'workstations'],
    ['retry from failed', at('failed'), { type: 'session.connect', workstationId: 'ws-1' }, { session: 'requestingGrant' }],
  ])('%s', (_name, from, event, to) => {
    expect(next(from, event).value).toEqual(to);
  });

  it('ignores events a state does not handle', () => {
    expect(next(at('signedOut'), { type: 'session.connect', workstationId: 'ws-1' }).value).toBe('signedOut');
    expect(next(at('workstations'), { type: 'peer.answered' }).value).toBe('workstations');
  });

  it('asks the peer for an ICE restart on entering iceRestart, and marks when the connection was lost', () => {
    const from = at({ session: { link: 'streaming' } }, { grant: grantWith() });
    const event: SessionEvent = { type: 'peer.lost', reason: 'x', restartable: true };
    const r = next(from, event);
    expect(r.context.lostAt).toEqual(expect.any(Number));
    expect(r.tags).toEqual(['reconnecting', 'session']);
    // The one message sent: `ice.restart`, now (no delay), to the peer child.
    const [, actions] = transition(sessionMachine, from, event);
    const sends = actions.filter((a) => a.type === 'xstate.sendTo').map((a) => a.params as { to: unknown; event: unknown; delay: unknown });
    expect(sends.map(({ event: sent, delay }) => ({ sent, delay }))).toEqual([{ sent: { type: 'ice.restart' }, delay: undefined }]);
    expect(sends[0]!.to).toBe(peerRef);
  });

  it('marks a reconnect to apply full colour with its reason and asks nothing of the old peer', () => {
    const from = at({ session: { link: 'streaming' } }, { grant: grantWith(), hostStream: { ...ENCODED } });
    const [s, actions] = transition(sessionMachine, from, { type: 'fullColour.set', enabled: true });
    expect(s.context).toMatchObject({ fullColour: true, reconnectFor: 'fullColour', lostAt: expect.any(Number) });
    expect(s.hasTag('reconnecting')).toBe(true);
    expect(actions.filter((a) => a.type === 'xstate.sendTo')).toEqual([]);
  });

  it('tags every state for the UI', () => {
    expect([...at({ signingIn: 'verifying' }).tags].sort()).toEqual(['busy', 'login', 'totp']);
    expect([...at({ session: 'requestingGrant' }).tags].sort()).toEqual(['busy', 'connecting', 'session']);
    expect([...at({ session: { recovering: 'regranting' } }).tags].sort()).toEqual(['reconnecting', 'session']);
    expect([...at('failed').tags].sort()).toEqual(['over', 'workstations']);
  });
});
