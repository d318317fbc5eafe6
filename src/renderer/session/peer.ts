/**
 * The WebRTC side of a session as an XState callback actor: it opens the
 * broker's signalling socket with the grant, runs simple-peer as the
 * initiator (receive-only video, plus two negotiated data channels for
 * input), and reports progress to the session machine. Its cleanup closes
 * everything, so leaving the session state always tears the peer down.
 */
import SimplePeer from 'simple-peer/simplepeer.min.js';
import { fromCallback, type EventObject } from 'xstate';
import { DATA_CHANNELS, type ErrorCode } from '../../shared/constants.js';
import { encodeInput, type InputMessage } from '../../shared/input.js';
import { BrokerToClient, parseJson, type ClientToBroker, type SessionGrant } from '../../shared/protocol.js';

/** How often the client proves it is alive on the input channel (the host releases held input without it). */
const INPUT_HEARTBEAT_MS = 1_000;
/** Pointer messages are dropped rather than queued when the channel has this much buffered. */
const POINTER_MAX_BUFFERED_BYTES = 16 * 1024;

/** Sends input to the host: pointer motion on the unordered channel, the rest on the reliable one. */
export interface InputSink {
  send(msg: InputMessage): void;
}

export type PeerEvent =
  | { type: 'peer.signalling' }
  | { type: 'peer.stream'; stream: MediaStream }
  | { type: 'peer.connected'; input: InputSink; pc: RTCPeerConnection }
  | { type: 'peer.closed'; reason: string }
  | { type: 'peer.error'; code: ErrorCode; message: string };

export interface PeerInput {
  grant: SessionGrant;
}

interface PeerInternals {
  _pc: RTCPeerConnection;
}

/** The real peer: signalling WebSocket plus simple-peer. */
export const peerActor = fromCallback<EventObject, PeerInput>(({ sendBack, input }) => {
  const { grant } = input;
  let finished = false;
  const finish = (event: PeerEvent): void => {
    if (finished) return;
    finished = true;
    sendBack(event);
  };

  const ws = new WebSocket(grant.signalUrl);
  const send = (msg: ClientToBroker): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };

  const peer = new SimplePeer({
    initiator: true,
    trickle: true,
    config: { iceServers: grant.iceServers, bundlePolicy: 'max-bundle' },
  });
  peer.addTransceiver('video', { direction: 'recvonly' });
  // simple-peer supports a single data channel of its own; the input channels
  // are negotiated (same id on both ends) so the host's simple-peer never sees
  // them as a replacement for its own channel.
  const pc = (peer as unknown as PeerInternals)._pc;
  const reliable = pc.createDataChannel(DATA_CHANNELS.input.label, { negotiated: true, id: DATA_CHANNELS.input.id, ordered: true });
  const pointer = pc.createDataChannel(DATA_CHANNELS.pointer.label, {
    negotiated: true,
    id: DATA_CHANNELS.pointer.id,
    ordered: false,
    maxRetransmits: 0,
  });
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
      if (reliable.readyState === 'open') reliable.send(bytes);
    },
  };
  let heartbeatSeq = 0;
  const heartbeat = setInterval(() => sink.send({ op: 'heartbeat', seq: heartbeatSeq++ }), INPUT_HEARTBEAT_MS);

  peer.on('signal', (data) => send({ type: 'signal', data: data as Extract<ClientToBroker, { type: 'signal' }>['data'] }));
  peer.on('stream', (stream: MediaStream) => sendBack({ type: 'peer.stream', stream }));
  peer.on('connect', () => sendBack({ type: 'peer.connected', input: sink, pc }));
  peer.on('close', () => finish({ type: 'peer.closed', reason: 'the connection closed' }));
  peer.on('error', (err: Error & { code?: string }) =>
    finish({ type: 'peer.error', code: 'ERR_PROTOCOL', message: `WebRTC failed: ${err.code ?? err.message}` }),
  );

  ws.onopen = () => send({ type: 'auth', grantToken: grant.grantToken });
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
        if (!peer.destroyed) peer.signal(msg.data as SimplePeer.SignalData);
        return;
      case 'peer.joined':
        return;
      case 'peer.left':
        finish({ type: 'peer.closed', reason: msg.reason });
        return;
      case 'error':
        finish({ type: 'peer.error', code: msg.code, message: msg.message });
        return;
    }
  };
  ws.onclose = () => {
    // Once media flows, the signalling socket is no longer needed for the
    // session to continue; before that, losing it means the setup failed.
    if (!peer.connected) finish({ type: 'peer.error', code: 'ERR_BROKER_UNREACHABLE', message: 'The signalling connection closed.' });
  };

  return () => {
    finished = true;
    clearInterval(heartbeat);
    if (reliable.readyState === 'open') reliable.send(encodeInput({ op: 'releaseAll' }));
    send({ type: 'bye' });
    ws.onclose = null;
    ws.close();
    peer.destroy();
  };
});
