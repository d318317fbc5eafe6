/**
 * The client's connection lifecycle (issue 5):
 *
 *   boot → signedOut | resuming | session (a session window connects at once)
 *   signedOut → signingIn (password → totp → verifying) → workstations
 *   → session (requestingGrant → link (signalling → iceConnecting →
 *     streaming ⇄ stalled, streaming | stalled ⇄ iceRestart) ⇄ recovering (waiting → regranting))
 *   → ended | failed
 *
 * Every waiting state has a timeout; a lost connection tries an ICE restart
 * on the same peer first, then fresh grants and peers with exponential
 * backoff, and gives up after RECONNECT.giveUpAfterMs. A host that said it
 * cannot restart ICE (`hello.stream.iceRestart === false`, the encoded
 * pipeline: libdatachannel refuses a restarted offer) gets a fresh grant at
 * once instead (issue 12). A codec or full-colour change that such a host
 * cannot apply in place (`codecChangeInPlace === false`) reconnects too,
 * marked with `reconnectFor` for the banner; other hosts renegotiate. `session.disconnect`
 * cancels from any session state and `auth.cancel` from any sign-in state.
 * A picture with no frames and no word from the host for LIVENESS.stallAfterMs
 * is `stalled` (same peer, clears on the next frame or pong) before ICE notices.
 * The UI reads tags (`login`, `totp`, `busy`, `workstations`, `session`,
 * `connecting`, `streaming`, `stalled`, `reconnecting`, `over`), not state names.
 *
 * Desktop shell (issue 6): a remembered sign-in is tried first (`resuming`);
 * a session window (`input.sessionWindow`) skips the list and has no way
 * back to it; the main window's "Connect" opens a session window
 * (`input.windows`) instead of connecting in place; a deep link
 * (`open.request`) connects once signed in. Every grant is narrowed by the
 * client's own policy (`clientPolicy`: forceRelay, clipboard).
 *
 * Broker and peer are actors, so tests swap them (`machine.provide({ actors })`).
 */
import { assign, cancel, enqueueActions, raise, sendTo, setup } from 'xstate';
import type { QualityRequest } from '../../shared/control.js';
import type { VideoCodec } from '../../shared/policy.js';
import type { SessionGrant } from '../../shared/protocol.js';
import { hasRelay, narrowGrant, OPEN_CLIENT_POLICY } from '../shell/client-policy.js';
import { sameBroker } from '../shell/profiles.js';
import { grantActor, loginActor, resumeActor, toFailure, totpActor, workstationPoller } from './actors.js';
import { peerActor, type InputSink, type PeerInput } from './peer.js';
import { backoffDelay, isRetryable, LIVENESS, reconnectExpired, TIMEOUTS } from './policy.js';
import { BACKLOG_INTERVALS, isBacklogged, lowerFps, withAutoFps } from './backlog.js';
import {
  allowedCodec,
  changesInPlace,
  clampQuality,
  clipboardAllowed,
  clipboardFits,
  codecNeedsReconnect,
  fullColourNeedsReconnect,
  wantsFullColour,
} from './quality.js';
import type { StatsSnapshot } from './stats.js';
import type { Failure, MachineInput, ReconnectReason, SessionContext, SessionEvent } from './types.js';

export { LIVENESS, TIMEOUTS, RECONNECT } from './policy.js';
export type { Failure, SessionContext, SessionEvent } from './types.js';

/** A parameterised `fail` action for a timeout with this message. */
const timeout = (message: string) => ({ type: 'fail' as const, params: { code: 'ERR_TIMEOUT' as const, message } });

/** Why a forced-relay session cannot start: shown as is. */
const NO_RELAY_MESSAGE =
  'Your studio requires connections to go through its relay (TURN) server, but the Backlot server offered none, so Backlot will not connect directly. Ask your studio IT to configure TURN.';

/** The id of the pending `picture.stalled` event while streaming, so each sign of life can re-arm it. */
const STALL_TIMER = 'stallTimer';

/** Session fields that belong to one connection and are cleared when it is over. */
const emptySession: Pick<
  SessionContext,
  | 'grant'
  | 'stream'
  | 'input'
  | 'stats'
  | 'cursor'
  | 'applied'
  | 'hostStream'
  | 'reconnectFor'
  | 'backlogIntervals'
  | 'autoFps'
  | 'monitors'
  | 'lostAt'
  | 'attempt'
  | 'retryAt'
