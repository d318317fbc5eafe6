/**
 * The WebRTC side of a session as an XState callback actor: it opens the
 * broker's signalling socket with the grant, runs simple-peer as the
 * initiator (one receive-only video transceiver, plus negotiated data
 * channels for input and control), and reports progress, stats and host
 * control messages to the machine. It receives `control.send`, `codec.set`
 * and `ice.restart`. Its cleanup closes everything, so leaving the link
 * state always tears the peer down.
 *
 * Input is the hot path and does not go through the machine: the actor hands
 * the machine an `InputSink` once, and the session view writes to it directly.
 */
import SimplePeer from 'simple-peer/simplepeer.min.js';
import { fromCallback } from 'xstate';
import { DATA_CHANNELS, MAX_PENDING_SIGNALS, type ErrorCode } from '../../shared/constants.js';
import { ClientControl, HostControl } from '../../shared/control.js';
import { encodeInput, type InputMessage } from '../../shared/input.js';
import type { VideoCodec } from '../../shared/policy.js';
import { BrokerToClient, parseJson, type ClientToBroker, type SessionGrant } from '../../shared/protocol.js';
import { minimiseJitterBuffer, orderCodecs, receiveCodecs } from './media.js';
import { isDeliberateEnd, LIVENESS } from './policy.js';
import { computeStats, readRawStats, STATS_INTERVAL_MS, type RawVideoStats, type StatsSnapshot } from './stats.js';

/** How often the client proves it is alive on the input channel (the host releases held input without it). */
const INPUT_HEARTBEAT_MS = 1_000;
/** Pointer and pen motion is dropped rather than queued when the channel has this much buffered. */
const POINTER_MAX_BUFFERED_BYTES = 16 * 1024;

/** Sends input to the host: pointer motion on the unordered channel, the rest on the reliable one. */
export interface InputSink {
  send(msg: InputMessage): void;
}

/** A cursor shape from the host (position updates are not forwarded: the local pointer is the cursor). */
export interface CursorShape {
  image: string;
  hotX: number;
  hotY: number;
}

/** What the peer actor tells the machine. */
export type PeerEvent =
  | { type: 'peer.signalling' }
  | { type: 'peer.answered' }
  | { type: 'peer.stream'; stream: MediaStream }
  | { type: 'peer.connected'; input: InputSink }
  /**
   * The connection dropped; `restartable` when the peer is still there (ICE disconnected), so an ICE
   * restart could recover it where the host supports one (`hello.stream.iceRestart`).
   */
  | { type: 'peer.lost'; reason: string; restartable: boolean }
  | { type: 'peer.restored' }
  /** The host or broker ended the session on purpose. */
  | { type: 'peer.closed'; reason: string }
  | { type: 'peer.error'; code: ErrorCode | 'ERR_HOST_LOST'; message: string }
  /** A sign of life since the last probe: a video frame arrived or the host answered a ping (LIVENESS in policy.ts). */
  | { type: 'peer.alive' }
  | { type: 'peer.stats'; stats: StatsSnapshot }
  | { type: 'peer.control'; message: Exclude<HostControl, { type: 'cursor' | 'pong' }> }
  | { type: 'peer.cursor'; cursor: CursorShape };

/** What the machine tells the peer actor. */
export type PeerCommand =
  | { type: 'control.send'; message: ClientControl }
  /** A new codec order (the person's codec, full colour or not), renegotiated on this peer. */
  | { type: 'codec.set'; codec: VideoCodec | null; fullColour: boolean }
  | { type: 'ice.restart' };

export interface PeerInput {
  grant: SessionGrant;
  /** The person's preferred codec, tried first when the policy allows it. */
  codec: VideoCodec | null;
  /** Ask for full colour: H.264 High 4:4:4 first among the H.264 formats (already within policy). */
  fullColour: boolean;
  /** Only TURN relays, never a direct path (the client policy's forceRelay). */
  forceRelay?: boolean;
}

/** simple-peer keeps these out of its typings: the connection (for our own channels) and `negotiate` (public in its docs). */
interface PeerInternals {
  _pc: RTCPeerConnection;
  negotiate(): void;
}

