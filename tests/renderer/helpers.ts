/** Stand-in actors for the connection machine: no network, no WebRTC. */
import { vi } from 'vitest';
import { createActor, fromCallback, fromPromise, type AnyActorRef } from 'xstate';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from '../../src/shared/policy.js';
import type { StreamDescription } from '../../src/shared/control.js';
import type { SessionGrant, Workstation } from '../../src/shared/protocol.js';
import type { BrokerApi, LoginOutcome, SignedInUser } from '../../src/renderer/api/broker.js';
import type { PollerEvent } from '../../src/renderer/session/actors.js';
import { sessionMachine } from '../../src/renderer/session/machine.js';
import type { PeerCommand, PeerEvent, PeerInput } from '../../src/renderer/session/peer.js';
import type { ClipboardPort, MachineInput } from '../../src/renderer/session/types.js';

export const user: SignedInUser = { username: 'ana', displayName: 'Ana' };
export const ws1: Workstation = { id: 'ws-1', name: 'WS-1', online: true, inUse: false };

export function grantWith(policy: Partial<SessionPolicy> = {}, n = 1): SessionGrant {
  return {
    sessionId: `ses-${n}`,
    workstationId: 'ws-1',
    signalUrl: 'ws://127.0.0.1:1/ws/client',
    grantToken: 'g'.repeat(43),
    iceServers: [],
    expiresAt: 0,
    policy: { ...DEFAULT_SESSION_POLICY, ...policy },
  };
}

/** Never reached: every actor that would use it is a stand-in. */
export const broker = {} as BrokerApi;

/** One peer actor instance as the test sees it. */
export interface PeerHandle {
  input: PeerInput;
  received: PeerCommand[];
  send(e: PeerEvent): void;
  stopped: boolean;
}

/** A peer stand-in that records every instance, the commands it receives and whether its cleanup ran. */
export function fakePeers() {
  const instances: PeerHandle[] = [];
  const actor = fromCallback<PeerCommand, PeerInput, PeerEvent>(({ sendBack, receive, input }) => {
    const h: PeerHandle = { input, received: [], send: sendBack, stopped: false };
    instances.push(h);
    receive((c) => h.received.push(c));
    return () => {
      h.stopped = true;
    };
  });
  return { instances, actor, last: () => instances[instances.length - 1]! };
}

export interface Overrides {
  login?: () => Promise<LoginOutcome>;
  totp?: (code: string) => Promise<SignedInUser>;
  grant?: () => Promise<SessionGrant>;
  workstations?: PollerEvent[];
  peer?: ReturnType<typeof fakePeers>['actor'];
  resume?: () => Promise<SignedInUser | null>;
}

export function machineWith(o: Overrides = {}) {
  return sessionMachine.provide({
    actors: {
      login: fromPromise(o.login ?? (() => Promise.resolve<LoginOutcome>({ status: 'ok', user }))),
      resume: fromPromise(o.resume ?? (() => Promise.resolve<SignedInUser | null>(null))),
      submitTotp: fromPromise<SignedInUser, { broker: BrokerApi; code: string }>(({ input }) => (o.totp ?? (() => Promise.resolve(user)))(input.code)),
      workstations: fromCallback(({ sendBack }) => {
        for (const e of o.workstations ?? [{ type: 'workstations.loaded', workstations: [ws1] }]) sendBack(e);
      }),
      requestGrant: fromPromise(o.grant ?? (() => Promise.resolve(grantWith()))),
      peer: o.peer ?? fakePeers().actor,
    },
  });
}

export function start(o: Overrides = {}, clipboard: ClipboardPort | null = null, input: Partial<MachineInput> = {}) {
  return createActor(machineWith(o), { input: { broker, clipboard, ...input } }).start();
}

/** Lets resolved stand-in promises reach the machine without moving fake time. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

export const value = (a: AnyActorRef) => JSON.stringify(a.getSnapshot().value);

export const fakeClipboard = () => ({ writeText: vi.fn(() => Promise.resolve()) });

/** What the encoded pipeline says in `hello` on this machine (libx264, 4:2:0 negotiated, 4:4:4 possible). */
export const ENCODED: StreamDescription = {
  pipeline: 'encoded',
  encoder: 'libx264',
  codec: 'H264',
  codecs: ['H264'],
  chroma444: false,
  chroma444Available: true,
  codecChangeInPlace: false,
  iceRestart: false,
  why: 'encoded pipeline, h264_nvenc: Cannot load libcuda.so.1; libx264: 10.1 ms/frame ≤ 25 ms: chosen',
};