> = {
  grant: null,
  stream: null,
  input: null,
  stats: null,
  cursor: null,
  applied: null,
  hostStream: null,
  reconnectFor: null,
  backlogIntervals: 0,
  autoFps: null,
  monitors: [],
  lostAt: null,
  attempt: 0,
  retryAt: null,
};

/**
 * A lost connection while streaming (or stalled): a fresh grant at once where the host cannot restart
 * ICE, an ICE restart on the same peer where it can and the peer is still there, else the backoff.
 */
const PATH_LOST = [
  { guard: { type: 'freshGrantAtOnce', params: ({ event }: { event: Extract<SessionEvent, { type: 'peer.lost' }> }) => ({ restartable: event.restartable }) }, target: '#client.session.recovering.regranting', actions: 'markLost' },
  { guard: { type: 'restartable', params: ({ event }: { event: Extract<SessionEvent, { type: 'peer.lost' }> }) => ({ restartable: event.restartable }) }, target: 'iceRestart', actions: 'markLost' },
  { target: '#client.session.recovering', actions: 'markLost' },
] as const;

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as MachineInput,
  },
  actors: {
    login: loginActor,
    resume: resumeActor,
    submitTotp: totpActor,
    workstations: workstationPoller,
    requestGrant: grantActor,
    peer: peerActor,
  },
  guards: {
    isSessionWindow: ({ context }) => context.sessionWindow !== null,
    canResume: ({ context }) => context.resumeOnStart && typeof context.broker.resume === 'function',
    signedIn: (_, params: { user: unknown }) => params.user !== null,
    opensWindows: ({ context }) => context.windows !== null && context.sessionWindow === null,
    relayForced: ({ context }) => context.clientPolicy.forceRelay,
    /** Relaying is forced and the (narrowed) grant has no TURN server: connecting would mean a direct path. */
    relayMissing: ({ context }, params: { grant: SessionGrant }) =>
      context.clientPolicy.forceRelay && !hasRelay(narrowGrant(params.grant, context.clientPolicy).iceServers),
    /** A link names a broker; it applies to this sign-in unless that is known to be another broker. */
    linkForThisSignIn: ({ context }, params: { workstationId: string | null; brokerUrl: string }) =>
      params.workstationId !== null && (context.brokerUrl === null || sameBroker(context.brokerUrl, params.brokerUrl)),
    hasWorkstation: (_, params: { workstationId: string | null }) => params.workstationId !== null,
    mfaRequired: (_, params: { status: string }) => params.status === 'mfa-required',
    /** A wrong code may be retried; a lock-out or an expired MFA token sends the person back to the password. */
    totpRetryable: (_, params: { code: string }) => params.code === 'ERR_BAD_TOTP' || params.code === 'ERR_TIMEOUT',
    unauthorized: (_, params: { code: string }) => params.code === 'ERR_UNAUTHORIZED',
    reconnecting: ({ context }) => context.lostAt !== null,
    retryable: ({ context }, params: { code: string }) => context.lostAt !== null && isRetryable(params.code),
    reconnectExpired: ({ context }) => reconnectExpired(Date.now(), context.lostAt),
    restartable: (_, params: { restartable: boolean }) => params.restartable,
    /**
     * The path dropped (ICE disconnected) on a host that said an ICE restart cannot recover it
     * (`hello.stream.iceRestart === false`): waiting TIMEOUTS.iceRestart for nothing would only delay
     * the fresh grant that can.
     */
    freshGrantAtOnce: ({ context }, params: { restartable: boolean }) => params.restartable && context.hostStream?.iceRestart === false,
    /** The host renegotiates codec and chroma changes on the running connection (or has not said otherwise). */
    changesInPlace: ({ context }) => changesInPlace(context.hostStream),
    /** The codec chosen changes what this host sends, and only a new connection can apply it. */
    codecNeedsReconnect: ({ context }, params: { codec: VideoCodec | null }) =>
      context.grant !== null && codecNeedsReconnect(allowedCodec(params.codec, context.grant.policy), context.grant.policy, context.hostStream),
    /** Full colour switched so that this host would send the other chroma, and only a new connection can apply it. */
    fullColourNeedsReconnect: ({ context }, params: { enabled: boolean }) =>
      context.grant !== null && fullColourNeedsReconnect(params.enabled, context.grant.policy, context.hostStream),
    /** Frames have queued in front of the decoder for a few seconds and a lower frame rate exists (backlog.ts). */
    decoderFallingBehind: ({ context }, params: { stats: StatsSnapshot }) => {
      const fps = context.applied?.fps;
      return context.input !== null && isBacklogged(params.stats) && context.backlogIntervals + 1 >= BACKLOG_INTERVALS && fps !== undefined && lowerFps(fps) !== null;
    },
  },
  delays: {
    retryDelay: ({ context }) => backoffDelay(context.attempt, Date.now(), context.lostAt ?? Date.now()),
  },
  actions: {
    clearFailure: assign({ failure: null }),
    fail: assign((_, params: Failure) => ({ failure: params })),
    startSession: assign(({ context, event }) => ({
      workstationId: event.type === 'session.connect' ? event.workstationId : context.sessionWindow,
      failure: null,
      ended: null,
      ...emptySession,
    })),
    clearSession: assign(() => ({ ...emptySession })),
    /** Every grant is used narrowed by the client's own policy: the stricter of the two wins. */
    keepGrant: assign((_, params: { grant: SessionGrant }) => ({ grant: params.grant })),
    /** The desktop app's main window: a session gets its own window; failures come back as `session.windowFailed`. */
    openWindow: ({ context, event, self }) => {
      if (event.type !== 'session.connect' || !context.windows) return;
      context.windows.open(event.workstationId).catch((err: unknown) => self.send({ type: 'session.windowFailed', failure: toFailure(err) }));
    },
    /** Connects to the workstation a link asked for once signed in (to the link's broker). */
    connectPending: enqueueActions(({ context, enqueue }) => {
      const pending = context.pendingOpen;
      if (!pending) return;
      enqueue.assign({ pendingOpen: null });
      if (context.brokerUrl === null || sameBroker(context.brokerUrl, pending.brokerUrl)) {
        enqueue.raise({ type: 'session.connect', workstationId: pending.workstationId });
      }
    }),
    /** The first loss starts the give-up clock; later losses during recovery keep it. */
    markLost: assign({ lostAt: ({ context }) => context.lostAt ?? Date.now() }),
    markHealthy: assign({ lostAt: null, attempt: 0, retryAt: null, reconnectFor: null }),
    /** A reconnect the client starts itself, to apply a setting the host cannot change on this connection. */
    reconnectToApply: assign((_, params: { reason: ReconnectReason }) => ({ reconnectFor: params.reason })),
    setCodec: assign(({ context }, params: { codec: VideoCodec | null }) => ({ quality: { ...context.quality, codec: params.codec ?? undefined } })),
    setFullColour: assign((_, params: { enabled: boolean }) => ({ fullColour: params.enabled })),
    /** The host picks the format from our offer's order: a new order, renegotiated on the running peer. */
    renegotiateCodecs: sendTo('peer', ({ context }) => ({
      type: 'codec.set' as const,
      codec: context.grant ? allowedCodec(context.quality.codec, context.grant.policy) : null,
      fullColour: context.grant ? wantsFullColour(context.fullColour, context.grant.policy) : false,
    })),
    /** What the host says it applies and how it sends the picture (`hello`, `quality.applied`). */
    keepHostState: assign((_, params: { message: Extract<SessionEvent, { type: 'peer.control' }>['message'] }) => {
      const m = params.message;
      if (m.type === 'hello') return { applied: m.applied, monitors: m.monitors, hostStream: m.stream ?? null };
      if (m.type === 'quality.applied') return { applied: m.applied };
      return {};
    }),
    keepInput: assign((_, params: { input: InputSink }) => ({ input: params.input })),
    /**
     * Streaming: without a sign of life (`peer.alive`) for LIVENESS.stallAfterMs the picture has
     * stalled. A delayed event on the actor's clock (`createActor(…, { clock })` in tests), re-armed
     * by every sign of life.
     */
    armStallTimer: raise({ type: 'picture.stalled' }, { id: STALL_TIMER, delay: LIVENESS.stallAfterMs }),
    disarmStallTimer: cancel(STALL_TIMER),
    scheduleRetry: assign({ retryAt: ({ context }) => Date.now() + backoffDelay(context.attempt, Date.now(), context.lostAt ?? Date.now()) }),
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    logout: ({ context }) => void context.broker.logout(),
    signedOutState: assign({ user: null, workstations: [], workstationsUpdatedAt: null, brokerUrl: null }),
    publishStats: ({ event }) => {
      // A diagnostics and test hook (documented in docs/client.md): numbers only, no identifiers or secrets.
      if (event.type === 'peer.stats' && typeof window !== 'undefined') (window as { __backlotStats?: unknown }).__backlotStats = event.stats;
    },
    /**
     * The person changed a stream setting: it is theirs (and saved). An explicit frame rate also
     * replaces the session's own step-down; any other change keeps it.
     */
    setQuality: assign(({ context }, params: { request: QualityRequest }) => ({
      quality: { ...context.quality, ...params.request },
      autoFps: 'fps' in params.request ? null : context.autoFps,
    })),
    keepStats: assign(({ context }, params: { stats: StatsSnapshot }) => ({
      stats: params.stats,
      backlogIntervals: isBacklogged(params.stats) ? context.backlogIntervals + 1 : 0,
    })),
    /**
     * The next lower frame rate for this session only: `autoFps`, never `quality`, which is the
     * person's own choice and is saved as their preference (issue 11).
     */
    lowerFrameRate: assign(({ context }, params: { stats: StatsSnapshot }) => {
      const from = context.applied!.fps!;
      return { stats: params.stats, backlogIntervals: 0, autoFps: { from, to: lowerFps(from)!, at: params.stats.at } };
    }),
    sendQuality: sendTo('peer', ({ context }) => {
      const request = withAutoFps(context.quality, context.autoFps);
      return { type: 'control.send' as const, message: { type: 'quality' as const, request: context.grant ? clampQuality(request, context.grant.policy) : request } };
    }),
    writeClipboard: ({ context, event }) => {
      if (event.type !== 'peer.control' || event.message.type !== 'clipboard' || !context.clipboard) return;
      context.clipboard.writeText(event.message.text).catch((err: unknown) => console.warn('cannot write the clipboard:', err));
    },
  },
}).createMachine({
  id: 'client',
  context: ({ input }) => ({
    broker: input.broker,
    clipboard: input.clipboard ?? null,
    sessionWindow: input.sessionWindow ?? null,
    windows: input.windows ?? null,
    clientPolicy: input.clientPolicy ?? OPEN_CLIENT_POLICY,
    resumeOnStart: input.resume === true,
    brokerUrl: null,
    pendingOpen: null,
    user: null,
    workstations: [],
    workstationsUpdatedAt: null,
    workstationId: null,
    quality: input.quality ?? {},
    fullColour: input.fullColour === true,
    clipboardText: null,
    failure: null,
    ended: null,
    ...emptySession,
  }),
  on: {
    'quality.defaults': { actions: assign({ quality: ({ event }) => event.request }) },
    'client.policy': {
      actions: assign({
        clientPolicy: ({ event }) => event.policy,
        // Narrowing only ever removes: a stricter setting applies to the running session too.
        grant: ({ context, event }) => (context.grant ? narrowGrant(context.grant, event.policy) : null),
      }),
    },
    // Before sign-in a link waits; `workstations` (below) handles it once signed in.
    'open.request': {
      guard: { type: 'hasWorkstation', params: ({ event }) => ({ workstationId: event.workstationId }) },
      actions: assign({ pendingOpen: ({ event }) => ({ workstationId: event.workstationId!, brokerUrl: event.brokerUrl }) }),
    },
  },
  initial: 'boot',
  states: {
    /** Decides where this page starts; never rests here. */
    boot: {
      always: [
        { guard: 'isSessionWindow', target: 'session', actions: 'startSession' },
        { guard: 'canResume', target: 'resuming' },
        { target: 'signedOut' },
      ],
    },
    /** The desktop app signs in with the remembered (encrypted) refresh token, if there is one. */
    resuming: {
      tags: ['login', 'busy', 'resuming'],
      invoke: {
        src: 'resume',
        input: ({ context }) => ({ broker: context.broker }),
        onDone: [
          { guard: { type: 'signedIn', params: ({ event }) => ({ user: event.output }) }, target: 'workstations', actions: assign({ user: ({ event }) => event.output }) },
          { target: 'signedOut' },
        ],
        onError: { target: 'signedOut', actions: assign({ failure: ({ event }) => toFailure(event.error) }) },
      },
      after: { [TIMEOUTS.signIn]: { target: 'signedOut', actions: timeout('Signing you in again took too long. Sign in with your password.') } },
    },
    signedOut: {
      tags: ['login'],
      on: { 'auth.login': { target: 'signingIn', actions: assign({ brokerUrl: ({ event }) => event.brokerUrl ?? null }) } },
    },
    signingIn: {
      tags: ['login'],
      on: { 'auth.cancel': { target: 'signedOut', actions: 'clearFailure' } },
      initial: 'password',
      states: {
        password: {
          tags: ['busy'],
          entry: 'clearFailure',
          invoke: {
            src: 'login',
            input: ({ context, event }) => {
              const e = event as Extract<SessionEvent, { type: 'auth.login' }>;
              return { broker: context.broker, username: e.username, password: e.password, ...(e.brokerUrl ? { brokerUrl: e.brokerUrl } : {}) };
            },
            onDone: [
              { guard: { type: 'mfaRequired', params: ({ event }) => ({ status: event.output.status }) }, target: 'totp' },
              {
                target: '#client.workstations',
                actions: assign({ user: ({ event }) => (event.output.status === 'ok' ? event.output.user : null) }),
              },
            ],
            onError: { target: '#client.signedOut', actions: assign({ failure: ({ event }) => toFailure(event.error) }) },
          },
          after: { [TIMEOUTS.signIn]: { target: '#client.signedOut', actions: (timeout('Signing in took too long. Check your network and try again.')) } },
        },
        totp: {
          tags: ['totp'],
          on: { 'auth.totp': 'verifying' },
          after: { [TIMEOUTS.totpEntry]: { target: '#client.signedOut', actions: (timeout('The code form expired. Sign in again.')) } },
        },
        verifying: {
          tags: ['totp', 'busy'],
          entry: 'clearFailure',
          invoke: {
            src: 'submitTotp',
            input: ({ context, event }) => ({ broker: context.broker, code: event.type === 'auth.totp' ? event.code : '' }),
            onDone: { target: '#client.workstations', actions: assign({ user: ({ event }) => event.output }) },
            onError: [
              {
                guard: { type: 'totpRetryable', params: ({ event }) => ({ code: toFailure(event.error).code }) },
                target: 'totp',
                actions: assign({ failure: ({ event }) => toFailure(event.error) }),
              },
              { target: '#client.signedOut', actions: assign({ failure: ({ event }) => toFailure(event.error) }) },
            ],
          },
          after: { [TIMEOUTS.totpVerify]: { target: 'totp', actions: (timeout('Checking the code took too long. Try again.')) } },
        },
      },
    },
    workstations: {
      tags: ['workstations'],
      entry: 'connectPending',
      invoke: { id: 'poller', src: 'workstations', input: ({ context }) => ({ broker: context.broker }) },
      on: {
        'workstations.loaded': { actions: assign({ workstations: ({ event }) => event.workstations, workstationsUpdatedAt: () => Date.now(), failure: null }) },
        'workstations.failed': [
          {
            guard: { type: 'unauthorized', params: ({ event }) => ({ code: event.failure.code }) },
            target: 'signedOut',
            actions: ['signedOutState', assign({ failure: ({ event }) => event.failure })],
          },
          { actions: assign({ failure: ({ event }) => event.failure }) },
        ],
        'workstations.refresh': { actions: sendTo('poller', { type: 'workstations.refresh' }) },
        'session.connect': [
          { guard: 'opensWindows', actions: ['clearFailure', 'openWindow'] },
          { target: 'session', actions: 'startSession' },
        ],
        'session.windowFailed': [
          {
            guard: { type: 'unauthorized', params: ({ event }) => ({ code: event.failure.code }) },
            target: 'signedOut',
            actions: ['signedOutState', assign({ failure: ({ event }) => event.failure })],
          },
          { actions: assign({ failure: ({ event }) => event.failure }) },
        ],
        'open.request': [
          {
            guard: { type: 'linkForThisSignIn', params: ({ event }) => ({ workstationId: event.workstationId, brokerUrl: event.brokerUrl }) },
            actions: raise(({ event }) => ({ type: 'session.connect' as const, workstationId: event.workstationId! })),
          },
          {
            guard: { type: 'hasWorkstation', params: ({ event }) => ({ workstationId: event.workstationId }) },
            actions: assign({
              failure: ({ event }) => ({
                code: 'ERR_FORBIDDEN' as const,
                message: `That link is for ${event.brokerUrl}. Sign out, then sign in there to open it.`,
              }),
            }),
          },
        ],
        'auth.logout': { target: 'signedOut', actions: ['logout', 'signedOutState', 'clearFailure'] },
      },
    },
    session: {
      tags: ['session'],
      on: {
        'session.disconnect': [
          { guard: ({ context }) => context.input !== null && context.lostAt === null, target: 'ended', actions: assign({ ended: { code: 'disconnected', message: 'You disconnected.' } }) },
          { target: 'ended', actions: assign({ ended: { code: 'cancelled', message: 'You cancelled the connection.' } }) },
        ],
        'quality.set': { actions: [{ type: 'setQuality', params: ({ event }) => ({ request: event.request }) }, 'sendQuality'] },
        // Between connections a codec or full-colour choice is only kept: the next peer's offer carries it.
        'codec.set': { actions: { type: 'setCodec', params: ({ event }) => ({ codec: event.codec }) } },
        'fullColour.set': { actions: { type: 'setFullColour', params: ({ event }) => ({ enabled: event.enabled }) } },
        'peer.stream': { actions: assign({ stream: ({ event }) => event.stream }) },
        'peer.stats': [
          {
            guard: { type: 'decoderFallingBehind', params: ({ event }) => ({ stats: event.stats }) },
            actions: [{ type: 'lowerFrameRate', params: ({ event }) => ({ stats: event.stats }) }, 'sendQuality', 'publishStats'],
          },
          { actions: [{ type: 'keepStats', params: ({ event }) => ({ stats: event.stats }) }, 'publishStats'] },
        ],
        'peer.cursor': { actions: assign({ cursor: ({ event }) => event.cursor }) },
      },
      initial: 'requestingGrant',
      states: {
        requestingGrant: {
          tags: ['busy', 'connecting'],
          invoke: {
            src: 'requestGrant',
            input: ({ context }) => ({ broker: context.broker, workstationId: context.workstationId ?? '' }),
            onDone: [
              {
                guard: { type: 'relayMissing', params: ({ event }) => ({ grant: event.output }) },
                target: '#client.failed',
                actions: { type: 'fail', params: { code: 'ERR_NO_RELAY', message: NO_RELAY_MESSAGE } },
              },
              { target: 'link', actions: { type: 'keepGrant', params: ({ context, event }) => ({ grant: narrowGrant(event.output, context.clientPolicy) }) } },
            ],
            onError: { target: '#client.failed', actions: assign({ failure: ({ event }) => toFailure(event.error) }) },
          },
          after: { [TIMEOUTS.grant]: { target: '#client.failed', actions: (timeout('The Backlot server did not answer in time.')) } },
        },
        link: {
          invoke: {
            id: 'peer',
            src: 'peer',
            input: ({ context }): PeerInput => ({
              grant: context.grant!,
              codec: allowedCodec(context.quality.codec, context.grant!.policy),
              fullColour: wantsFullColour(context.fullColour, context.grant!.policy),
              forceRelay: context.clientPolicy.forceRelay,
            }),
          },
          on: {
            'peer.closed': { target: '#client.ended', actions: assign({ ended: ({ event }) => ({ code: 'host-ended' as const, message: event.reason }) }) },
            'peer.error': [
              { guard: { type: 'retryable', params: ({ event }) => ({ code: event.code }) }, target: 'recovering' },
              { target: '#client.failed', actions: assign({ failure: ({ event }) => ({ code: event.code, message: event.message }) }) },
            ],
            'peer.lost': [
              { guard: 'reconnecting', target: 'recovering' },
              { target: '#client.failed', actions: assign({ failure: ({ event }) => ({ code: 'ERR_HOST_LOST' as const, message: event.reason }) }) },
            ],
            'peer.control': [
              {
                guard: ({ context, event }) =>
                  event.message.type === 'clipboard' &&
                  !!context.grant &&
                  clipboardAllowed(context.grant.policy, 'host-to-client') &&
                  clipboardFits(event.message.text, context.grant.policy),
                actions: ['writeClipboard', assign({ clipboardText: ({ event }) => (event.message.type === 'clipboard' ? event.message.text : null) })],
              },
              {
                guard: ({ event }) => event.message.type === 'hello' || event.message.type === 'quality.applied',
                actions: { type: 'keepHostState', params: ({ event }) => ({ message: event.message }) },
              },
            ],
            'clipboard.local': {
              guard: ({ context, event }) =>
                !!context.grant &&
                event.text !== context.clipboardText &&
                clipboardAllowed(context.grant.policy, 'client-to-host') &&
                clipboardFits(event.text, context.grant.policy),
              actions: [
                assign({ clipboardText: ({ event }) => event.text }),
                sendTo('peer', ({ event }) => ({ type: 'control.send' as const, message: { type: 'clipboard' as const, text: event.text } })),
              ],
            },
            'codec.set': [
              {
                // An encoded host sends one format per connection: a new one needs a new connection (fresh grant, new offer).
                guard: { type: 'codecNeedsReconnect', params: ({ event }) => ({ codec: event.codec }) },
                target: '#client.session.recovering.regranting',
                actions: [{ type: 'setCodec', params: ({ event }) => ({ codec: event.codec }) }, 'markLost', { type: 'reconnectToApply', params: { reason: 'codec' } }],
              },
              {
                guard: 'changesInPlace',
                // The host picks the codec from its wish (the quality request) and our offer's order: tell it both.
                actions: [{ type: 'setCodec', params: ({ event }) => ({ codec: event.codec }) }, 'sendQuality', 'renegotiateCodecs'],
              },
              // Already what the host sends: kept, and the wish told to the host.
              { actions: [{ type: 'setCodec', params: ({ event }) => ({ codec: event.codec }) }, 'sendQuality'] },
            ],
            'fullColour.set': [
              {
                guard: { type: 'fullColourNeedsReconnect', params: ({ event }) => ({ enabled: event.enabled }) },
                target: '#client.session.recovering.regranting',
                actions: [{ type: 'setFullColour', params: ({ event }) => ({ enabled: event.enabled }) }, 'markLost', { type: 'reconnectToApply', params: { reason: 'fullColour' } }],
              },
              { guard: 'changesInPlace', actions: [{ type: 'setFullColour', params: ({ event }) => ({ enabled: event.enabled }) }, 'renegotiateCodecs'] },
              // This host sends the same either way (no 4:4:4 here): only the preference changes.
              { actions: { type: 'setFullColour', params: ({ event }) => ({ enabled: event.enabled }) } },
            ],
            'keyframe.request': { actions: sendTo('peer', { type: 'control.send', message: { type: 'keyframe' } }) },
          },
          initial: 'signalling',
          states: {
            signalling: {
              tags: ['busy', 'connecting'],
              on: {
                'peer.answered': 'iceConnecting',
                'peer.connected': {
                  target: 'streaming',
                  actions: [{ type: 'keepInput', params: ({ event }) => ({ input: event.input }) }, 'markHealthy', 'sendQuality'],
                },
              },
              after: {
                [TIMEOUTS.signalling]: [
                  { guard: 'reconnecting', target: '#client.session.recovering' },
                  { target: '#client.failed', actions: (timeout('The workstation did not answer. Its agent may be busy or restarting.')) },
                ],
              },
            },
            iceConnecting: {
              tags: ['busy', 'connecting'],
              on: {
                'peer.connected': {
                  target: 'streaming',
                  actions: [{ type: 'keepInput', params: ({ event }) => ({ input: event.input }) }, 'markHealthy', 'sendQuality'],
                },
              },
              after: {
                [TIMEOUTS.ice]: [
                  { guard: 'reconnecting', target: '#client.session.recovering' },
                  {
                    guard: 'relayForced',
                    target: '#client.failed',
                    actions: timeout('Your studio’s relay (TURN) server could not be reached, and your studio does not allow direct connections. Ask your studio IT.'),
                  },
                  {
                    target: '#client.failed',
                    actions: (timeout('No network path to the workstation was found. A firewall may be blocking it; ask your studio IT about TURN.')),
                  },
                ],
              },
            },
            // (Re)connected: the transitions in mark the session healthy and tell the host the
            // quality wanted; entering from `stalled` does neither again.
            streaming: {
              tags: ['streaming'],
              entry: 'armStallTimer',
              exit: 'disarmStallTimer',
              on: {
                'peer.alive': { actions: ['disarmStallTimer', 'armStallTimer'] },
                'picture.stalled': 'stalled',
                'peer.lost': PATH_LOST,
              },
            },
            /**
             * Neither frames nor control messages from the host for LIVENESS.stallAfterMs (a hung
             * host, a cut network): the picture is frozen, and the person is told at once, long
             * before ICE calls the path disconnected. Still the same peer: the first sign of life
             * goes back to streaming without a reconnect; a lost peer reconnects as from streaming.
             */
            stalled: {
              tags: ['streaming', 'stalled'],
              on: {
                'peer.alive': 'streaming',
                'peer.lost': PATH_LOST,
              },
            },
            iceRestart: {
              tags: ['reconnecting'],
              entry: sendTo('peer', { type: 'ice.restart' }),
              on: {
                'peer.restored': { target: 'streaming', actions: ['markHealthy', 'sendQuality'] },
                'peer.connected': { target: 'streaming', actions: ['markHealthy', 'sendQuality'] },
              },
              after: { [TIMEOUTS.iceRestart]: '#client.session.recovering' },
            },
          },
        },
        recovering: {
          tags: ['reconnecting'],
          initial: 'waiting',
          states: {
            waiting: {
              entry: 'scheduleRetry',
              exit: 'countAttempt',
              always: {
                guard: 'reconnectExpired',
                target: '#client.failed',
                actions: {
                  type: 'fail',
                  params: { code: 'ERR_HOST_LOST', message: 'The workstation could not be reached again. Check your network, then connect again.' },
                },
              },
              after: { retryDelay: 'regranting' },
            },
            regranting: {
              invoke: {
                src: 'requestGrant',
                input: ({ context }) => ({ broker: context.broker, workstationId: context.workstationId ?? '' }),
                onDone: [
                  {
                    guard: { type: 'relayMissing', params: ({ event }) => ({ grant: event.output }) },
                    target: '#client.failed',
                    actions: { type: 'fail', params: { code: 'ERR_NO_RELAY', message: NO_RELAY_MESSAGE } },
                  },
                  {
                    target: '#client.session.link',
                    actions: [{ type: 'keepGrant', params: ({ context, event }) => ({ grant: narrowGrant(event.output, context.clientPolicy) }) }, assign({ input: null })],
                  },
                ],
                onError: [
                  { guard: { type: 'retryable', params: ({ event }) => ({ code: toFailure(event.error).code }) }, target: 'waiting' },
                  { target: '#client.failed', actions: assign({ failure: ({ event }) => toFailure(event.error) }) },
                ],
              },
              after: { [TIMEOUTS.grant]: 'waiting' },
            },
          },
        },
      },
    },
    ended: {
      tags: ['over', 'workstations'],
      entry: 'clearSession',
      on: {
        'session.back': { guard: ({ context }) => context.sessionWindow === null, target: 'workstations' },
        'session.connect': { target: 'session', actions: 'startSession' },
        'auth.logout': { target: 'signedOut', actions: ['logout', 'signedOutState', 'clearFailure'] },
      },
    },
    failed: {
      tags: ['over', 'workstations'],
      entry: 'clearSession',
      on: {
        'session.back': { guard: ({ context }) => context.sessionWindow === null, target: 'workstations', actions: 'clearFailure' },
        'session.connect': { target: 'session', actions: 'startSession' },
        'auth.logout': { target: 'signedOut', actions: ['logout', 'signedOutState', 'clearFailure'] },
      },
    },
  },
});