/** The real peer: signalling WebSocket plus simple-peer. */
export const peerActor = fromCallback<PeerCommand, PeerInput, PeerEvent>(({ sendBack, receive, input }) => {
  const { grant } = input;
  let finished = false;
  let everConnected = false;
  /** A terminal event: only the first one counts, and nothing follows it. */
  const finish = (event: PeerEvent): void => {
    if (finished) return;
    finished = true;
    sendBack(event);
  };
  const lostOrFailed = (code: ErrorCode | 'ERR_HOST_LOST', message: string): void => {
    if (everConnected) finish({ type: 'peer.lost', reason: message, restartable: false });
    else finish({ type: 'peer.error', code, message });
  };

  const ws = new WebSocket(grant.signalUrl);
  // simple-peer may produce its offer before the socket has opened (a slow
  // network, a proxy): hold signals until then instead of losing the offer.
  const pending: ClientToBroker[] = [];
  const signal = (msg: ClientToBroker): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
    else if (ws.readyState === WebSocket.CONNECTING && pending.length < MAX_PENDING_SIGNALS) pending.push(msg);
  };

  const peer = new SimplePeer({
    initiator: true,
    trickle: true,
    config: { iceServers: grant.iceServers, bundlePolicy: 'max-bundle', ...(input.forceRelay ? { iceTransportPolicy: 'relay' as const } : {}) },
  });
  const internals = peer as unknown as PeerInternals;
  const pc = internals._pc;
  peer.addTransceiver('video', { direction: 'recvonly' });
  const transceiver = pc.getTransceivers().find((t) => t.receiver.track.kind === 'video');
  const applyCodecOrder = (preferred: VideoCodec | null, fullColour: boolean): boolean => {
    const caps = receiveCodecs();
    const ordered = caps ? orderCodecs(caps, grant.policy.codecs, preferred, fullColour) : null;
    if (!transceiver || !ordered || typeof transceiver.setCodecPreferences !== 'function') return false;
    try {
      transceiver.setCodecPreferences(ordered);
      return true;
    } catch (err) {
      console.warn('codec preferences not applied:', err);
      return false;
    }
  };
  applyCodecOrder(input.codec, input.fullColour);
  if (transceiver) minimiseJitterBuffer(transceiver.receiver);

  // simple-peer supports a single data channel of its own; ours are
  // negotiated (same id on both ends) so the host's simple-peer never sees
  // them as a replacement for its own channel.
  const reliable = pc.createDataChannel(DATA_CHANNELS.input.label, { negotiated: true, id: DATA_CHANNELS.input.id, ordered: true });
  const pointer = pc.createDataChannel(DATA_CHANNELS.pointer.label, {
    negotiated: true,
    id: DATA_CHANNELS.pointer.id,
    ordered: false,
    maxRetransmits: 0,
  });
  const control = pc.createDataChannel(DATA_CHANNELS.control.label, { negotiated: true, id: DATA_CHANNELS.control.id, ordered: true });
  reliable.binaryType = 'arraybuffer';
  pointer.binaryType = 'arraybuffer';

  const sink: InputSink = {
    send(msg) {
      const bytes = encodeInput(msg);
      if (msg.op === 'pointerAbs' || msg.op === 'pointerRel') {
        // Latest position wins: a backed-up channel drops motion instead of adding latency.
        if (pointer.readyState === 'open' && pointer.bufferedAmount < POINTER_MAX_BUFFERED_BYTES) pointer.send(bytes);
        return;
      }
      // Pen samples carry contact and pressure, so they go in order; a backed-up
      // channel still drops hovering samples (no contact) rather than queue them.
      if (msg.op === 'pen' && (msg.flags & 1) === 0 && reliable.bufferedAmount >= POINTER_MAX_BUFFERED_BYTES) return;
      if (reliable.readyState === 'open') reliable.send(bytes);
    },
  };
  let heartbeatSeq = 0;
  const heartbeat = setInterval(() => sink.send({ op: 'heartbeat', seq: heartbeatSeq++ }), INPUT_HEARTBEAT_MS);

  // Liveness (policy.ts LIVENESS): ping the host on the control channel and look for new
  // frames every probe; a control message (the pong, a cursor update…) or a frame since the
  // last probe is a `peer.alive`. The machine decides when their absence is a stalled picture.
  let heard = false;
  let pingId = 0;
  let lastFrameAt = -1;
  const framesArrived = (): boolean => {
    const receiver = transceiver?.receiver;
    if (!receiver || typeof receiver.getSynchronizationSources !== 'function') return false;
    // When the newest frame of each source was delivered to the track; cheap and synchronous, unlike getStats.
    const latest = Math.max(-1, ...receiver.getSynchronizationSources().map((s) => s.timestamp));
    const arrived = latest > lastFrameAt;
    lastFrameAt = latest;
    return arrived;
  };
  const liveness = setInterval(() => {
    if (finished || !everConnected) return;
    const alive = framesArrived() || heard;
    heard = false;
    if (alive) sendBack({ type: 'peer.alive' });
    if (control.readyState === 'open') {
      const ping: ClientControl = { type: 'ping', id: pingId++, sentAt: Date.now() };
      control.send(JSON.stringify(ping));
    }
  }, LIVENESS.probeMs);

  control.onmessage = (event: MessageEvent<unknown>) => {
    if (typeof event.data !== 'string') return;
    const parsed = parseJson(HostControl, event.data);
    if (!parsed.ok) {
      console.warn('ignoring malformed control message:', parsed.reason);
      return;
    }
    const msg = parsed.value;
    // Anything the host says proves it alive; the liveness probe reports it (one event per probe, not per message).
    heard = true;
    if (msg.type === 'pong') return;
    if (msg.type === 'cursor') {
      // Positions stream at pointer rate; only shape changes are worth a machine event.
      if (msg.image) sendBack({ type: 'peer.cursor', cursor: { image: msg.image, hotX: msg.hotX ?? 0, hotY: msg.hotY ?? 0 } });
      return;
    }
    sendBack({ type: 'peer.control', message: msg });
  };

  // Stats once a second, not per frame.
  let previous: RawVideoStats | null = null;
  const statsTimer = setInterval(() => {
    pc.getStats()
      .then((report) => {
        const raw = readRawStats(report);
        if (!raw || finished) return;
        sendBack({ type: 'peer.stats', stats: computeStats(previous, raw, Date.now()) });
        previous = raw;
      })
      .catch(() => undefined);
  }, STATS_INTERVAL_MS);

  pc.addEventListener('iceconnectionstatechange', () => {
    if (!everConnected || finished) return;
    const state = pc.iceConnectionState;
    if (state === 'disconnected') sendBack({ type: 'peer.lost', reason: 'The network connection to the workstation dropped.', restartable: true });
    else if (state === 'connected' || state === 'completed') sendBack({ type: 'peer.restored' });
  });
  pc.addEventListener('track', (event) => minimiseJitterBuffer(event.receiver));

  let answered = false;
  peer.on('signal', (data) => signal({ type: 'signal', data: data as Extract<ClientToBroker, { type: 'signal' }>['data'] }));
  peer.on('stream', (stream: MediaStream) => sendBack({ type: 'peer.stream', stream }));
  peer.on('connect', () => {
    everConnected = true;
    sendBack({ type: 'peer.connected', input: sink });
  });
  peer.on('close', () => lostOrFailed('ERR_HOST_LOST', 'The connection to the workstation closed.'));
  peer.on('error', (err: Error & { code?: string }) => lostOrFailed('ERR_HOST_LOST', `WebRTC failed: ${err.code ?? err.message}`));

  ws.onopen = () => {
    signal({ type: 'auth', grantToken: grant.grantToken });
    for (const msg of pending.splice(0)) signal(msg);
  };
  ws.onmessage = (event: MessageEvent<unknown>) => {
    if (typeof event.data !== 'string') return;
    const parsed = parseJson(BrokerToClient, event.data);
    if (!parsed.ok) {
      console.warn('ignoring malformed signalling message:', parsed.reason);
      return;
    }
    const msg = parsed.value;
    switch (msg.type) {
      case 'ready':
        sendBack({ type: 'peer.signalling' });
        return;
      case 'signal':
        if (msg.data.type === 'answer' && !answered) {
          answered = true;
          sendBack({ type: 'peer.answered' });
        }
        if (!peer.destroyed) peer.signal(msg.data as SimplePeer.SignalData);
        return;
      case 'peer.joined':
        return;
      case 'peer.left':
        if (isDeliberateEnd(msg.reason)) finish({ type: 'peer.closed', reason: msg.reason });
        else lostOrFailed('ERR_HOST_LOST', msg.reason);
        return;
      case 'error':
        finish({ type: 'peer.error', code: msg.code, message: msg.message });
        return;
    }
  };
  ws.onclose = () => {
    // Once media flows the signalling socket is only needed for ICE
    // restarts (which then time out into a fresh grant); before that,
    // losing it means the setup failed.
    if (!everConnected) finish({ type: 'peer.error', code: 'ERR_BROKER_UNREACHABLE', message: 'The signalling connection closed.' });
  };

  receive((command) => {
    if (finished || peer.destroyed) return;
    switch (command.type) {
      case 'control.send': {
        const checked = ClientControl.safeParse(command.message);
        if (checked.success && control.readyState === 'open') control.send(JSON.stringify(checked.data));
        return;
      }
      case 'codec.set':
        // A new codec order takes effect with a renegotiation on the same peer: no reconnect.
        if (applyCodecOrder(command.codec, command.fullColour)) internals.negotiate();
        return;
      case 'ice.restart':
        try {
          pc.restartIce();
          internals.negotiate();
        } catch (err) {
          lostOrFailed('ERR_HOST_LOST', `ICE restart failed: ${(err as Error).message}`);
        }
        return;
    }
  });

  return () => {
    finished = true;
    clearInterval(heartbeat);
    clearInterval(liveness);
    clearInterval(statsTimer);
    if (reliable.readyState === 'open') reliable.send(encodeInput({ op: 'releaseAll' }));
    signal({ type: 'bye' });
    ws.onclose = null;
    ws.close();
    peer.destroy();
  };
});
