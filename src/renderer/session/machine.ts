/**
 * The client's connection lifecycle: signed out → signing in → ready →
 * connecting (grant, signalling, ICE) → streaming → ended / failed. Every
 * waiting state has a timeout, and the broker and peer are actors so tests can
 * replace them (`machine.provide({ actors })`).
 */
import { assign, fromPromise, setup } from 'xstate';
import type { ErrorCode } from '../../shared/constants.js';
import type { SessionGrant, Workstation } from '../../shared/protocol.js';
import { BrokerError, type BrokerApi, type SignedInUser } from '../api/broker.js';
import { peerActor, type InputSink, type PeerEvent, type PeerInput } from './peer.js';

/** Limits on each waiting state. */
export const TIMEOUTS = {
  signIn: 15_000,
  grant: 10_000,
  /** From grant to the first decoded frame: signalling plus ICE plus DTLS. */
  connect: 20_000,
} as const;

export interface Failure {
  code: ErrorCode | 'ERR_TIMEOUT';
  message: string;
}

export interface SessionContext {
  broker: BrokerApi;
  user: SignedInUser | null;
  workstations: Workstation[];
  workstationId: string | null;
  grant: SessionGrant | null;
  stream: MediaStream | null;
  input: InputSink | null;
  pc: RTCPeerConnection | null;
  failure: Failure | null;
  endedReason: string | null;
}

export type SessionEvent =
  | { type: 'auth.login'; username: string; password: string; brokerUrl?: string }
  | { type: 'auth.logout' }
  | { type: 'workstations.refresh' }
  | { type: 'session.connect'; workstationId: string }
  | { type: 'session.disconnect' }
  | { type: 'session.back' }
  | PeerEvent;

function toFailure(error: unknown): Failure {
  if (error instanceof BrokerError) return { code: error.code, message: error.message };
  return { code: 'ERR_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

const connectTransition = { target: 'connecting', actions: 'prepareConnect' } as const;

const emptySession = { grant: null, stream: null, input: null, pc: null } as const;

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as { broker: BrokerApi },
  },
  actors: {
    login: fromPromise<SignedInUser, { broker: BrokerApi; username: string; password: string; brokerUrl?: string }>(({ input }) =>
      input.broker.login(input.username, input.password, input.brokerUrl),
    ),
    listWorkstations: fromPromise<Workstation[], { broker: BrokerApi }>(({ input }) => input.broker.listWorkstations()),
    requestGrant: fromPromise<SessionGrant, { broker: BrokerApi; workstationId: string }>(({ input }) =>
      input.broker.requestSession(input.workstationId),
    ),
    peer: peerActor,
  },
  actions: {
    clearFailure: assign({ failure: null }),
    prepareConnect: assign({
      workstationId: ({ event }) => (event.type === 'session.connect' ? event.workstationId : null),
      failure: null,
      endedReason: null,
    }),
    clearSession: assign({ ...emptySession }),
    logout: ({ context }) => void context.broker.logout(),
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    broker: input.broker,
    user: null,
    workstations: [],
    workstationId: null,
    failure: null,
    endedReason: null,
    ...emptySession,
  }),
  initial: 'signedOut',
  states: {
    signedOut: {
      tags: ['login'],
      on: { 'auth.login': 'signingIn' },
    },
    signingIn: {
      tags: ['login', 'busy'],
      entry: 'clearFailure',
      invoke: {
        src: 'login',
        input: ({ context, event }) => {
          const e = event as Extract<SessionEvent, { type: 'auth.login' }>;
          return { broker: context.broker, username: e.username, password: e.password, ...(e.brokerUrl ? { brokerUrl: e.brokerUrl } : {}) };
        },
        onDone: { target: 'ready', actions: assign({ user: ({ event }) => event.output }) },
        onError: { target: 'signedOut', actions: assign({ failure: ({ event }) => toFailure(event.error) }) },
      },
      after: { [TIMEOUTS.signIn]: { target: 'signedOut', actions: assign({ failure: { code: 'ERR_TIMEOUT', message: 'Signing in took too long.' } }) } },
    },
    ready: {
      tags: ['workstations'],
      invoke: {
        src: 'listWorkstations',
        input: ({ context }) => ({ broker: context.broker }),
        onDone: { actions: assign({ workstations: ({ event }) => event.output }) },
        onError: { actions: assign({ failure: ({ event }) => toFailure(event.error) }) },
      },
      on: {
        'workstations.refresh': { target: 'ready', reenter: true },
        'session.connect': connectTransition,
        'auth.logout': { target: 'signedOut', actions: ['logout', assign({ user: null, workstations: [] })] },
      },
    },
    connecting: {
      tags: ['busy', 'session'],
      invoke: {
        src: 'requestGrant',
        input: ({ context }) => ({ broker: context.broker, workstationId: context.workstationId ?? '' }),
        onDone: { target: 'live', actions: assign({ grant: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ failure: ({ event }) => toFailure(event.error) }) },
      },
      after: {
        [TIMEOUTS.grant]: { target: 'failed', actions: assign({ failure: { code: 'ERR_TIMEOUT', message: 'The broker did not answer in time.' } }) },
      },
      on: {
        'session.disconnect': { target: 'ended', actions: assign({ endedReason: 'You cancelled the connection.' }) },
      },
    },
    live: {
      tags: ['session'],
      invoke: {
        id: 'peer',
        src: 'peer',
        input: ({ context }): PeerInput => ({ grant: context.grant! }),
      },
      on: {
        'peer.stream': { actions: assign({ stream: ({ event }) => event.stream }) },
        'peer.closed': { target: 'ended', actions: assign({ endedReason: ({ event }) => event.reason }) },
        'peer.error': { target: 'failed', actions: assign({ failure: ({ event }) => ({ code: event.code, message: event.message }) }) },
        'session.disconnect': { target: 'ended', actions: assign({ endedReason: 'You disconnected.' }) },
      },
      initial: 'establishing',
      states: {
        establishing: {
          tags: ['busy', 'establishing'],
          on: {
            'peer.connected': { target: 'streaming', actions: assign({ input: ({ event }) => event.input, pc: ({ event }) => event.pc }) },
          },
          after: {
            [TIMEOUTS.connect]: {
              target: '#session.failed',
              actions: assign({ failure: { code: 'ERR_TIMEOUT', message: 'The workstation did not answer in time.' } }),
            },
          },
        },
        streaming: { tags: ['streaming'] },
      },
    },
    ended: {
      tags: ['over'],
      entry: 'clearSession',
      on: { 'session.back': 'ready', 'session.connect': connectTransition },
    },
    failed: {
      tags: ['over'],
      entry: 'clearSession',
      on: { 'session.back': 'ready', 'session.connect': connectTransition },
    },
  },
});
