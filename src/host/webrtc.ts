/**
 * The one place where `@roamhq/wrtc` meets our types. Its declarations
 * re-export the DOM's WebRTC globals, which the Node tsconfig does not load,
 * so they resolve to `any`; these narrow interfaces cover what we use.
 */
import wrtc from '@roamhq/wrtc';
import type SimplePeer from 'simple-peer';
import type { DataChannel, DataChannelInit } from './transport/channel.js';

/** An I420 frame: Y plane, then U and V at quarter size. */
export interface I420Frame {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface VideoTrack {
  readonly id: string;
  readonly kind: string;
  stop(): void;
}

export interface VideoSource {
  createTrack(): VideoTrack;
  onFrame(frame: I420Frame): void;
}

export interface VideoSink {
  onframe: ((event: { frame: I420Frame }) => void) | null;
  stop(): void;
}

export type { DataChannel, DataChannelInit } from './transport/channel.js';

/** The subset of RTCPeerConnection we reach through simple-peer's `_pc`. */
export interface PeerConnection {
  createDataChannel(label: string, init: DataChannelInit): DataChannel;
  readonly connectionState: string;
  /** The standard stats report: a map of stats objects by id. */
  getStats(): Promise<Map<string, Record<string, unknown>>>;
}

interface WrtcModule {
  MediaStream: new (tracks: VideoTrack[]) => unknown;
  nonstandard: {
    RTCVideoSource: new (init?: { isScreencast?: boolean }) => VideoSource;
    RTCVideoSink: new (track: VideoTrack) => VideoSink;
  };
}

const lib = wrtc as unknown as WrtcModule;

/** What simple-peer's `wrtc` option wants: the module itself. */
export const simplePeerWrtc = wrtc as NonNullable<SimplePeer.Options['wrtc']>;

export function createVideoSource(): VideoSource {
  return new lib.nonstandard.RTCVideoSource();
}

export function createVideoSink(track: VideoTrack): VideoSink {
  return new lib.nonstandard.RTCVideoSink(track);
}

/** A MediaStream holding one track, for simple-peer's `streams` option. */
export function mediaStreamOf(track: VideoTrack): NonNullable<SimplePeer.Options['stream']> {
  return new lib.MediaStream([track]) as NonNullable<SimplePeer.Options['stream']>;
}

/**
 * simple-peer keeps its RTCPeerConnection private; we need it to create the
 * negotiated input channels (see DATA_CHANNELS in src/shared/constants.ts).
 */
export function peerConnectionOf(peer: SimplePeer.Instance): PeerConnection {
  return (peer as unknown as { _pc: PeerConnection })._pc;
}
