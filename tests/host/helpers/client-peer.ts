/**
 * A stand-in for the renderer's side of a session: a simple-peer initiator on
 * wrtc that offers a recvonly video transceiver and opens the same negotiated
 * input and control channels the real client opens.
 */
import SimplePeer from 'simple-peer';
import { DATA_CHANNELS } from '../../../src/shared/constants.js';
import { HostControl, type ClientControl } from '../../../src/shared/control.js';
import { parseJson } from '../../../src/shared/protocol.js';
import { peerConnectionOf, simplePeerWrtc, type DataChannel, type I420Frame, type VideoTrack, createVideoSink } from '../../../src/host/webrtc.js';

export interface InboundVideoStats {
  codec: string | undefined;
  frameWidth: number | undefined;
  frameHeight: number | undefined;
  framesPerSecond: number | undefined;
  framesDecoded: number;
  keyFramesDecoded: number | undefined;
  bytesReceived: number;
}

export interface ClientPeer {
  peer: SimplePeer.Instance;
  input: DataChannel;
  pointer: DataChannel;
  control: DataChannel;
  /** Every control message received from the host, parsed. */
  controlMessages: HostControl[];
  /** Sends a control message as JSON. */
  sendControl(msg: ClientControl): void;
  /** Resolves with the next control message of `type` (already received ones count). */
  nextControl<T extends HostControl['type']>(type: T, timeoutMs?: number): Promise<Extract<HostControl, { type: T }>>;
  /** Resolves once the input and control channels are open. */
  channelsOpen: Promise<void>;
  /** Resolves with the first decoded video frame received from the host. */
  firstFrame: Promise<I420Frame>;
  /** The receiver's inbound video stats, from RTCPeerConnection.getStats(). */
  videoStats(): Promise<InboundVideoStats>;
}

function opened(channel: DataChannel): Promise<void> {
  return new Promise((resolve) => {
    if (channel.readyState === 'open') resolve();
    else channel.onopen = () => resolve();
  });
}

export function createClientPeer(sendSignal: (data: SimplePeer.SignalData) => void): ClientPeer {
  const peer = new SimplePeer({ initiator: true, trickle: true, wrtc: simplePeerWrtc });
  peer.addTransceiver('video', { direction: 'recvonly' });
  peer.on('signal', sendSignal);
  peer.on('error', () => {}); // tests assert on outcomes, not on the teardown noise
  const pc = peerConnectionOf(peer);
  const input = pc.createDataChannel(DATA_CHANNELS.input.label, { negotiated: true, id: DATA_CHANNELS.input.id, ordered: true });
  const pointer = pc.createDataChannel(DATA_CHANNELS.pointer.label, { negotiated: true, id: DATA_CHANNELS.pointer.id, ordered: false, maxRetransmits: 0 });
  const control = pc.createDataChannel(DATA_CHANNELS.control.label, { negotiated: true, id: DATA_CHANNELS.control.id, ordered: true });
  input.binaryType = 'arraybuffer';
  pointer.binaryType = 'arraybuffer';
  const controlMessages: HostControl[] = [];
  control.onmessage = (event) => {
    const parsed = parseJson(HostControl, String(event.data));
    // Throwing inside a native wrtc callback would kill the test process; record it for the test to fail on.
    if (parsed.ok) controlMessages.push(parsed.value);
    else controlMessages.push({ type: 'error', code: 'INVALID_FROM_HOST', message: parsed.reason.slice(0, 500) });
  };
  const firstFrame = new Promise<I420Frame>((resolve) => {
    peer.on('track', (track: VideoTrack) => {
      const sink = createVideoSink(track);
      sink.onframe = ({ frame }) => {
        sink.stop();
        resolve({ width: frame.width, height: frame.height, data: Uint8Array.from(frame.data) });
      };
    });
  });
  let consumed = 0;
  const nextControl = async <T extends HostControl['type']>(type: T, timeoutMs = 10_000): Promise<Extract<HostControl, { type: T }>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = controlMessages.findIndex((m, idx) => idx >= consumed && m.type === type);
      if (i >= 0) {
        consumed = i + 1;
        return controlMessages[i] as Extract<HostControl, { type: T }>;
      }
      if (Date.now() > deadline) throw new Error(`no ${type} control message; got ${JSON.stringify(controlMessages.map((m) => m.type))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const videoStats = async (): Promise<InboundVideoStats> => {
    const report = (await (pc as unknown as { getStats(): Promise<Map<string, Record<string, unknown>>> }).getStats());
    const all = [...report.values()];
    const inbound = all.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
    const codec = all.find((s) => s.type === 'codec' && s.id === inbound?.codecId);
    return {
      codec: typeof codec?.mimeType === 'string' ? codec.mimeType.replace(/^video\//, '') : undefined,
      frameWidth: inbound?.frameWidth as number | undefined,
      frameHeight: inbound?.frameHeight as number | undefined,
      framesPerSecond: inbound?.framesPerSecond as number | undefined,
      framesDecoded: (inbound?.framesDecoded as number | undefined) ?? 0,
      keyFramesDecoded: inbound?.keyFramesDecoded as number | undefined,
      bytesReceived: (inbound?.bytesReceived as number | undefined) ?? 0,
    };
  };
  return {
    peer,
    input,
    pointer,
    control,
    controlMessages,
    sendControl: (msg) => control.send(JSON.stringify(msg)),
    nextControl,
    channelsOpen: Promise.all([opened(input), opened(pointer), opened(control)]).then(() => {}),
    firstFrame,
    videoStats,
  };
}
