/**
 * A stand-in for the renderer's side of a session: a simple-peer initiator on
 * wrtc that offers a recvonly video transceiver and opens the same negotiated
 * input channels the real client opens.
 */
import SimplePeer from 'simple-peer';
import { DATA_CHANNELS } from '../../../src/shared/constants.js';
import { peerConnectionOf, simplePeerWrtc, type DataChannel, type I420Frame, type VideoTrack, createVideoSink } from '../../../src/host/webrtc.js';

export interface ClientPeer {
  peer: SimplePeer.Instance;
  input: DataChannel;
  pointer: DataChannel;
  /** Resolves once both input channels are open. */
  channelsOpen: Promise<void>;
  /** Resolves with the first decoded video frame received from the host. */
  firstFrame: Promise<I420Frame>;
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
  input.binaryType = 'arraybuffer';
  pointer.binaryType = 'arraybuffer';
  const firstFrame = new Promise<I420Frame>((resolve) => {
    peer.on('track', (track: VideoTrack) => {
      const sink = createVideoSink(track);
      sink.onframe = ({ frame }) => {
        sink.stop();
        resolve({ width: frame.width, height: frame.height, data: Uint8Array.from(frame.data) });
      };
    });
  });
  return { peer, input, pointer, channelsOpen: Promise.all([opened(input), opened(pointer)]).then(() => {}), firstFrame };
}
